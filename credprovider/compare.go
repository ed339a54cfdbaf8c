package credprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultCompareInterval is CompareOptions.Interval's default.
const DefaultCompareInterval = 10 * time.Second

// NamedProvider is a provider and the name its rows carry.
type NamedProvider struct {
	Name     string
	Provider aws.CredentialsProvider
}

// CompareOptions configures [Compare].
type CompareOptions struct {
	// Providers to compare, in row order. Names must be distinct and not
	// empty.
	Providers []NamedProvider

	// Duration of the run: ticks happen at 0, Interval, 2×Interval, … up to
	// and including Duration. Zero runs one tick.
	Duration time.Duration

	// Interval between ticks. Default DefaultCompareInterval.
	Interval time.Duration

	// Check, when set, is called with each retrieved credential and returns
	// the identity it belongs to (the imdsemu CLI calls STS
	// GetCallerIdentity and returns the ARN). An error with an ErrorCode()
	// method, as the SDK's API errors have, is recorded by its code.
	Check func(ctx context.Context, creds aws.Credentials) (identity string, err error)

	// OnRow, when set, is called with each row as soon as it is made.
	OnRow func(Row)

	// Now is the clock for the rows' times. Default time.Now.
	Now func() time.Time
}

// Row is what one provider gave at one tick. It holds no secret.
type Row struct {
	Tick        int
	At          time.Time
	Provider    string
	AccessKeyID string    // empty when Retrieve failed
	CanExpire   bool      // false: static keys, Expires is meaningless
	Expires     time.Time // when CanExpire
	Changed     bool      // the key differs from this provider's previous one
	OK          bool      // Retrieve, and Check if set, succeeded
	Identity    string    // Check's answer when OK
	Stage       string    // "retrieve" or "check" when not OK
	Code        string    // the AWS error code of a failed call, if it had one
	Error       string    // the failure's message when not OK
}

// MarshalJSON renders the row as an object with "type":"row" and
// "expires":"never" for credentials that cannot expire.
func (r Row) MarshalJSON() ([]byte, error) {
	expires := "never"
	if r.CanExpire {
		expires = r.Expires.UTC().Format(time.RFC3339)
	}
	if r.AccessKeyID == "" {
		expires = ""
	}
	return json.Marshal(struct {
		Type        string    `json:"type"`
		Tick        int       `json:"tick"`
		At          time.Time `json:"at"`
		Provider    string    `json:"provider"`
		AccessKeyID string    `json:"access_key_id,omitempty"`
		Expires     string    `json:"expires,omitempty"`
		Changed     bool      `json:"changed,omitempty"`
		OK          bool      `json:"ok"`
		Identity    string    `json:"identity,omitempty"`
		Stage       string    `json:"stage,omitempty"`
		Code        string    `json:"code,omitempty"`
		Error       string    `json:"error,omitempty"`
	}{"row", r.Tick, r.At, r.Provider, r.AccessKeyID, expires, r.Changed, r.OK, r.Identity, r.Stage, r.Code, r.Error})
}

// Report is the outcome of [Compare].
type Report struct {
	Start, End time.Time
	Interval   time.Duration
	Providers  []string // names, in row order
	Rows       []Row
}

// Summary is one provider's totals over a [Report].
type Summary struct {
	Provider     string
	Rows, OK     int
	Keys         []string       // distinct access key ids, first seen first
	Failures     map[string]int // by AWS error code, or by stage when there is none
	FirstFailure time.Time      // zero when none failed
	LastOK       time.Time      // zero when none succeeded
}

// MarshalJSON renders the summary as an object with "type":"summary".
func (s Summary) MarshalJSON() ([]byte, error) {
	type times struct {
		First *time.Time `json:"first_failure,omitempty"`
		Last  *time.Time `json:"last_ok,omitempty"`
	}
	var t times
	if !s.FirstFailure.IsZero() {
		t.First = &s.FirstFailure
	}
	if !s.LastOK.IsZero() {
		t.Last = &s.LastOK
	}
	return json.Marshal(struct {
		Type     string         `json:"type"`
		Provider string         `json:"provider"`
		Rows     int            `json:"rows"`
		OK       int            `json:"succeeded"`
		Keys     []string       `json:"keys"`
		Failures map[string]int `json:"failures,omitempty"`
		times
	}{"summary", s.Provider, s.Rows, s.OK, s.Keys, s.Failures, t})
}

