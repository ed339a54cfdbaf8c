package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imdsemu/imdsemu/credprovider"
)

// Options configures [Run].
type Options struct {
	Scenario *Scenario
	// Lanes to run: profile, java-v1-sync, java-v1-async, java-v2-sync,
	// java-v2-async (each with an optional @VERSION), go-v2, go-v1,
	// botocore, js-v3, js-v2, ruby, stolen.
	Lanes []string
	// Callers: concurrent callers per lane at every tick. Default 1.
	Callers int
	// Server under test; nil: Run starts its own with Exe.
	Server *Endpoints
	// Exe is the imdsemu binary (for serve and the store commands).
	Exe string
	// Repo is the directory the probes start in. Default ".".
	Repo string
	// Region for the SDKs and the STS checks. Default us-east-1.
	Region string
	// OnRow, OnEvent and OnLanes see the run as it goes.
	OnLanes func(start time.Time, lanes []LaneInfo)
	OnRow   func(Row)
	OnEvent func(Event)
}

// Result is a run's record.
type Result struct {
	Scenario   *Scenario
	Start, End time.Time
	Lanes      []LaneInfo
	Rows       []Row
	Events     []Event
	IMDS       []IMDSRequest
	Summaries  []Summary
	Failures   []Failure // expectations not met
}

// labProfile is the profile name of the static key in the lab's
// credentials file.
const labProfile = "lab"

