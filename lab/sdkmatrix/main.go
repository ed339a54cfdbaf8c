// Command sdkmatrix runs every shipped scenario of the provider lab with
// every lane that runs here, the real SDKs included, and writes what was
// observed as a Markdown matrix ("make sdk-matrix" writes
// docs/sdk-matrix.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/imdsemu/imdsemu/lab"
	"github.com/imdsemu/imdsemu/lab/probes"
)

func main() {
	exe := flag.String("imdsemu", "bin/imdsemu", "the imdsemu binary")
	out := flag.String("out", "docs/sdk-matrix.md", "the Markdown file to write")
	repo := flag.String("repo", ".", "the source tree the probes start in")
	parallel := flag.Int("parallel", 4, "scenarios run at once (each with its own server)")
	only := flag.String("scenarios", "", "comma-separated scenarios (default: all shipped)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *exe, *out, *repo, *parallel, *only); err != nil {
		fmt.Fprintln(os.Stderr, "sdkmatrix:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, exe, out, repo string, parallel int, only string) error {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return err
	}
	lanes := []string{"profile", "java-v1-sync@1.11", "java-v1-sync@1.12-2024", "java-v1-async@1.11", "java-v1-async@1.12-2024",
		"java-v2-sync", "java-v2-async"}
	var missing []string
	for _, p := range probes.All() {
		if err := p.Available(ctx, repo); err != nil {
			if !errors.Is(err, probes.ErrMissing) {
				return err
			}
			missing = append(missing, err.Error())
			continue
		}
		lanes = append(lanes, p.Name)
	}
	lanes = append(lanes, "stolen")
	names := lab.Builtin()
	if only != "" {
		names = strings.Split(only, ",")
	}
	results := make([]*lab.Result, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sc, err := lab.LoadScenario(name)
			if err != nil {
				errs[i] = err
				return
			}
			fmt.Fprintf(os.Stderr, "sdkmatrix: running %s\n", name)
			results[i], errs[i] = lab.Run(ctx, lab.Options{Scenario: sc, Lanes: lanes, Exe: exe, Repo: repo})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(render(results, missing)), 0o644)
}

func render(results []*lab.Result, missing []string) string {
	var b strings.Builder
	b.WriteString("# SDK behaviour matrix (generated)\n\n")
	b.WriteString("Written by `make sdk-matrix` from what each lane did in the provider lab's shipped\n" +
		"scenarios (`imdsemu compare`, [compare.md](compare.md)): the real SDKs in their probe\n" +
		"processes, the Java models, the profile key and a thief's copies, against one imdsemu\n" +
		"per scenario. Do not edit by hand; run `make sdk-matrix`.\n\n")
	fmt.Fprintf(&b, "Generated %s.", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	if len(missing) > 0 {
		b.WriteString(" Lanes not run here: " + strings.Join(missing, "; ") + ".")
	}
	b.WriteString("\n\nColumns: calls; retrieve errors; failed STS checks (by outcome); calls served stale;\n" +
		"calls that waited for IMDS; distinct access keys seen; the lane's IMDS requests by kind\n" +
		"(its own proxy's trace); whether the scenario's expectations for the lane held.\n")
	for _, r := range results {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", r.Scenario.Name, strings.TrimSpace(r.Scenario.Description))
		b.WriteString("| lane | version | calls | retrieve errors | checks | stale | blocked | keys | IMDS requests | expectations |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
		failed := map[string][]string{}
		for _, f := range r.Failures {
			failed[f.Lane] = append(failed[f.Lane], f.What)
		}
		for _, s := range r.Summaries {
			kinds := make([]string, 0, len(s.IMDS))
			for k, n := range s.IMDS {
				kinds = append(kinds, fmt.Sprintf("%s ×%d", k, n))
			}
			sort.Strings(kinds)
			exp := "met"
			if f := failed[s.Lane]; len(f) > 0 {
				exp = "NOT MET: " + strings.Join(f, "; ")
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %d | %d | %d | %s | %s |\n", s.Lane, s.Version, s.Calls, s.RetrieveErrors,
				lab.ChecksText(s), s.StaleCalls, s.BlockedCalls, len(s.Keys), strings.Join(kinds, ", "), exp)
		}
		if len(r.Events) > 0 {
			b.WriteString("\nEvents: ")
			var ev []string
			for _, e := range r.Events {
				ev = append(ev, fmt.Sprintf("%s %s", e.Time.Sub(r.Start).Round(time.Second), e.Action))
			}
			b.WriteString(strings.Join(ev, "; ") + ".\n")
		}
	}
	return b.String()
}
