package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
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

// fleet is the instances serve emulates: one instance.Instance and one
// imds.Server (its own tree, tokens, credentials and notices) each, behind
// an instance.Router that picks the instance by the client's source
// address. The single instance: form is a fleet of one serving everyone.
type fleet struct {
	members []*member // in config order
	byID    map[string]*member
	// primary is the default instance, else the first: the one the
	// control API's top-level paths, the identity key's certificate and
	// the ECS endpoint's other paths stand for.
	primary *member
	router  *instance.Router
	multi   bool // the instances: form
}

type member struct {
	entry config.InstanceEntry
	inst  *instance.Instance
	srv   *imds.Server
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
	f := &fleet{byID: map[string]*member{}, router: instance.NewRouter(), multi: len(s.Instances) > 0}
	for _, e := range entries {
		m := &member{entry: e}
		f.members = append(f.members, m)
		f.byID[e.ID] = m
	}
	f.primary = f.members[0]
	if m := f.byID[defaultID]; m != nil {
		f.primary = m
	}
	key, cert, err := instance.LoadOrCreateSigningKey(s.DataDir, f.primary.entry.Account, time.Now())
	if err != nil {
		return nil, err
	}
	for _, m := range f.members {
		field := "instance"
		if f.multi {
			field = "instances " + m.entry.ID
		}
		mx, err := ix.forInstance(m.entry.Instance)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		m.inst, err = instance.New(ctx, instance.Options{
			Metadata: mx.metadata(), Profile: m.entry.Profile,
			Store: d.store, STS: d.issuer, Scheduler: d.sched,
			SigningKey: key, SigningCertificate: cert,
		})
		if err != nil {
			return nil, fmt.Errorf("%s.profile: %w", field, err)
		}
		reg, logger := d.reg, d.log.With("component", "imds")
		if f.multi {
			// instance_id, not instance: Prometheus gives every target an
			// instance label. Ids are bounded by the config.
			reg = prometheus.WrapRegistererWith(prometheus.Labels{"instance_id": m.entry.ID}, d.reg)
			logger = logger.With("instance", m.entry.ID)
		}
		m.srv, err = imds.New(mx.options(imds.Options{
			Credentials:         m.inst,
			Instance:            m.inst.Metadata(),
			IdentityKey:         key,
			IdentityCertificate: cert,
			IdentityCredentials: m.inst.IdentityCredentials,
			Notices:             m.inst.Notices(),
			HTTPTokens:          imds.Mode(s.HTTPTokens),
			EndpointDisabled:    s.HTTPEndpoint == "disabled",
			TokenKey:            d.tokenKey,
			OnCredentialsServed: d.ctl.onServed,
			Logger:              logger,
			Registerer:          reg,
		}))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		prefixes, err := m.entry.Match.Prefixes()
		if err != nil {
			return nil, fmt.Errorf("%s.match: %w", field, err)
		}
		if err := f.router.Set(instance.Route{ID: m.entry.ID, Sources: prefixes, Handler: m.srv}); err != nil {
			return nil, err
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

// others are the instances but the primary.
func (f *fleet) others() []*instance.Instance {
	var out []*instance.Instance
	for _, m := range f.members {
		if m != f.primary {
			out = append(out, m.inst)
		}
	}
	return out
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
func (f *fleet) ecsHandler(token string) (http.Handler, error) {
	handlers := map[*member]http.Handler{}
	for _, m := range f.members {
		h, err := m.srv.ECSHandler(token)
		if err != nil {
			return nil, err
		}
		handlers[m] = h
	}
	byRole := func(role string) (http.Handler, bool) {
		for _, m := range f.members {
			if r := m.inst.Attachment().Role; r != "" && strings.EqualFold(r, role) {
				return handlers[m], true
			}
		}
		return nil, false
	}
	var fallback http.Handler
	if !f.multi || f.router.Default() != "" {
		fallback = handlers[f.primary]
	}
	return instance.ECSByRole(token, byRole, fallback), nil
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

// instances adapts the fleet to admin.Instances, each instance with its
// own control API.
type instancesControl struct {
	f    *fleet
	ctls map[string]http.Handler
}

func (c *controlPlane) instancesControl(f *fleet, revocations admin.Revocations) (admin.Instances, error) {
	ic := instancesControl{f: f, ctls: map[string]http.Handler{}}
	for _, m := range f.members {
		srv, err := c.adminServer(m.inst, m.srv, revocations, nil)
		if err != nil {
			return nil, err
		}
		ic.ctls[m.entry.ID] = srv
	}
	return ic, nil
}

func (ic instancesControl) Instances() []admin.InstanceInfo {
	out := make([]admin.InstanceInfo, 0, len(ic.f.members))
	for _, m := range ic.f.members {
		att := m.inst.Attachment()
		out = append(out, admin.InstanceInfo{
			ID: m.entry.ID, Account: m.entry.Account, Profile: att.Profile, Role: att.Role,
			Sources: sourceStrings(m.entry.Match), Listen: m.entry.Match.Listen,
			Default: m.entry.ID == ic.f.router.Default(),
		})
	}
	return out
}

func (ic instancesControl) Control(id string) (http.Handler, bool) {
	h, ok := ic.ctls[id]
	return h, ok
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