// Summaries totals the rows per provider, in provider order.
func (r Report) Summaries() []Summary {
	out := make([]Summary, len(r.Providers))
	index := map[string]int{}
	for i, name := range r.Providers {
		out[i] = Summary{Provider: name, Keys: []string{}}
		index[name] = i
	}
	for _, row := range r.Rows {
		i, ok := index[row.Provider]
		if !ok {
			continue
		}
		s := &out[i]
		s.Rows++
		if row.AccessKeyID != "" && !contains(s.Keys, row.AccessKeyID) {
			s.Keys = append(s.Keys, row.AccessKeyID)
		}
		if row.OK {
			s.OK++
			s.LastOK = row.At
			continue
		}
		if s.Failures == nil {
			s.Failures = map[string]int{}
		}
		s.Failures[failureKey(row)]++
		if s.FirstFailure.IsZero() {
			s.FirstFailure = row.At
		}
	}
	return out
}

// MarshalJSON renders the report with its summaries.
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Start     time.Time `json:"start"`
		End       time.Time `json:"end"`
		Interval  string    `json:"interval"`
		Providers []string  `json:"providers"`
		Rows      []Row     `json:"rows"`
		Summary   []Summary `json:"summary"`
	}{r.Start, r.End, r.Interval.String(), r.Providers, r.Rows, r.Summaries()})
}

// WriteText writes the report as the table Compare's OnRow would have
// printed with a [Table], followed by the summary.
func (r Report) WriteText(w io.Writer) error {
	t := NewTable(w, r.Providers)
	for _, row := range r.Rows {
		if err := t.WriteRow(row); err != nil {
			return err
		}
	}
	return t.WriteSummary(r)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func failureKey(r Row) string {
	if r.Code != "" {
		return r.Code
	}
	return r.Stage + " error"
}

// Compare retrieves from every provider each Interval for Duration, calls
// Check with each credential, and reports one row per provider per tick.
// Providers are asked one after the other, each call bounded by Interval.
// When ctx ends early, Compare returns the rows so far and ctx's error.
func Compare(ctx context.Context, o CompareOptions) (Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval == 0 {
		o.Interval = DefaultCompareInterval
	}
	if err := o.validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Start: o.Now(), Interval: o.Interval}
	for _, p := range o.Providers {
		rep.Providers = append(rep.Providers, p.Name)
	}
	last := make([]string, len(o.Providers)) // each provider's previous key
	tick := func(n int) {
		for i, p := range o.Providers {
			row := o.probe(ctx, n, p)
			if row.AccessKeyID != "" {
				row.Changed = last[i] != "" && last[i] != row.AccessKeyID
				last[i] = row.AccessKeyID
			}
			rep.Rows = append(rep.Rows, row)
			if o.OnRow != nil {
				o.OnRow(row)
			}
		}
	}
	tick(0)
	ticker := time.NewTicker(o.Interval)
	defer ticker.Stop()
	for n := 1; time.Duration(n)*o.Interval <= o.Duration; n++ {
		select {
		case <-ctx.Done():
			rep.End = o.Now()
			return rep, ctx.Err()
		case <-ticker.C:
		}
		tick(n)
	}
	rep.End = o.Now()
	return rep, nil
}

