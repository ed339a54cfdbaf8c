package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/instance"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// fleetBuilder makes the members of serve's instance.Fleet from the
// settings: one instance.Instance and one imds.Server (its own tree,
// tokens, credentials and notices) each, with its ECS handler and control
// API. The single instance: form is a fleet of one serving everyone.
type fleetBuilder struct {
	s     config.Settings
	ix    *imdsSetup
	d     fleetDeps
	key   *rsa.PrivateKey
	cert  *x509.Certificate
	multi bool // the instances: form
	// routes is the metadata route table every member's server shares.
	routes *imds.Routes
	log    *slog.Logger // the metadata servers'
	// onServed is d.ctl.onServed, made once: a method value is a closure,
	// 16 bytes for each instance if made for each.
	onServed func(imds.ServedEvent)
}

type fleetDeps struct {
	store    *rolestore.SQLite
	issuer   *sts.Issuer
	sched    *refresher.Scheduler
	reg      prometheus.Registerer
	log      *slog.Logger
	tokenKey []byte
	ctl      *controlPlane
}

// newFleet builds every instance of entries (s.ServedInstances, multi for
// the instances: form) and its metadata server, and the fleet that routes
// to them; instances added while serving are built the same way (without
// metrics: those are registered once, for the config's instances) after
// the config file's checks. It keeps no entry.
func newFleet(ctx context.Context, s config.Settings, entries []config.InstanceEntry, defaultID string, multi bool, ix *imdsSetup, d fleetDeps) (*instance.Fleet, error) {
	b := &fleetBuilder{s: s, ix: ix, d: d, multi: multi, routes: imds.NewRoutes(),
		log: d.log.With("component", "imds"), onServed: d.ctl.onServed}
	primary := entries[0]
	for _, e := range entries {
		if e.ID == defaultID {
			primary = e
		}
	}
	var err error
	b.key, b.cert, err = instance.LoadOrCreateSigningKey(s.DataDir, primary.Account, time.Now())
	if err != nil {
		return nil, err
	}
	// One set of collectors for every server. In the instances: form each
	// server's series carry its id as instance_id, not instance:
	// Prometheus gives every target an instance label. Ids are bounded by
	// the config.
	var metrics *imds.Metrics
	if d.reg != nil {
		label := ""
		if b.multi {
			label = "instance_id"
		}
		if metrics, err = imds.NewMetrics(d.reg, label); err != nil {
			return nil, err
		}
	}
	members := make([]*instance.Member, 0, len(entries))
	for _, e := range entries {
		field := "instance"
		if b.multi {
			field = "instances " + e.ID
		}
		m, err := b.member(ctx, e, metrics)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		members = append(members, m)
	}
	return instance.NewFleet(ctx, instance.FleetOptions{
		Scheduler: d.sched, ParseSource: config.ParseSource, Several: b.multi,
		Check: b.check,
		Build: func(ctx context.Context, spec admin.InstanceSpec) (*instance.Member, error) {
			return b.member(ctx, entry(spec), nil)
		},
		// An instance's control API is made on its first request: most
		// instances of a large fleet are never asked, and an admin.Server
		// is some 300 bytes. admin.New fails only for options every
		// instance shares (the token, the tracker, the hub), and serve
		// makes the default instance's at start, so a failure shows there
		// first.
		Control: func(m *instance.Member) (http.Handler, error) {
			return d.ctl.adminServer(m.Instance, m.Metadata, d.store, nil)
		},
	}, members, defaultID)
}

// entry is the instance spec as the config file's instances: would give
// it; type, region and zone left out are the metadata server's defaults.
func entry(spec admin.InstanceSpec) config.InstanceEntry {
	return config.InstanceEntry{
		Instance: config.Instance{ID: spec.ID, Account: spec.Account, Profile: spec.Profile, Type: spec.Type,
			Region: spec.Region, Tags: spec.Tags, UserData: spec.UserData},
		Match: config.Match{Sources: spec.Sources},
	}
}

// check holds an instance added while serving to the config file's rules.
func (b *fleetBuilder) check(spec admin.InstanceSpec) error {
	s := b.s
	s.Instances, s.DefaultInstance = []config.InstanceEntry{entry(spec)}, ""
	if err := s.Validate(); err != nil {
		return admin.Errorf(admin.ErrInvalid, "%s", strings.ReplaceAll(err.Error(), "instances[0].", ""))
	}
	return nil
}

