package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/lab"
)

// compareFlags are the flags of "imdsemu compare".
type compareFlags struct {
	lanes, scenario, report string
	json                    bool
	callers                 int
	server                  lab.Endpoints
	repo                    string
}

// defaultLanes are the in-process lanes: no probe runtimes needed.
const defaultLanes = "profile,java-v1-sync,java-v1-async,java-v2-sync,java-v2-async,stolen"

func newCompareCmd(e Env) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare --scenario NAME [--lanes LIST]",
		Short: "The provider lab: run credential providers and real SDKs side by side through a scenario",
		Long: `Run a scenario (a timeline of server actions: rotation, outages, expiring or
expired documents, revocation, key deactivation, a rewritten credentials file)
with several credential providers at the same ticks, use every credential in an
STS GetCallerIdentity, and check the scenario's expectations (exit status 1 when
one is not met).

Lanes: profile; java-v1-sync, java-v1-async, java-v2-sync, java-v2-async (models
of the Java SDKs, "@VERSION" picks a modelled release: java-v1-*@1.11 or
@1.12-2024, java-v2-*@2.20); go-v2, go-v1, botocore, js-v3, js-v2, ruby (the real
SDKs in probe processes, see lab/probes/README.md); stolen (a copy of what the
instance served, and of the static key, used from elsewhere).

Scenarios shipped: ` + strings.Join(lab.Builtin(), ", ") + `; or a path to your
own YAML file. With no --endpoint, compare starts its own imdsemu serve in a
temporary data directory and stops it at the end. See docs/compare.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCompare(cmd, e, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.scenario, "scenario", "rotation", "scenario name or YAML file")
	fl.StringVar(&f.lanes, "lanes", defaultLanes, "comma-separated lanes")
	fl.IntVar(&f.callers, "callers", 1, "concurrent callers per lane at every tick")
	fl.BoolVar(&f.json, "json", false, `print JSON lines ("type":"row", "event", then "summary") instead of a table`)
	fl.StringVar(&f.report, "report", "", "write a Markdown report with an SVG timeline into this directory")
	fl.StringVar(&f.server.Metadata, "endpoint", "", "metadata endpoint of a running imdsemu (default: start one)")
	fl.StringVar(&f.server.STS, "sts-endpoint", "", "with --endpoint: its STS endpoint")
	fl.StringVar(&f.server.Admin, "admin-endpoint", "", "with --endpoint: its admin endpoint (token from --data-dir/admin.token)")
	fl.StringVar(&f.server.DataDir, "data-dir", "", "with --endpoint: its data directory")
	fl.StringVar(&f.repo, "repo", ".", "the imdsemu source tree the SDK probes start in")
	return cmd
}

func runCompare(cmd *cobra.Command, e Env, f compareFlags) error {
	sc, err := lab.LoadScenario(f.scenario)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o := lab.Options{Scenario: sc, Lanes: strings.Split(f.lanes, ","), Callers: f.callers, Exe: exe, Repo: f.repo,
		Region: firstNonEmpty(e.Getenv("AWS_REGION"), "us-east-1")}
	if f.server.Metadata != "" {
		if f.server.STS == "" || f.server.Admin == "" || f.server.DataDir == "" {
			return errors.New("--endpoint needs --sts-endpoint, --admin-endpoint and --data-dir")
		}
		tok, err := os.ReadFile(filepath.Join(f.server.DataDir, config.AdminTokenFile))
		if err != nil {
			return err
		}
		f.server.Token = strings.TrimSpace(string(tok))
		o.Server = &f.server
	}
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	var table *lab.Table
	if f.json {
		o.OnRow = func(r lab.Row) { _ = enc.Encode(r) }
		o.OnEvent = func(ev lab.Event) { _ = enc.Encode(ev) }
	} else {
		fmt.Fprintf(out, "imdsemu compare: scenario %s (%v, a tick every %v, %d caller(s) per lane)\n", sc.Name, sc.Duration, sc.Interval, f.callers)
		o.OnLanes = func(start time.Time, l []lab.LaneInfo) { table = lab.NewTable(out, start); table.Lanes(l) }
		o.OnRow = func(r lab.Row) { table.Row(r) }
		o.OnEvent = func(ev lab.Event) { table.Event(ev) }
	}
	var pub *lab.Publisher
	if o.Server != nil {
		// Show the run on the server's dashboard (docs/dashboard.md).
		pub = lab.NewPublisher(o.Server.Admin, o.Server.Token)
		o = publishRun(o, sc.Name, pub)
	}
	res, err := lab.Run(cmd.Context(), o)
	if pub != nil {
		if res != nil {
			pub.Done(len(res.Failures))
		}
		if n, perr := pub.Close(); n > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "imdsemu compare: %d lab item(s) not shown on the dashboard: %v\n", n, perr)
		}
	}
	if res == nil {
		return err
	}
	if f.json {
		_ = lab.WriteJSONSummary(out, res)
	} else if table != nil {
		table.Summary(res)
	}
	if f.report != "" {
		if werr := lab.WriteReport(f.report, res); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if n := len(res.Failures); n > 0 {
		return fmt.Errorf("scenario %s: %d expectation(s) not met; first: %s", sc.Name, n, res.Failures[0].Error())
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// publishRun makes o's callbacks also send the run to pub.
func publishRun(o lab.Options, scenario string, pub *lab.Publisher) lab.Options {
	onLanes, onRow, onEvent := o.OnLanes, o.OnRow, o.OnEvent
	o.OnLanes = func(start time.Time, l []lab.LaneInfo) {
		pub.Lanes(scenario, start, l)
		if onLanes != nil {
			onLanes(start, l)
		}
	}
	o.OnRow = func(r lab.Row) {
		pub.Row(r)
		if onRow != nil {
			onRow(r)
		}
	}
	o.OnEvent = func(ev lab.Event) {
		pub.Event(ev)
		if onEvent != nil {
			onEvent(ev)
		}
	}
	return o
}
