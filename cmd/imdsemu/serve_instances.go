package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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

// fleet is the instances serve emulates: one instance.Instance and one
// imds.Server (its own tree, tokens, credentials and notices) each, behind
// an instance.Router that picks the instance by the client's source
// address. The single instance: form is a fleet of one serving everyone.
// Instances can be added, changed and removed while serving
// (serve_instances_edit.go).
type fleet struct {
	s    config.Settings
	ix   *imdsSetup
	d    fleetDeps
	key  *rsa.PrivateKey
	cert *x509.Certificate
	// primary is the default instance, else the first: the one the
	// control API's top-level paths, the identity key's certificate and
	// the ECS endpoint's other paths stand for. It is never removed.
	primary *member
	router  *instance.Router
	multi   bool // the instances: form

	mu      sync.RWMutex // guards members and byID
	members []*member    // in config order, then as added
	byID    map[string]*member
}

type member struct {
	entry config.InstanceEntry
	inst  *instance.Instance
	srv   *imds.Server
	ecs   http.Handler // its ECS handler; nil without --ecs-addr
	ctl   http.Handler // its control API
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

// newFleet builds every instance of s and its metadata server. The
// primary keeps the credentials of every profile in the store (so the
// control API can show them); the others keep their own, first, so that
// their sessions are named after them.
func newFleet(ctx context.Context, s config.Settings, ix *imdsSetup, d fleetDeps) (*fleet, error) {
	entries, defaultID := s.ServedInstances()
	f := &fleet{s: s, ix: ix, d: d, byID: map[string]*member{}, router: instance.NewRouter(), multi: len(s.Instances) > 0}
	primary := entries[0]
	for _, e := range entries {
		if e.ID == defaultID {
			primary = e
		}
	}
	var err error
	f.key, f.cert, err = instance.LoadOrCreateSigningKey(s.DataDir, primary.Account, time.Now())
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		field := "instance"
		if f.multi {
			field = "instances " + e.ID
		}
		var reg prometheus.Registerer = d.reg
		if f.multi {
			// instance_id, not instance: Prometheus gives every target an
			// instance label. Ids are bounded by the config.
			reg = prometheus.WrapRegistererWith(prometheus.Labels{"instance_id": e.ID}, d.reg)
		}
		m, err := f.newMember(ctx, e, reg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if err := f.route(m); err != nil {
			return nil, err
		}
		f.members = append(f.members, m)
		f.byID[e.ID] = m
		if e.ID == primary.ID {
			f.primary = m
		}
	}
	if err := f.router.SetDefault(defaultID); err != nil {
		return nil, err
	}
	for _, m := range f.members {
		if m != f.primary {
			if err := m.inst.Keep(ctx); err != nil {
				return nil, err
			}
		}
	}
	if err := f.primary.inst.KeepAll(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// newMember builds the instance e, its metadata server (with metrics on
// reg, if not nil), its ECS handler and its control API. It changes
// nothing: the caller routes it and has the scheduler keep it.
func (f *fleet) newMember(ctx context.Context, e config.InstanceEntry, reg prometheus.Registerer) (*member, error) {
	mx, err := f.ix.forInstance(e.Instance)
	if err != nil {
		return nil, err
	}
	m := &member{entry: e}
	m.inst, err = instance.New(ctx, instance.Options{
		Metadata: mx.metadata(), Profile: e.Profile,
		Store: f.d.store, STS: f.d.issuer, Scheduler: f.d.sched,
		SigningKey: f.key, SigningCertificate: f.cert,
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	logger := f.d.log.With("component", "imds")
	if f.multi {
		logger = logger.With("instance", e.ID)
	}
	m.srv, err = imds.New(mx.options(imds.Options{
		Credentials:         m.inst,
		Instance:            m.inst.Metadata(),
		IdentityKey:         f.key,
		IdentityCertificate: f.cert,
		IdentityCredentials: m.inst.IdentityCredentials,
		Notices:             m.inst.Notices(),
		HTTPTokens:          imds.Mode(f.s.HTTPTokens),
		EndpointDisabled:    f.s.HTTPEndpoint == "disabled",
		TokenKey:            f.d.tokenKey,
		OnCredentialsServed: f.d.ctl.onServed,
		Logger:              logger,
		Registerer:          reg,
	}))
	if err != nil {
		return nil, err
	}
	if tok := f.ix.ecsToken; tok != "" {
		if m.ecs, err = m.srv.ECSHandler(tok); err != nil {
			return nil, err
		}
	}
	if m.ctl, err = f.d.ctl.adminServer(m.inst, m.srv, f.d.store, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// route has the router send m's sources to it.
func (f *fleet) route(m *member) error {
	prefixes, err := m.entry.Match.Prefixes()
	if err != nil {
		return err
	}
	return f.router.Set(instance.Route{ID: m.entry.ID, Sources: prefixes, Handler: m.srv})
}

// others are the instances but the primary.
func (f *fleet) others() []*instance.Instance {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []*instance.Instance
	for _, m := range f.members {
		if m != f.primary {
			out = append(out, m.inst)
		}
	}
	return out
}

// ProfileChanged tells every instance that the IAM API changed the role of
// an instance profile (iamapi.ProfileWatcher).
func (f *fleet) ProfileChanged(ctx context.Context, profileARN, role string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, m := range f.members {
		if err := m.inst.ProfileChanged(ctx, profileARN, role); err != nil {
			return err
		}
	}
	return nil
}

// handler is what the shared metadata listeners serve: the router.
func (f *fleet) handler() http.Handler { return f.router }

// ready is closed once every instance is ready.
func (f *fleet) ready(ctx context.Context) <-chan struct{} {
	if len(f.members) == 1 {
		return f.primary.inst.Ready()
	}
	done := make(chan struct{})
	go func() { // ends when every instance is ready or ctx ends
		defer close(done)
		for _, m := range f.members {
			select {
			case <-m.inst.Ready():
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// listen opens the listener of every instance with match.listen, serving
// that instance's metadata handler (wrapped by wrap) to every client, and
// returns what to print about them.
func (f *fleet) listen(ls *listeners, wrap func(http.Handler) http.Handler) ([]string, error) {
	var lines []string
	for _, m := range f.members {
		if a := m.entry.Match.Listen; a != "" {
			l, err := ls.listen("instances "+m.entry.ID+" metadata", a, wrap(m.srv))
			if err != nil {
				return nil, err
			}
			l.srv.ConnContext = m.srv.ConnContext
			lines = append(lines, fmt.Sprintf("imdsemu: instance %s's own metadata listener on http://%s", m.entry.ID, l.ln.Addr()))
		}
	}
	return lines, nil
}

// ecsHandler routes the ECS endpoint: /role/NAME to the instance holding
// role NAME, other paths to the default instance (none in the instances:
// form without default-instance).
func (f *fleet) ecsHandler(string) (http.Handler, error) {
	byRole := func(role string) (http.Handler, bool) {
		f.mu.RLock()
		defer f.mu.RUnlock()
		for _, m := range f.members {
			if r := m.inst.Attachment().Role; r != "" && strings.EqualFold(r, role) && m.ecs != nil {
				return m.ecs, true
			}
		}
		return nil, false
	}
	var fallback http.Handler
	if !f.multi || f.router.Default() != "" {
		fallback = f.primary.ecs
	}
	return instance.ECSByRole(f.ix.ecsToken, byRole, fallback), nil
}

// lines describe the instances for serve's banner.
func (f *fleet) lines() []string {
	var out []string
	for _, m := range f.members {
		att := m.inst.Attachment()
		who := "every client"
		if f.multi {
			var parts []string
			if len(m.entry.Match.Sources) > 0 {
				parts = append(parts, "sources "+strings.Join(m.entry.Match.Sources, ", "))
			}
			if m.entry.Match.Listen != "" {
				parts = append(parts, "listener "+m.entry.Match.Listen)
			}
			if m.entry.ID == f.router.Default() {
				parts = append(parts, "unmatched clients")
			}
			who = strings.Join(parts, "; ")
		}
		out = append(out, fmt.Sprintf("imdsemu: instance %s, profile %s, role %s (serves %s)", m.inst.ID(), orNone(att.Profile), orNone(att.Role), who))
	}
	if f.multi && f.router.Default() == "" {
		out = append(out, "imdsemu: clients no instance matches get 404 (no default-instance)")
	}
	return out
}

// Instances lists the instances for the control API (admin.Instances).
func (f *fleet) Instances() []admin.InstanceInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]admin.InstanceInfo, 0, len(f.members))
	for _, m := range f.members {
		out = append(out, f.info(m))
	}
	return out
}

func (f *fleet) info(m *member) admin.InstanceInfo {
	att := m.inst.Attachment()
	return admin.InstanceInfo{
		ID: m.entry.ID, Account: m.entry.Account, Profile: att.Profile, Role: att.Role,
		Sources: sourceStrings(m.entry.Match), Listen: m.entry.Match.Listen,
		Default: m.entry.ID == f.router.Default(),
	}
}

// Control is instance id's control API (admin.Instances).
func (f *fleet) Control(id string) (http.Handler, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.byID[id]
	if !ok {
		return nil, false
	}
	return m.ctl, true
}

func sourceStrings(m config.Match) []string {
	ps, _ := m.Prefixes()
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Bits() == p.Addr().BitLen() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out
}
