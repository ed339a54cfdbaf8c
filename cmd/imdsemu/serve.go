package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imdsemu/imdsemu/cli"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/internal/httpserve"
	"github.com/imdsemu/imdsemu/internal/keyfile"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

const (
	shutdownGrace    = 5 * time.Second
	firstMintTimeout = 30 * time.Second
)

// Files in the data directory.
const (
	sealKeyFile  = "sealing.key"
	tokenKeyFile = "imds-token.key"
)

func newServeCmd(e cli.Env) *cobra.Command {
	var flags *config.Flags
	var linkLocal linkLocalFlags // serve_linklocal.go
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the metadata service with rotating instance-role credentials",
		Long: `Run the instance metadata service on --metadata-addr, with credentials for the
instance profile's role minted by imdsemu's own STS issuer and rotated before they
expire, and /metrics and /healthz on --admin-addr.

Settings come from the config file (--config or ` + config.EnvConfig + `), then IMDSEMU_*
environment variables, then flags; later ones win. With no config file imdsemu
starts with account 123456789012, role imdsemu-demo and an instance profile of
the same name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			settings, seed, err := flags.Resolve(e.Getenv)
			if err != nil {
				return err
			}
			// A serving process never runs another command: the rest of
			// the command tree and its flags (about 200 KB) would stay
			// live, and be marked at every collection, for its whole life.
			cmd.Root().ResetCommands()
			return linkLocal.around(cmd.Flags(), &settings, cmd.OutOrStdout(), func() error {
				// serve owns them from here: with many instances, the
				// parsed entries a copy left here would keep are a
				// large part of each instance's memory.
				s, sd := settings, seed
				settings, seed = config.Settings{}, rolestore.Seed{}
				return serve(cmd.Context(), cmd.OutOrStdout(), e.Stderr, s, sd)
			})
		},
	}
	flags = config.BindFlags(cmd.Flags())
	addLinkLocalFlags(cmd.Flags(), &linkLocal)
	return cmd
}

func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{ReplaceAttr: redact}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redact is the one place that keeps secrets out of logs, whatever a caller
// passes: any attribute named like a secret or a token loses its value.
func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	if strings.Contains(k, "secret") || strings.Contains(k, "token") && !strings.Contains(k, "ttl") {
		return slog.String(a.Key, "REDACTED")
	}
	return a
}

func serve(ctx context.Context, stdout, stderr io.Writer, s config.Settings, seed rolestore.Seed) error {
	log := newLogger(stderr, s.LogFormat)
	// The fleet takes the instances' entries; nothing else of serve keeps
	// them (nor the seed, once applied), so they are garbage after start.
	entries, defaultID := s.ServedInstances()
	multi := len(s.Instances) > 0
	s.Instances = nil
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	store, err := rolestore.OpenSQLite(ctx, filepath.Join(s.DataDir, config.DBFile), cli.StoreOptions())
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Apply(ctx, seed); err != nil {
		return fmt.Errorf("loading config entities: %w", err)
	}
	sealKey, err := keyfile.LoadOrCreate(filepath.Join(s.DataDir, sealKeyFile), sts.KeySize, nil)
	if err != nil {
		return err
	}
	tokenKey, err := keyfile.LoadOrCreate(filepath.Join(s.DataDir, tokenKeyFile), 32, nil)
	if err != nil {
		return err
	}
	issuer, err := sts.NewIssuer(sts.IssuerOptions{Key: sealKey})
	if err != nil {
		return err
	}
	ix, err := newIMDSSetup(s) // serve_imds.go
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctl, err := newControlPlane(s, log, reg) // serve_admin.go: faults, control API
	if err != nil {
		return err
	}
	sched, err := refresher.New(refresher.Options{
		Interval:   s.Rotation.Interval,
		Lifetime:   s.Rotation.SessionDuration,
		Logger:     log.With("component", "refresher"),
		Registerer: reg,
		OnEvent:    ctl.onRefresherEvent, // events start with sched.Run, after setInstance
	})
	if err != nil {
		return err
	}
	restoreGC := startGC(len(entries)) // a fleet's lower target lasts until ready
	defer restoreGC()
	fl, err := newFleet(ctx, s, entries, defaultID, multi, ix, fleetDeps{store: store, issuer: issuer, sched: sched, reg: reg, log: log, tokenKey: tokenKey, ctl: ctl}) // serve_instances.go
	if err != nil {
		return err
	}
	inst, metadata := fl.Primary().Instance, fl.Primary().Metadata
	ctl.setInstance(inst, fl)
	metaHandler, err := ctl.metadataHandler(fl.Handler(), reg) // faults, IMDSv1 counter
	if err != nil {
		return err
	}
	ready := fl.Ready(ctx)
	keyUse := sts.NewKeyUsage()                            // long-term key use, for the audit
	ctl.auditor = newAuditor(store, keyUse, fl, ctl, seed) // serve_audit.go
	adminServer, err := ctl.adminHandler(adminRouter(reg, ready), metadata, store)
	if err != nil {
		return err
	}
	adminHandler := adminServer.WithInstances(fl)

	ls := &listeners{ // every listener: timeouts, connection cap, Host allowlist (internal/httpserve)
		errorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		metrics:  httpserve.NewMetrics(reg),
		hosts:    httpserve.NewHosts(append([]string{s.MetadataAddr, s.AdminAddr, s.ECSAddr, s.IPv6Addr}, s.AllowedHosts...)...),
		maxConns: s.MaxConnections, // 0: httpserve.DefaultMaxConns
	}
	defer ls.close() // all of them if serve fails before serving; harmless after Shutdown
	stsL, err := ls.listen("sts", s.STSAddr, nil)
	if err != nil {
		return err
	}
	stsURL := "http://" + httpserve.DialAddr(stsL.ln.Addr())
	var iamHandler http.Handler
	if stsL.srv.Handler, iamHandler, err = newSTS(s, stsURL, store, issuer, keyUse, fl, log, reg); err != nil { // serve_sts.go
		return err
	}
	iamURL := stsURL
	if s.IAMAddr != "" {
		iamL, err := ls.listen("iam", s.IAMAddr, iamHandler)
		if err != nil {
			return err
		}
		iamURL = "http://" + httpserve.DialAddr(iamL.ln.Addr())
	}
	meta, err := ls.listen("metadata", s.MetadataAddr, metaHandler)
	if err != nil {
		return err
	}
	// A connection keeps the hop limit's socket (imds) and its route
	// (instance.Router: its client's instance, looked up once).
	connContext := func(ctx context.Context, c net.Conn) context.Context {
		return fl.ConnContext(metadata.ConnContext(ctx, c), c)
	}
	meta.srv.ConnContext = connContext
	fln := ctl.faults.Listener(meta.ln) // outages close and re-bind it
	meta.ln, meta.srv.ConnState = fln, fln.ConnState
	adm, err := ls.listen("admin", s.AdminAddr, adminHandler)
	if err != nil {
		return err
	}
	extra, err := ix.listen(ls, connContext, metaHandler, fl.ECSHandler) // IPv6 and ECS, when set
	if err != nil {
		return err
	}
	own, err := listenOwn(fl, ls, ctl.faults.Handler) // instances' own metadata listeners
	if err != nil {
		return err
	}
	extra = append(extra, own...)
	if err := ctl.start(meta.srv, adm.srv); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sched.Run(gctx) })
	ls.run(g)
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		log.Info("shutting down")
		return ls.shutdown(sctx)
	})

	metaURL := "http://" + httpserve.DialAddr(meta.ln.Addr())
	fmt.Fprintf(stdout, "imdsemu: data directory %s\n", s.DataDir)
	fmt.Fprintf(stdout, "imdsemu: metadata service on %s (http-tokens %s, endpoint %s)\n", metaURL, s.HTTPTokens, s.HTTPEndpoint)
	fmt.Fprintln(stdout, adminLine(httpserve.DialAddr(adm.ln.Addr())))
	ctl.print(stdout)
	for _, line := range fleetLines(fl, multi) {
		fmt.Fprintln(stdout, line)
	}
	ix.print(stdout, extra)
	// The trailing slash matters: botocore before 1.31 (the AWS CLI in Debian
	// 12, for one) appends "latest/api/token" to the endpoint as it stands.
	fmt.Fprintf(stdout, "export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/\n", metaURL)
	fmt.Fprintf(stdout, "imdsemu: STS on %s (SigV4-verified; OIDC discovery at %s/.well-known/openid-configuration)\n", stsURL, stsURL)
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_STS=%s\n", stsURL)
	fmt.Fprintf(stdout, "imdsemu: IAM on %s (SigV4-verified; also on the STS listener)\n", iamURL)
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL_IAM=%s\n", iamURL)
	select {
	case <-ready:
		fmt.Fprintln(stdout, "imdsemu: ready")
		restoreGC()
		// Start-up leaves garbage (store migrations, key and certificate
		// loading, the first mint) that the scavenger would return to the
		// OS only over minutes: a sidecar's idle RSS is about 1 MB smaller
		// for returning it now (docs/performance.md). One forced GC, once.
		debug.FreeOSMemory()
	case <-gctx.Done():
	case <-time.After(firstMintTimeout):
		log.Error("no credentials minted yet; serving anyway", "profile", inst.Attachment().Profile)
		restoreGC()
	}
	return g.Wait()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// listeners are serve's HTTP servers, each on its listener: one place
// opens, runs and shuts them all down.
type listeners struct {
	errorLog *log.Logger
	metrics  *httpserve.Metrics
	hosts    *httpserve.Hosts // the names the metadata, ECS and admin listeners answer to
	maxConns int              // each listener's connection cap; 0 is the default
	all      []*listener
}

type listener struct {
	name string // in metrics: sts, metadata, admin, ipv6-metadata, ecs
	srv  *http.Server
	ln   net.Listener
}

// listen opens addr for a server of h (set later when nil); what names the
// listener in errors. The caller may wrap ln and set the server's fields
// before run.
func (ls *listeners) listen(what, addr string, h http.Handler) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", what, err)
	}
	name := strings.ReplaceAll(strings.ToLower(what), " ", "-")
	o := httpserve.Options{Listener: name, Handler: h, Metrics: ls.metrics, ErrorLog: ls.errorLog}
	if name != "sts" {
		// STS answers nothing but the OIDC discovery documents without a
		// SigV4 signature, which a page rebinding a name cannot make.
		o.Hosts = ls.hosts
	}
	// Only STS, IAM and the admin API take request bodies; on the metadata
	// listeners (IPv4, IPv6, ECS, instances' own) the read deadline of the
	// rare request with a body is set by its handler.
	o.BodyDeadline = name != "sts" && name != "iam" && name != "admin"
	l := &listener{name: name, srv: httpserve.New(o), ln: ln}
	ls.all = append(ls.all, l)
	return l, nil
}

// run serves every listener in g until shutdown.
func (ls *listeners) run(g *errgroup.Group) {
	for _, l := range ls.all {
		// The cap goes around whatever wraps the listener by now (the fault
		// listener re-binds the socket under it during an outage), its hook
		// after the server's own (the fault listener's).
		ln := httpserve.Limit(l.srv, l.ln, l.name, ls.maxConns, ls.metrics)
		g.Go(func() error {
			if err := l.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
}

func (ls *listeners) shutdown(ctx context.Context) error {
	var errs []error
	for _, l := range ls.all {
		errs = append(errs, l.srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// close closes every listener.
func (ls *listeners) close() {
	for _, l := range ls.all {
		l.ln.Close()
	}
}

func adminRouter(reg *prometheus.Registry, ready <-chan struct{}) http.Handler {
	r := mux.NewRouter()
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})).Methods(http.MethodGet)
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		select {
		case <-ready:
			io.WriteString(w, "ok\n")
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "starting: no credentials minted yet\n")
		}
	}).Methods(http.MethodGet)
	return r
}

// The collector's targets (GOGC) serve sets unless the user set GOGC.
const (
	// singleGCPercent is for a server of one instance, for good.
	singleGCPercent = 150
	// fleetGCPercent is for a fleet of several instances while it is
	// built and its first credentials minted.
	fleetGCPercent = 25
)

// startGC sets the collector's target for a server of n instances, unless
// the user set GOGC, and returns what to call once "ready" (again is
// harmless).
//
// One instance keeps well under a megabyte live, so the collector runs
// each time the heap reaches its 4 MB minimum (4 MB times GOGC/100): some
// 25 times a second under a full load of credential GETs, each mark phase
// holding the requests in flight on a busy CPU for one to three
// milliseconds. Those requests are the tail of the latency
// (docs/performance.md, "The tail"); at singleGCPercent a third of the
// phases go, for about 2 MiB more resident under that load and none idle.
// It stays after ready.
//
// A fleet keeps far more live, where a higher target would cost memory per
// instance. Its start-up makes some 75 KB of garbage per instance (store
// writes and reads, mints) in among the objects each instance keeps; at
// GOGC=100 the heap grows to twice what is live between collections, and
// what an instance keeps ends up spread over spans that stay part empty,
// resident, after the garbage is gone: 10,000 instances kept about 52 MB of
// objects in 77 MB of spans. At fleetGCPercent freed slots are filled again
// before the heap grows much, and the same objects sit in 61 MB, for about
// 0.8 s more CPU to ready (10: 57 MB, 2.4 s more; docs/performance.md,
// "Many instances"). At ready the target the process had comes back.
func startGC(n int) (ready func()) {
	switch {
	case os.Getenv("GOGC") != "":
		return func() {}
	case n < 2:
		debug.SetGCPercent(singleGCPercent)
		return func() {}
	}
	prev := debug.SetGCPercent(fleetGCPercent)
	var once sync.Once
	return func() { once.Do(func() { debug.SetGCPercent(prev) }) }
}
