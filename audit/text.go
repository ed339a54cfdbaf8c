package audit

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: a summary line, then each
// finding with its severity, subject, what was found and the fix.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	} else {
		fmt.Fprintf(&b, "%d findings: %d critical, %d high, %d medium, %d low\n", len(r.Findings),
			r.Counts[Critical], r.Counts[High], r.Counts[Medium], r.Counts[Low])
	}
	for _, f := range r.Findings {
		subject := f.Subject
		if f.Account != "" && !strings.Contains(subject, f.Account) {
			subject += " (account " + f.Account + ")"
		}
		fmt.Fprintf(&b, "\n%-8s %s  %s\n  %s\n  Fix: %s\n", strings.ToUpper(string(f.Severity)), f.Rule, subject, f.Detail, f.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