// Run runs the scenario's timeline with every lane and checks the
// expectations. It returns an error when the run could not be made; unmet
// expectations are in Result.Failures.
func Run(ctx context.Context, o Options) (*Result, error) {
	sc := o.Scenario
	if o.Callers <= 0 {
		o.Callers = 1
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Repo == "" {
		o.Repo = "."
	}
	specs, err := expandLanes(o.Lanes, sc)
	if err != nil {
		return nil, err
	}
	srv := o.Server
	if srv == nil {
		em, err := StartEmulator(ctx, o.Exe, sc.Server)
		if err != nil {
			return nil, err
		}
		defer em.Stop()
		srv = &em.Endpoints
	}
	ctl := newAdminControl(srv.Admin, srv.Token, o.Exe, srv.DataDir)
	checker := NewChecker(srv.STS, o.Region)

	tmp, err := os.MkdirTemp("", "imdsemu-lab-creds-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	credsFile := filepath.Join(tmp, "credentials")
	keys := &[]string{} // the static keys written, oldest first
	if sc.StaticKey || contains(specs, "profile") || contains(specs, "stolen-key") {
		id, err := ctl.NewKey(ctx, credsFile, labProfile)
		if err != nil {
			return nil, err
		}
		*keys = append(*keys, id)
	}

	lanes, proxies, err := buildLanes(ctx, specs, o, srv, checker, credsFile, sc)
	defer func() {
		for _, l := range lanes {
			l.Close()
		}
		for _, p := range proxies {
			if p != nil {
				p.Close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: sc}
	for _, l := range lanes {
		res.Lanes = append(res.Lanes, LaneInfo{Name: l.Name(), Kind: l.Kind(), Version: l.Version()})
	}

	var (
		mu      sync.Mutex
		calls   sync.WaitGroup
		stepsWG sync.WaitGroup
	)
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	res.Start = time.Now()
	start := res.Start
	if o.OnLanes != nil {
		o.OnLanes(start, res.Lanes)
	}

	step := func(st Step) {
		ev := Event{Time: time.Now(), Action: st.Action()}
		if st.Note != "" {
			ev.Action += ": " + st.Note
		}
		if err := doStep(ctx, ctl, st, credsFile, keys); err != nil {
			ev.Err = err.Error()
		}
		mu.Lock()
		res.Events = append(res.Events, ev)
		if o.OnEvent != nil {
			o.OnEvent(ev)
		}
		mu.Unlock()
	}
	// The steps at 0 s are in effect before the first calls: run beside
	// them, a lane's first fetch could beat a fault set "at 0s" and keep a
	// document the scenario never meant it to see (a Java v1 lane given the
	// real expiry in place of the fault's did not refresh for 45 minutes).
	later := sc.Steps
	for len(later) > 0 && later[0].At.D() <= 0 {
		step(later[0])
		later = later[1:]
	}
	stepsWG.Add(1)
	go func() {
		defer stepsWG.Done()
		for _, st := range later {
			if !sleepUntil(ctx, start.Add(st.At.D())) {
				return
			}
			step(st)
		}
	}()

	ticks := int(sc.Duration.D() / sc.Interval.D())
	for k := 0; k <= ticks; k++ {
		if !sleepUntil(ctx, start.Add(time.Duration(k)*sc.Interval.D())) {
			break
		}
		for i, l := range lanes {
			for c := range o.Callers {
				calls.Add(1)
				go func() {
					defer calls.Done()
					t0 := time.Now()
					call := l.Call(callCtx, true)
					t1 := time.Now()
					row := Row{Lane: l.Name(), Caller: c, Time: t0, Latency: t1.Sub(t0), Call: call}
					if proxies[i] != nil {
						row.IMDS = proxies[i].Between(t0, t1)
					}
					if l.Kind() == KindSDK && !row.Blocked {
						row.Blocked = row.Source == credprovider.SourceFetch || row.IMDS > 0
					}
					mu.Lock()
					res.Rows = append(res.Rows, row)
					if o.OnRow != nil {
						o.OnRow(row)
					}
					mu.Unlock()
				}()
			}
		}
	}
	stepsWG.Wait()
	if !waitTimeout(&calls, 90*time.Second) {
		cancelCalls() // slow calls get their own record; only a stuck one is cut
		calls.Wait()
	}
	res.End = time.Now()
	for i, p := range proxies {
		if p == nil {
			continue
		}
		for _, q := range p.Requests() {
			q.Lane = lanes[i].Name() // the proxy knew only the spec
			res.IMDS = append(res.IMDS, q)
		}
	}
	sort.SliceStable(res.Rows, func(i, j int) bool { return res.Rows[i].Time.Before(res.Rows[j].Time) })
	res.Summaries = Summarize(res.Lanes, res.Rows, res.IMDS)
	res.Failures = Evaluate(sc, res.Summaries)
	return res, ctx.Err()
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// doStep runs one server action.
func doStep(ctx context.Context, ctl Control, st Step, credsFile string, keys *[]string) error {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	switch {
	case st.Fault != nil:
		return ctl.AddFault(ctx, *st.Fault)
	case st.ClearFault:
		return ctl.ClearFaults(ctx)
	case st.Rotate:
		return ctl.Rotate(ctx)
	case st.Revoke:
		return ctl.Revoke(ctx)
	case st.Deactivate != "":
		i := len(*keys) - 1
		if st.Deactivate == "previous" {
			i--
		}
		if i < 0 {
			return errors.New("no such key")
		}
		return ctl.DeactivateKey(ctx, (*keys)[i])
	case st.RewriteKey:
		id, err := ctl.NewKey(ctx, credsFile, labProfile)
		if err == nil {
			*keys = append(*keys, id)
		}
		return err
	}
	return errors.New("no action")
}

// expandLanes checks the lane names and turns "stolen" into stolen-role
// and, with a static key, stolen-key.
func expandLanes(names []string, sc *Scenario) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		n = strings.TrimSpace(n)
		base, _, _ := strings.Cut(n, "@")
		switch {
		case n == "":
		case n == "profile":
			add(n)
		case n == "stolen":
			add("stolen-role")
			if sc.StaticKey {
				add("stolen-key")
			}
		case ModelNames[base] != nil:
			if _, v, ok := strings.Cut(n, "@"); ok && !contains(ModelNames[base], v) {
				return nil, fmt.Errorf("lab: lane %s: no modelled release %q (have %s)", base, v, strings.Join(ModelNames[base], ", "))
			}
			add(n)
		case contains(SDKLanes(), n):
			add(n)
		default:
			return nil, fmt.Errorf("lab: unknown lane %q; lanes: profile, %s, %s, stolen", n,
				strings.Join(sortedKeys(ModelNames), ", "), strings.Join(SDKLanes(), ", "))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("lab: no lanes")
	}
	return out, nil
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k+"[@"+strings.Join(m[k], "|")+"]")
	}
	sort.Strings(out)
	return out
}

// buildLanes makes every lane with its own proxy (nil for lanes that do not
// talk to IMDS), starting the probes in parallel.
func buildLanes(ctx context.Context, specs []string, o Options, srv *Endpoints, checker *Checker, credsFile string, sc *Scenario) ([]Lane, []*Proxy, error) {
	lanes := make([]Lane, len(specs))
	proxies := make([]*Proxy, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		if spec != "profile" && spec != "stolen-key" {
			p, err := NewProxy(spec, srv.Metadata, fmt.Sprintf("127.0.0.%d", 10+i))
			if err != nil {
				return nil, proxies, err
			}
			proxies[i] = p
		}
		base, version, _ := strings.Cut(spec, "@")
		switch {
		case spec == "profile":
			lanes[i] = newProfileLane(credsFile, labProfile, sc.ProfileAge.D(), checker)
		case spec == "stolen-role":
			lanes[i] = &thiefLane{name: spec, steal: stealFromIMDS(proxies[i].URL), checker: checker}
		case spec == "stolen-key":
			lanes[i] = &thiefLane{name: spec, steal: stealFromFile(credsFile), checker: checker}
		case ModelNames[base] != nil:
			l, err := newModelLane(base, version, proxies[i].URL, checker)
			if err != nil {
				return nil, proxies, err
			}
			lanes[i] = l
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := startProbe(ctx, spec, o.Repo, proxies[i].URL, srv.STS, o.Region)
				if err != nil {
					errs[i] = err
					return
				}
				lanes[i] = l
			}()
		}
	}
	wg.Wait()
	var kept []Lane
	for _, l := range lanes {
		if l != nil {
			kept = append(kept, l)
		}
	}
	return kept, proxies, errors.Join(errs...)
}

// stealFromFile copies the static key out of the credentials file.
func stealFromFile(file string) func(context.Context) (aws.Credentials, error) {
	return func(ctx context.Context) (aws.Credentials, error) {
		p := credprovider.NewProfile(func(o *credprovider.ProfileOptions) {
			o.Filename, o.Profile = file, labProfile
			o.Getenv = func(string) string { return "" }
		})
		return p.Retrieve(ctx)
	}
}
