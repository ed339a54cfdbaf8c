package lab

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Row is one call of one lane's caller. It holds no secret.
type Row struct {
	Lane    string
	Caller  int
	Time    time.Time // when the call started
	Latency time.Duration
	Call
	IMDS int // requests the lane's proxy saw during the call
}

// MarshalJSON renders the row as a "type":"row" JSON object.
func (r Row) MarshalJSON() ([]byte, error) {
	exp := ""
	if !r.Expires.IsZero() {
		exp = r.Expires.UTC().Format(time.RFC3339)
	}
	return json.Marshal(struct {
		Type        string  `json:"type"`
		Lane        string  `json:"lane"`
		Caller      int     `json:"caller"`
		Time        string  `json:"time"`
		AccessKeyID string  `json:"access_key_id"`
		Expires     string  `json:"expires"`
		LatencyMS   float64 `json:"latency_ms"`
		Blocked     bool    `json:"blocked"`
		Source      string  `json:"source"`
		Check       string  `json:"check"`
		CheckError  string  `json:"check_error,omitempty"`
		Error       string  `json:"error"`
		IMDS        int     `json:"imds_requests"`
	}{"row", r.Lane, r.Caller, r.Time.UTC().Format(time.RFC3339Nano), r.AccessKeyID, exp,
		float64(r.Latency.Microseconds()) / 1000, r.Blocked, r.Source, r.Check, r.CheckError, r.Err, r.IMDS})
}

// Event is a scenario step as it ran.
type Event struct {
	Time   time.Time
	Action string
	Err    string
}

// MarshalJSON renders the event as a "type":"event" JSON object.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type   string `json:"type"`
		Time   string `json:"time"`
		Action string `json:"action"`
		Error  string `json:"error,omitempty"`
	}{"event", e.Time.UTC().Format(time.RFC3339Nano), e.Action, e.Err})
}

// LaneInfo describes a lane of a run.
type LaneInfo struct {
	Name, Kind, Version string
}

// Summary is one lane's totals.
type Summary struct {
	Lane           string
	Kind, Version  string
	Model          bool
	Calls          int
	RetrieveErrors int
	FailedChecks   int
	BlockedCalls   int
	StaleCalls     int
	IMDSRequests   int
	IMDS           map[string]int // by IMDSRequest.Kind
	Keys           []string       // distinct access key ids, first seen first
	Checks         map[string]int // by outcome
	LastCheck      string
	MaxLatency     time.Duration
}

// MarshalJSON renders the summary as a "type":"summary" JSON object.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type           string         `json:"type"`
		Lane           string         `json:"lane"`
		Kind           string         `json:"kind"`
		Version        string         `json:"version,omitempty"`
		Calls          int            `json:"calls"`
		RetrieveErrors int            `json:"retrieve_errors"`
		FailedChecks   int            `json:"failed_checks"`
		BlockedCalls   int            `json:"blocked_calls"`
		StaleCalls     int            `json:"stale_calls"`
		IMDSRequests   int            `json:"imds_requests"`
		IMDS           map[string]int `json:"imds"`
		Keys           []string       `json:"keys"`
		Checks         map[string]int `json:"checks"`
		LastCheck      string         `json:"last_check"`
		MaxLatencyMS   float64        `json:"max_latency_ms"`
	}{"summary", s.Lane, s.Kind, s.Version, s.Calls, s.RetrieveErrors, s.FailedChecks, s.BlockedCalls, s.StaleCalls,
		s.IMDSRequests, s.IMDS, s.Keys, s.Checks, s.LastCheck, float64(s.MaxLatency.Microseconds()) / 1000})
}

// ChecksText is the check outcomes as "AccessDenied×3, ok×20".
func ChecksText(s Summary) string {
	keys := make([]string, 0, len(s.Checks))
	for k := range s.Checks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "×" + strconv.Itoa(s.Checks[k])
	}
	return strings.Join(keys, ", ")
}

// Summarize totals rows and proxy requests per lane, in lane order.
func Summarize(lanes []LaneInfo, rows []Row, reqs []IMDSRequest) []Summary {
	out := make([]Summary, len(lanes))
	idx := map[string]int{}
	for i, l := range lanes {
		out[i] = Summary{Lane: l.Name, Kind: l.Kind, Version: l.Version, Model: l.Kind == KindModel,
			Keys: []string{}, Checks: map[string]int{}, IMDS: map[string]int{}}
		idx[l.Name] = i
	}
	sorted := append([]Row(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	for _, r := range sorted {
		i, ok := idx[r.Lane]
		if !ok {
			continue
		}
		s := &out[i]
		s.Calls++
		s.MaxLatency = max(s.MaxLatency, r.Latency)
		if r.Blocked {
			s.BlockedCalls++
		}
		if r.Source == "stale" {
			s.StaleCalls++
		}
		if r.Err != "" {
			s.RetrieveErrors++
			continue
		}
		if r.AccessKeyID != "" && !contains(s.Keys, r.AccessKeyID) {
			s.Keys = append(s.Keys, r.AccessKeyID)
		}
		if r.Check != "" {
			s.Checks[r.Check]++
			s.LastCheck = r.Check
			if r.Check != "ok" {
				s.FailedChecks++
			}
		}
	}
	for _, q := range reqs {
		if i, ok := idx[q.Lane]; ok {
			out[i].IMDSRequests++
			out[i].IMDS[q.Kind()]++
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
