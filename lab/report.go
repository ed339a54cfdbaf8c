package lab

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Table writes a run as aligned text lines as it goes.
type Table struct {
	w     io.Writer
	start time.Time
	width int
}

// NewTable returns a table for a run starting at start.
func NewTable(w io.Writer, start time.Time) *Table { return &Table{w: w, start: start, width: 14} }

// Lanes prints the lanes and the header.
func (t *Table) Lanes(lanes []LaneInfo) {
	for _, l := range lanes {
		t.width = max(t.width, len(l.Name))
		fmt.Fprintf(t.w, "  lane %-*s %s %s\n", t.width, l.Name, l.Kind, l.Version)
	}
	fmt.Fprintf(t.w, "\n%-7s  %-*s  %-2s  %-20s  %-8s  %-6s  %9s  %s\n", "T+", t.width, "LANE", "#", "ACCESS KEY ID", "EXPIRES", "SOURCE", "LATENCY", "CHECK")
}

// Row prints one call.
func (t *Table) Row(r Row) {
	key, exp := r.AccessKeyID, "-"
	if key == "" {
		key = "-"
	}
	if !r.Expires.IsZero() {
		exp = fmtOffset(r.Expires.Sub(r.Time))
	} else if r.AccessKeyID != "" {
		exp = "never"
	}
	check := r.Check
	if r.CheckError != "" {
		check += " (" + oneLine(r.CheckError) + ")"
	}
	if r.Err != "" {
		check = "ERROR " + oneLine(r.Err)
	}
	src := r.Source
	if r.Blocked {
		src += "*"
	}
	fmt.Fprintf(t.w, "%-7s  %-*s  %-2d  %-20s  %-8s  %-6s  %7.1fms  %s\n", fmtOffset(r.Time.Sub(t.start)), t.width, r.Lane, r.Caller,
		key, exp, src, float64(r.Latency.Microseconds())/1000, check)
}

// Event prints a scenario step.
func (t *Table) Event(e Event) {
	s := fmt.Sprintf("%-7s  ---- %s", fmtOffset(e.Time.Sub(t.start)), e.Action)
	if e.Err != "" {
		s += " FAILED: " + oneLine(e.Err)
	}
	fmt.Fprintln(t.w, s)
}

// Summary prints the totals and the expectations not met.
func (t *Table) Summary(res *Result) {
	fmt.Fprintf(t.w, "\nSUMMARY of %s over %v (* = the call waited for IMDS)\n", res.Scenario.Name, res.End.Sub(res.Start).Round(time.Second))
	fmt.Fprintf(t.w, "%-*s  %5s  %9s  %6s  %7s  %5s  %4s  %4s  %s\n", t.width, "LANE", "CALLS", "RETR.ERR", "FAILED", "BLOCKED", "STALE", "IMDS", "KEYS", "CHECKS")
	for _, s := range res.Summaries {
		fmt.Fprintf(t.w, "%-*s  %5d  %9d  %6d  %7d  %5d  %4d  %4d  %s\n", t.width, s.Lane, s.Calls, s.RetrieveErrors, s.FailedChecks,
			s.BlockedCalls, s.StaleCalls, s.IMDSRequests, len(s.Keys), ChecksText(s))
	}
	if len(res.Failures) == 0 {
		fmt.Fprintf(t.w, "\nexpectations: all met\n")
		return
	}
	fmt.Fprintf(t.w, "\nexpectations NOT met:\n")
	for _, f := range res.Failures {
		fmt.Fprintf(t.w, "  %s\n", f.Error())
	}
}