// member builds the instance e, its metadata server (counted in metrics,
// if not nil), its ECS handler and its control API. It changes nothing:
// the fleet routes it and has the scheduler keep it.
func (b *fleetBuilder) member(ctx context.Context, e config.InstanceEntry, metrics *imds.Metrics) (*instance.Member, error) {
	mx, err := b.ix.forInstance(e.Instance)
	if err != nil {
		return nil, err
	}
	m := &instance.Member{Profile: e.Profile, Sources: e.Match.Sources, Listen: e.Match.Listen}
	meta := mx.metadata()
	m.Instance, err = instance.New(ctx, instance.Options{
		Metadata: meta, Profile: e.Profile,
		Store: b.d.store, STS: b.d.issuer, Scheduler: b.d.sched,
		SigningKey: b.key, SigningCertificate: b.cert,
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	logger := b.log
	if b.multi {
		logger = instanceLogger(logger.Handler(), e.ID)
	}
	m.Metadata, err = imds.New(mx.options(imds.Options{
		Credentials:         m.Instance,
		Instance:            meta,
		IdentityKey:         b.key,
		IdentityCertificate: b.cert,
		IdentityCredentials: m.Instance.IdentityCredentials,
		Notices:             m.Instance.Notices(),
		HTTPTokens:          imds.Mode(b.s.HTTPTokens),
		EndpointDisabled:    b.s.HTTPEndpoint == "disabled",
		TokenKey:            b.d.tokenKey,
		OnCredentialsServed: b.onServed,
		Logger:              logger,
		Metrics:             metrics,
		Routes:              b.routes,
	}))
	if err != nil {
		return nil, err
	}
	if tok := b.ix.ecsToken; tok != "" {
		if m.ECS, err = m.Metadata.ECSHandler(tok); err != nil {
			return nil, err
		}
	}
	return m, nil // its control API is made on first use (FleetOptions.Control)
}

// listenOwn opens the listener of every member with its own (match.listen),
// serving that member's metadata handler (wrapped by wrap) to every
// client, and returns what to print about them.
func listenOwn(fl *instance.Fleet, ls *listeners, wrap func(http.Handler) http.Handler) ([]string, error) {
	var lines []string
	for _, m := range fl.Members() {
		if a := m.Listen; a != "" {
			l, err := ls.listen("instances "+m.Instance.ID()+" metadata", a, wrap(m.Metadata))
			if err != nil {
				return nil, err
			}
			l.srv.ConnContext = m.Metadata.ConnContext
			lines = append(lines, fmt.Sprintf("imdsemu: instance %s's own metadata listener on http://%s", m.Instance.ID(), l.ln.Addr()))
		}
	}
	return lines, nil
}

// fleetLines describe the instances for serve's banner.
func fleetLines(fl *instance.Fleet, multi bool) []string {
	var out []string
	for _, m := range fl.Members() {
		att := m.Instance.Attachment()
		who := "every client"
		if multi {
			var parts []string
			if len(m.Sources) > 0 {
				parts = append(parts, "sources "+strings.Join(m.Sources, ", "))
			}
			if m.Listen != "" {
				parts = append(parts, "listener "+m.Listen)
			}
			if m.Instance.ID() == fl.Default() {
				parts = append(parts, "unmatched clients")
			}
			who = strings.Join(parts, "; ")
		}
		out = append(out, fmt.Sprintf("imdsemu: instance %s, profile %s, role %s (serves %s)", m.Instance.ID(), orNone(att.Profile), orNone(att.Role), who))
	}
	if multi && fl.Default() == "" {
		out = append(out, "imdsemu: clients no instance matches get 404 (no default-instance)")
	}
	return out
}

// instanceLogger is a logger whose lines carry instance=id, added only
// when it writes one (lazyAttrs): the logger and its handler are one
// object of 48 bytes, for each instance of a fleet.
func instanceLogger(parent slog.Handler, id string) *slog.Logger {
	l := &struct {
		log slog.Logger
		h   instanceAttr
	}{h: instanceAttr{parent: parent, id: id}}
	l.log = *slog.New(&l.h)
	return &l.log
}

// instanceAttr is lazyAttrs of the one attribute instance=id, kept as the
// id alone.
type instanceAttr struct {
	parent slog.Handler
	id     string
}

func (h *instanceAttr) lazy() *lazyAttrs {
	return &lazyAttrs{parent: h.parent, attrs: []slog.Attr{slog.String("instance", h.id)}}
}

func (h *instanceAttr) Enabled(ctx context.Context, l slog.Level) bool {
	return h.parent.Enabled(ctx, l)
}
func (h *instanceAttr) Handle(ctx context.Context, r slog.Record) error {
	return h.lazy().Handle(ctx, r)
}
func (h *instanceAttr) WithAttrs(attrs []slog.Attr) slog.Handler { return h.lazy().WithAttrs(attrs) }
func (h *instanceAttr) WithGroup(name string) slog.Handler       { return h.lazy().WithGroup(name) }

// lazyAttrs is a slog.Handler that adds attrs to its parent's output only
// when it handles a record. The parent's own WithAttrs formats them in
// advance into a copy of its buffer, some 650 bytes for each instance's
// logger, and most instances of a large fleet never log a line.
type lazyAttrs struct {
	parent slog.Handler
	attrs  []slog.Attr
}

func (h *lazyAttrs) Enabled(ctx context.Context, l slog.Level) bool { return h.parent.Enabled(ctx, l) }

func (h *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return h.parent.WithAttrs(h.attrs).Handle(ctx, r)
}

func (h *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lazyAttrs{parent: h.parent, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *lazyAttrs) WithGroup(name string) slog.Handler {
	return h.parent.WithAttrs(h.attrs).WithGroup(name)
}
