package lab

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSummarizeAndTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	lanes := []LaneInfo{{Name: "java-v1-sync@1.11", Kind: KindModel, Version: "1.11"}, {Name: "go-v2", Kind: KindSDK, Version: "1.x"}}
	rows := []Row{
		{Lane: "go-v2", Time: t0, Call: Call{AccessKeyID: "ASIAONE", Check: "ok", Source: "fetch", Blocked: true}},
		{Lane: "java-v1-sync@1.11", Time: t0, Call: Call{AccessKeyID: "ASIAONE", Check: "ok"}},
		{Lane: "java-v1-sync@1.11", Time: t0.Add(5 * time.Second), Call: Call{Err: "connection refused"}},
		{Lane: "java-v1-sync@1.11", Time: t0.Add(10 * time.Second), Call: Call{AccessKeyID: "ASIATWO", Check: "ExpiredToken", Source: "stale"}},
	}
	reqs := []IMDSRequest{{Lane: "go-v2", Method: "PUT", Version: "v2", Status: 200}, {Lane: "go-v2", Method: "GET", Version: "v1", Status: 0}}
	sums := Summarize(lanes, rows, reqs)
	j := sums[0]
	if j.Calls != 3 || j.RetrieveErrors != 1 || j.FailedChecks != 1 || j.StaleCalls != 1 || len(j.Keys) != 2 || j.LastCheck != "ExpiredToken" {
		t.Errorf("java summary %+v", j)
	}
	g := sums[1]
	if g.Calls != 1 || g.BlockedCalls != 1 || g.IMDSRequests != 2 || g.IMDS["PUT token"] != 1 || g.IMDS["GET v1 failed"] != 1 {
		t.Errorf("go summary %+v", g)
	}
	b, err := json.Marshal(g)
	if err != nil || !strings.Contains(string(b), `"type":"summary"`) || !strings.Contains(string(b), `"imds_requests":2`) {
		t.Errorf("summary JSON %s, %v", b, err)
	}
	b, err = json.Marshal(rows[3])
	if err != nil || !strings.Contains(string(b), `"type":"row"`) || !strings.Contains(string(b), `"check":"ExpiredToken"`) {
		t.Errorf("row JSON %s, %v", b, err)
	}
	sc := &Scenario{Name: "x", Duration: Duration(20 * time.Second), Interval: Duration(5 * time.Second)}
	svg := Timeline(&Result{Scenario: sc, Start: t0, Lanes: lanes, Rows: rows, Events: []Event{{Time: t0.Add(3 * time.Second), Action: "fault refuse"}}})
	for _, want := range []string{"<svg", "ASIAONE", "ASIATWO", `fill="#d62728"`, "fault refuse", "java-v1-sync@1.11"} {
		if !strings.Contains(svg, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
}
