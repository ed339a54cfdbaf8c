package admin

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// The control API's answers as text for a person, as the imdsemu CLI prints
// them. Times are shown in the local zone.

// FaultLimits describes how often and how long a rule applies, e.g.
// "probability 0.5, times 3, until 15:04:05"; "" when it always applies.
func FaultLimits(st fault.Status) string {
	var parts []string
	if p := st.Probability; p != nil {
		parts = append(parts, "probability "+strconv.FormatFloat(*p, 'g', -1, 64))
	}
	if st.First > 0 {
		parts = append(parts, fmt.Sprintf("first %d", st.First))
	}
	if st.Every > 1 {
		parts = append(parts, fmt.Sprintf("every %d", st.Every))
	}
	if st.Times > 0 {
		parts = append(parts, fmt.Sprintf("times %d", st.Times))
	}
	if st.Ends != nil {
		parts = append(parts, "until "+st.Ends.Local().Format(time.TimeOnly))
	}
	if st.Scenario != "" {
		parts = append(parts, "scenario "+st.Scenario)
	}
	return strings.Join(parts, ", ")
}

// WriteFaults writes the rules as a table.
func WriteFaults(w io.Writer, faults []fault.Status) error {
	if len(faults) == 0 {
		_, err := fmt.Fprintln(w, "no active fault rules")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRULE\tLIMITS\tMATCHED\tFIRED")
	for _, st := range faults {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", st.ID, st.Rule, FaultLimits(st), st.Matched, st.Fired)
	}
	return tw.Flush()
}

// WriteScenarios writes the scenarios as a table.
func WriteScenarios(w io.Writer, scenarios []fault.ScenarioStatus) error {
	if len(scenarios) == 0 {
		_, err := fmt.Fprintln(w, "no scenarios defined")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTEPS\tRUNNING\tSTEPS DONE")
	for _, s := range scenarios {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%d\n", s.Name, len(s.Steps), s.Running, s.StepsDone)
	}
	return tw.Flush()
}

// WriteOptions writes the options one per line.
func WriteOptions(w io.Writer, o MetadataOptions) error {
	throttle := "off"
	if o.Throttle.RPS > 0 {
		throttle = fmt.Sprintf("%s/s, burst %d", strconv.FormatFloat(o.Throttle.RPS, 'g', -1, 64), o.Throttle.Burst)
	}
	_, err := fmt.Fprintf(w, "http-tokens:            %s\nhttp-endpoint:          %s\nhop-limit:              %d\nextended-credentials:   %v\ninstance-metadata-tags: %v\nthrottle:               %s\n",
		o.HTTPTokens, o.HTTPEndpoint, o.HopLimit, o.ExtendedCredentials, o.InstanceMetadataTags, throttle)
	return err
}

// WriteGenerations writes the generations as a table, each with the
// clients that fetched it.
func WriteGenerations(w io.Writer, gens []GenerationInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSEQ\tACCESS KEY ID\tSTATUS\tISSUED\tEXPIRES\tSERVED\tCLIENTS")
	for _, g := range gens {
		exp := "-"
		if g.Expires != nil {
			exp = g.Expires.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n", path.Base(g.Profile), g.Seq, g.AccessKeyID, g.Status,
			g.Issued.Local().Format(time.DateTime), exp, g.Served, clientList(g))
	}
	return tw.Flush()
}

// clientList renders "10.0.0.1 (v1 2, v2 5), …".
func clientList(g GenerationInfo) string {
	if len(g.Clients) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(g.Clients))
	for _, cl := range g.Clients {
		vs := make([]string, 0, len(cl.Versions))
		for v, n := range cl.Versions {
			vs = append(vs, fmt.Sprintf("%s %d", v, n))
		}
		sort.Strings(vs)
		parts = append(parts, cl.Address+" ("+strings.Join(vs, ", ")+")")
	}
	s := strings.Join(parts, ", ")
	if g.ClientsOmitted > 0 {
		s += fmt.Sprintf(" and %d more", g.ClientsOmitted)
	}
	return s
}