func (o CompareOptions) validate() error {
	switch {
	case len(o.Providers) == 0:
		return errors.New("credprovider: Compare: no providers")
	case o.Interval < 0:
		return fmt.Errorf("credprovider: Compare: Interval %v: must be positive", o.Interval)
	case o.Duration < 0:
		return fmt.Errorf("credprovider: Compare: Duration %v: must not be negative", o.Duration)
	}
	seen := map[string]bool{}
	for i, p := range o.Providers {
		switch {
		case p.Name == "":
			return fmt.Errorf("credprovider: Compare: provider %d has no name", i)
		case seen[p.Name]:
			return fmt.Errorf("credprovider: Compare: two providers named %q", p.Name)
		case p.Provider == nil:
			return fmt.Errorf("credprovider: Compare: provider %q is nil", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// probe is one provider's row of tick n.
func (o CompareOptions) probe(ctx context.Context, n int, p NamedProvider) Row {
	row := Row{Tick: n, At: o.Now(), Provider: p.Name}
	cctx, cancel := context.WithTimeout(ctx, o.Interval)
	defer cancel()
	creds, err := p.Provider.Retrieve(cctx)
	if err != nil {
		row.Stage, row.Code, row.Error = "retrieve", errorCode(err), err.Error()
		return row
	}
	row.AccessKeyID, row.CanExpire, row.Expires = creds.AccessKeyID, creds.CanExpire, creds.Expires
	if o.Check == nil {
		row.OK = true
		return row
	}
	id, err := o.Check(cctx, creds)
	if err != nil {
		row.Stage, row.Code, row.Error = "check", errorCode(err), err.Error()
		return row
	}
	row.OK, row.Identity = true, id
	return row
}

// errorCode is the AWS error code of err (smithy.APIError's ErrorCode), or "".
func errorCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return ""
}

// Table writes rows as aligned text, one line per row, as they come.
type Table struct {
	w      io.Writer
	width  int // of the provider column
	header bool
}

// NewTable returns a Table for rows of the named providers.
func NewTable(w io.Writer, providers []string) *Table {
	t := &Table{w: w, width: len("PROVIDER")}
	for _, p := range providers {
		t.width = max(t.width, len(p))
	}
	return t
}

// WriteRow writes one row, after the header line the first time. A '*'
// after the key marks a changed key.
func (t *Table) WriteRow(r Row) error {
	if !t.header {
		t.header = true
		if _, err := fmt.Fprintf(t.w, "%-8s  %-*s  %-21s  %-22s  %s\n", "TIME", t.width, "PROVIDER", "ACCESS KEY ID", "EXPIRES", "CHECK"); err != nil {
			return err
		}
	}
	key, expires := r.AccessKeyID, ""
	if key == "" {
		key = "-"
	} else {
		if r.Changed {
			key += "*"
		}
		expires = expiresText(r)
	}
	_, err := fmt.Fprintf(t.w, "%-8s  %-*s  %-21s  %-22s  %s\n", r.At.Format("15:04:05"), t.width, r.Provider, key, expires, resultText(r))
	return err
}

// WriteSummary writes the summary of rep.
func (t *Table) WriteSummary(rep Report) error {
	ticks := 0
	if len(rep.Rows) > 0 {
		ticks = rep.Rows[len(rep.Rows)-1].Tick + 1
	}
	if _, err := fmt.Fprintf(t.w, "\nSUMMARY: %d ticks every %v over %v\n", ticks, rep.Interval, rep.End.Sub(rep.Start).Round(time.Second)); err != nil {
		return err
	}
	for _, s := range rep.Summaries() {
		keys := "1 key"
		if len(s.Keys) != 1 {
			keys = fmt.Sprintf("%d keys", len(s.Keys))
		}
		line := fmt.Sprintf("%-*s  %-7s  %d/%d ok", t.width, s.Provider, keys, s.OK, s.Rows)
		if len(s.Failures) > 0 {
			codes := make([]string, 0, len(s.Failures))
			for c := range s.Failures {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for i, c := range codes {
				codes[i] = fmt.Sprintf("%s ×%d", c, s.Failures[c])
			}
			line += fmt.Sprintf("; failed: %s (first at %s)", strings.Join(codes, ", "), s.FirstFailure.Format("15:04:05"))
		}
		if _, err := fmt.Fprintln(t.w, line); err != nil {
			return err
		}
	}
	return nil
}

// expiresText is "never", or the expiry as a time of day with how far off
// it is ("15:04:05 (in 58s)"), with the date when more than a day away.
func expiresText(r Row) string {
	if !r.CanExpire {
		return "never"
	}
	exp := r.Expires.In(r.At.Location())
	left := exp.Sub(r.At).Round(time.Second)
	switch {
	case left > 24*time.Hour:
		return exp.Format("2006-01-02 15:04:05")
	case left <= 0:
		return exp.Format("15:04:05") + " (expired)"
	}
	return fmt.Sprintf("%s (in %v)", exp.Format("15:04:05"), left)
}

func resultText(r Row) string {
	switch {
	case r.OK && r.Identity != "":
		return r.Identity
	case r.OK:
		return "ok"
	case r.Code != "":
		return "FAIL " + r.Code
	}
	return "FAIL " + r.Stage + ": " + r.Error
}
