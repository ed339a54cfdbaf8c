package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/instance"
	"github.com/imdsemu/imdsemu/refresher"
)

// controlPlane is what serve builds for fault injection and the control
// API: the fault injector around the metadata server, the event hub and
// generation tracker fed by the refresher and the metadata server, and the
// admin handler.
type controlPlane struct {
	s            config.Settings
	log          *slog.Logger
	adminLog     *slog.Logger // the control APIs', one for every instance's
	hub          *admin.Hub
	tracker      *admin.Tracker
	faults       *fault.Injector
	token        string
	tokenCreated bool

	inst  *instance.Instance // set by setInstance before the scheduler runs
	fleet *instance.Fleet    // every instance, the refresher's events go to

	noToken *fault.NoTokenCounter // set by metadataHandler
	auditor admin.Auditor         // GET /v1/audit, when set before adminHandler
}

func newControlPlane(s config.Settings, log *slog.Logger, reg prometheus.Registerer) (*controlPlane, error) {
	var token string
	var created bool
	var err error
	if s.AdminTokenFile != "" { // a provisioned token: a mounted secret
		token, err = admin.ReadToken(s.AdminTokenFile)
	} else {
		token, created, err = admin.LoadOrCreateToken(filepath.Join(s.DataDir, config.AdminTokenFile), nil)
	}
	if err != nil {
		return nil, err
	}
	c := &controlPlane{
		s: s, log: log, adminLog: log.With("component", "admin"), token: token, tokenCreated: created,
		hub:     admin.NewHub(0, nil),
		tracker: admin.NewTracker(admin.TrackerOptions{}),
	}
	c.faults, err = fault.New(fault.Options{
		Scenarios:  s.Scenarios,
		Notices:    scenarioNotices{c},
		Logger:     log.With("component", "fault"),
		Registerer: reg,
		OnFire: func(f fault.Fired) {
			c.hub.Publish(admin.Event{Type: admin.EventFaultFired, At: f.At, Client: f.Client, Path: f.Path, Fault: &f})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("fault scenarios: %w", err)
	}
	return c, nil
}

// setInstance gives the control plane the instance (the default one of
// several) and the fleet. Call it before the scheduler runs and before
// adminHandler.
func (c *controlPlane) setInstance(inst *instance.Instance, fleet *instance.Fleet) {
	c.inst, c.fleet = inst, fleet
}

// onRefresherEvent feeds a refresher event to the tracker and the hub. It
// runs on the scheduler's goroutine and does not block. The tracker keeps
// its own copy of the times, not e's.
func (c *controlPlane) onRefresherEvent(ev refresher.Event) {
	role := c.fleet.OnEvent(ev) // the instances keeping ev.Key, and no other
	e := admin.Event{Type: string(ev.Kind), At: ev.At, Profile: ev.Key, Seq: ev.Seq, AccessKeyID: ev.Credentials.AccessKeyID, Role: role}
	if ev.Err != nil {
		e.Error = ev.Err.Error()
	}
	if ev.Kind == refresher.EventIssued {
		exp := ev.Credentials.Expires
		e.Expires = &exp
	}
	if due := ev.Due; !due.IsZero() {
		e.Due = &due // not &ev.Due, which would put all of ev on the heap
	}
	c.tracker.Record(e)
	c.hub.Publish(e)
}

// onServed feeds a served credential document to the tracker and the hub.
func (c *controlPlane) onServed(ev imds.ServedEvent) {
	e := admin.Event{Type: admin.EventServed, At: ev.At, Role: ev.Role, AccessKeyID: ev.AccessKeyID,
		Client: clientIP(ev.RemoteAddr), Version: ev.Version, Path: ev.Path}
	c.tracker.Record(e)
	c.hub.Publish(e)
}

// clientIP is the address of remote (http.Request.RemoteAddr, host:port),
// without the port and IPv4-mapped IPv6 unmapped. An IPv4 host is already
// written as netip.Addr would write it, so only a bracketed one is parsed.
func clientIP(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i > 0 && remote[0] != '[' && strings.IndexByte(remote[:i], ':') < 0 {
		if _, err := netip.ParseAddr(remote[:i]); err == nil {
			return remote[:i]
		}
	}
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	return remote
}

// metadataHandler wraps the metadata server: faults outside, the IMDSv1
// counter inside (so requests a fault answers are not counted).
func (c *controlPlane) metadataHandler(h http.Handler, reg prometheus.Registerer) (http.Handler, error) {
	counted, err := fault.NewNoTokenCounter(h, reg, 0)
	if err != nil {
		return nil, err
	}
	c.noToken = counted
	return c.faults.Handler(counted), nil
}

// adminHandler is the admin listener's handler: the control API, with
// open (the /metrics and /healthz router) answering those two paths.
func (c *controlPlane) adminHandler(open http.Handler, metadata *imds.Server, revocations admin.Revocations) (*admin.Server, error) {
	return c.adminServer(c.inst, metadata, revocations, open)
}

// adminServer is the control API of one instance, with its metadata
// server; open answers /metrics and /healthz (nil: not served).
func (c *controlPlane) adminServer(inst *instance.Instance, metadata *imds.Server, revocations admin.Revocations, open http.Handler) (*admin.Server, error) {
	return admin.New(admin.Options{
		Token:       c.token,
		Metadata:    instance.MetadataControl{Server: metadata},
		Faults:      c.faults,
		Profiles:    inst,
		Attacher:    inst,
		Tracker:     c.tracker,
		Hub:         c.hub,
		Revocations: revocations,
		Notices:     inst.NoticeControl(),
		Auditor:     c.auditor,
		Metrics:     open,
		Health:      open,
		Logger:      c.adminLog,
	})
}

// start registers the hooks that end event streams and held connections
// when servers shut down, and starts the configured scenario.
func (c *controlPlane) start(servers ...*http.Server) error {
	for _, srv := range servers {
		srv.RegisterOnShutdown(c.hub.Close)
		srv.RegisterOnShutdown(c.faults.Close)
	}
	if name := c.s.StartScenario; name != "" {
		if _, err := c.faults.StartScenario(name); err != nil {
			return fmt.Errorf("start-scenario %q: %w", name, err)
		}
	}
	return nil
}

// print shows the admin token, at the first start only, and the scenario
// started.
func (c *controlPlane) print(w io.Writer) {
	if c.tokenCreated {
		fmt.Fprintf(w, "admin token: %s  (saved in %s)\n", c.token, filepath.Join(c.s.DataDir, config.AdminTokenFile))
	}
	if name := c.s.StartScenario; name != "" {
		fmt.Fprintf(w, "imdsemu: fault scenario %s started\n", name)
	}
}

// adminLine is the line serve prints about the admin listener.
func adminLine(addr string) string {
	return fmt.Sprintf("imdsemu: admin on http://%s (/metrics, /healthz, control API under /v1/)", addr)
}

// scenarioNotices posts the notices of fault scenario steps on the
// instance and publishes each as a notice event. The instance is set after
// the fault injector is made, before any scenario starts.
type scenarioNotices struct{ c *controlPlane }

func (s scenarioNotices) Fire(r imds.NoticeRequest) (imds.Notice, error) {
	if s.c.inst == nil {
		return imds.Notice{}, errors.New("no instance yet")
	}
	n, err := s.c.inst.Notices().Fire(r)
	if err != nil {
		return n, err
	}
	s.c.hub.Publish(admin.Event{Type: admin.EventNotice, At: n.Posted, Change: "posted", Detail: instance.AdminNotice(n)})
	return n, nil
}