// WriteJSONSummary writes the "type":"summary" lines and one
// "type":"expectation" line per failure.
func WriteJSONSummary(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	for _, s := range res.Summaries {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	for _, f := range res.Failures {
		if err := enc.Encode(map[string]string{"type": "expectation_failed", "lane": f.Lane, "expect": f.Selector, "what": f.What, "why": f.Why}); err != nil {
			return err
		}
	}
	return nil
}

func fmtOffset(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Round(time.Second)
	s := fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	if d >= time.Hour {
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if neg {
		return "-" + s
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// WriteReport writes dir/report.md and dir/timeline.svg.
func WriteReport(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "timeline.svg"), []byte(Timeline(res)), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	sc := res.Scenario
	fmt.Fprintf(&b, "# Provider lab: %s\n\n%s\n\n", sc.Name, strings.TrimSpace(sc.Description))
	fmt.Fprintf(&b, "Run %s, %v, a tick every %v.\n\n", res.Start.UTC().Format("2006-01-02 15:04 UTC"), res.End.Sub(res.Start).Round(time.Second), sc.Interval)
	b.WriteString("![timeline](timeline.svg)\n\nBars are credential generations as each lane held them (one colour per access key); red marks are failed calls (retrieve error or failed STS check); dashed lines are the scenario's events.\n\n")
	b.WriteString("## Lanes\n\n| lane | kind | version | calls | retrieve errors | failed checks | blocked | stale | IMDS requests | keys | checks |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range res.Summaries {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", s.Lane, s.Kind, s.Version, s.Calls, s.RetrieveErrors,
			s.FailedChecks, s.BlockedCalls, s.StaleCalls, s.IMDSRequests, len(s.Keys), ChecksText(s))
	}
	b.WriteString("\n## IMDS traffic per lane\n\n| lane | requests |\n|---|---|\n")
	for _, s := range res.Summaries {
		kinds := make([]string, 0, len(s.IMDS))
		for k, n := range s.IMDS {
			kinds = append(kinds, fmt.Sprintf("%s ×%d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(&b, "| %s | %s |\n", s.Lane, strings.Join(kinds, ", "))
	}
	b.WriteString("\n## Events\n\n| T+ | action | result |\n|---|---|---|\n")
	for _, e := range res.Events {
		r := "ok"
		if e.Err != "" {
			r = "failed: " + oneLine(e.Err)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", fmtOffset(e.Time.Sub(res.Start)), e.Action, r)
	}
	b.WriteString("\n## Expectations\n\n")
	if len(res.Failures) == 0 {
		b.WriteString("All met.\n")
	}
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "- NOT MET: %s\n", f.Error())
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644)
}

// Timeline renders the run as an SVG: lanes on one time axis, credential
// generations as bars, failures in red, events as markers.
func Timeline(res *Result) string {
	const left, top, rowH, width = 170, 40, 26, 980
	total := res.Scenario.Duration.D() + res.Scenario.Interval.D()
	x := func(t time.Time) float64 {
		return left + float64(t.Sub(res.Start))/float64(total)*float64(width-left-10)
	}
	h := top + rowH*len(res.Lanes) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, h)
	for s := time.Duration(0); s <= total; s += 30 * time.Second {
		xx := x(res.Start.Add(s))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" fill="#666">%s</text>`+"\n",
			xx, top-8, xx, h-25, xx-8, h-10, fmtOffset(s))
	}
	palette := []string{"#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948", "#9c755f", "#bab0ac"}
	for i, l := range res.Lanes {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`+"\n", y+15, html.EscapeString(l.Name))
		// generations: first and last call of each key
		type span struct{ from, to time.Time }
		spans := map[string]*span{}
		var order []string
		for _, r := range res.Rows {
			if r.Lane != l.Name || r.AccessKeyID == "" {
				continue
			}
			s := spans[r.AccessKeyID]
			if s == nil {
				s = &span{r.Time, r.Time}
				spans[r.AccessKeyID] = s
				order = append(order, r.AccessKeyID)
			}
			s.to = r.Time.Add(res.Scenario.Interval.D())
		}
		for k, id := range order {
			s := spans[id]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="14" fill="%s" opacity="0.75"><title>%s</title></rect>`+"\n",
				x(s.from), y+4, max(x(s.to)-x(s.from), 2), palette[k%len(palette)], html.EscapeString(id))
		}
		for _, r := range res.Rows {
			if r.Lane == l.Name && (r.Err != "" || (r.Check != "" && r.Check != "ok")) {
				what := r.Check
				if r.Err != "" {
					what = oneLine(r.Err)
				}
				fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="3" height="20" fill="#d62728"><title>%s %s</title></rect>`+"\n",
					x(r.Time), y+1, fmtOffset(r.Time.Sub(res.Start)), html.EscapeString(what))
			}
		}
	}
	for i, e := range res.Events {
		xx := x(e.Time)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4,3"/><text x="%.1f" y="%d" fill="#333">%s</text>`+"\n",
			xx, top-4, xx, h-25, xx+2, 12+(i%2)*14, html.EscapeString(e.Action))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
