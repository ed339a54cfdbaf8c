package instance

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
)

// Member is one instance of a Fleet with the handlers that serve it.
type Member struct {
	Instance *Instance
	// Metadata serves its metadata, ECS its container credentials (nil:
	// no ECS listener), Control its control API.
	Metadata     *imds.Server
	ECS, Control http.Handler
	// Profile is the instance profile it was started with, by name ("":
	// none): one instance per profile, since the scheduler keeps one
	// session per profile.
	Profile string
	// Sources are the client addresses and blocks it serves, as given;
	// Listen is its own metadata listener ("": none).
	Sources []string
	Listen  string

	// prefixes are Sources parsed, as given to the router, which keeps
	// them when they need no normalising (Fleet.mu guards them).
	prefixes []netip.Prefix
}

// FleetOptions configure a Fleet.
type FleetOptions struct {
	// Scheduler keeps the members' credentials.
	Scheduler interface{ Remove(key string) }
	// ParseSource parses one of Member.Sources: an address, or a CIDR
	// block, as a prefix.
	ParseSource func(string) (netip.Prefix, error)
	// Check and Build make the member of an instance added while serving
	// (AddInstance): Check holds the spec to the rules of the config file
	// (an admin.ErrInvalid error), Build makes the member, not yet routed
	// nor kept. Without them AddInstance fails.
	Check func(admin.InstanceSpec) error
	Build func(context.Context, admin.InstanceSpec) (*Member, error)
	// Control makes the control API of a member that has none, on its
	// first request (most members of a large fleet are never asked, and a
	// handler waiting to be made would be an object per member). Without
	// it a member's control API is its Control.
	Control func(*Member) (http.Handler, error)
	// Several is the instances: form of the config: each instance serves
	// the clients it matches, and with no default instance the others get
	// 404 (also at the ECS endpoint). Without it the one instance serves
	// everyone.
	Several bool
}

// Fleet is the instances one server emulates, behind a Router that sends
// each metadata request to one of them by the client's source address.
// The primary, the default instance or else the first, is the one the
// control API's top-level paths, the identity key's certificate and the
// ECS endpoint's other paths stand for, and it keeps the credentials of
// every profile in the store (so the control API can show them); the
// others keep their own, so that their sessions are named after them.
// Instances can be added, changed and removed while serving; the primary
// cannot be removed. A Fleet is safe for concurrent use.
type Fleet struct {
	opts    FleetOptions
	router  *Router
	primary *Member

	// keys are which members keep each scheduler key, for OnEvent.
	keys *keyIndex

	mu        sync.RWMutex // guards members, byID, byProfile and the members' prefixes and Control
	controlMu sync.Mutex   // makes one control API at a time (FleetOptions.Control)
	members   []*Member    // in config order, then as added
	byID      map[string]*Member
	byProfile map[profileKey]*Member // by the profile it was started with
}

// profileKey names an instance profile: its account and its name, in
// lower case (IAM names are unique regardless of case).
type profileKey struct{ account, name string }

func memberProfile(m *Member) profileKey {
	return profileKey{m.Instance.AccountID(), strings.ToLower(m.Profile)}
}

var (
	_ admin.Instances      = (*Fleet)(nil)
	_ admin.InstanceEditor = (*Fleet)(nil)
)

// NewFleet routes members (at least one) and has them keep their
// credentials: the others first, then the primary, the member whose id is
// defaultID or else the first. defaultID "" (the instances: form only)
// leaves clients no member matches without an instance.
func NewFleet(ctx context.Context, opts FleetOptions, members []*Member, defaultID string) (*Fleet, error) {
	if len(members) == 0 {
		return nil, errors.New("instance: a fleet needs an instance")
	}
	f := &Fleet{opts: opts, router: NewRouter(), primary: members[0], keys: newKeyIndex(),
		byID: map[string]*Member{}, byProfile: map[profileKey]*Member{}}
	for _, m := range members {
		if err := f.route(m); err != nil {
			return nil, err
		}
		f.add(m)
		if m.Instance.ID() == defaultID {
			f.primary = m
		}
	}
	if err := f.router.SetDefault(defaultID); err != nil {
		return nil, err
	}
	for _, m := range members {
		if m != f.primary {
			if err := m.Instance.Keep(ctx); err != nil {
				return nil, err
			}
		}
	}
	if err := f.primary.Instance.KeepAll(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// route has the router send m's sources to it. The caller holds mu for
// writing, or owns f alone.
func (f *Fleet) route(m *Member) error {
	ps := make([]netip.Prefix, 0, len(m.Sources))
	for _, s := range m.Sources {
		p, err := f.opts.ParseSource(s)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	if err := f.router.Set(Route{ID: m.Instance.ID(), Sources: ps, Handler: m.Metadata}); err != nil {
		return err
	}
	m.prefixes = ps
	return nil
}

// add makes m a member, routed already. The caller holds mu for writing,
// or owns f alone.
func (f *Fleet) add(m *Member) {
	f.members = append(f.members, m)
	f.byID[m.Instance.ID()] = m
	if m.Profile != "" {
		f.byProfile[memberProfile(m)] = m
	}
	f.keys.join(m.Instance)
}

// Primary is the default instance, else the first.
func (f *Fleet) Primary() *Member { return f.primary }

// Members are the members, in config order, then as added.
func (f *Fleet) Members() []*Member {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]*Member(nil), f.members...)
}

// Default is the id of the instance serving the clients no other one
// matches, "" for none.
func (f *Fleet) Default() string { return f.router.Default() }

// Handler routes metadata requests to the members: what the shared
// metadata listeners serve.
func (f *Fleet) Handler() http.Handler { return f.router }

// ConnContext is the router's (Router.ConnContext): give it to the
// listeners serving Handler, after imds.Server.ConnContext.
func (f *Fleet) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return f.router.ConnContext(ctx, c)
}

// InstanceFor is the id of the instance that serves a client at addr.
func (f *Fleet) InstanceFor(addr netip.Addr) (id string, ok bool) {
	id, _, ok = f.router.Lookup(addr)
	return id, ok
}

// OnEvent passes a scheduler event to the members keeping its key, and
// to no other: the instance whose profile or identity role it is, and the
// primary for a profile it keeps. It returns the ARN of the role whose
// credentials the key holds ("" for an identity role's). It does not
// block; call it from refresher.Options.OnEvent.
func (f *Fleet) OnEvent(ev refresher.Event) (role string) { return f.keys.event(ev) }

// ProfileChanged tells the member started with instance profile
// profileARN, if any, that another writer (the IAM API) changed its role.
func (f *Fleet) ProfileChanged(ctx context.Context, profileARN, role string) error {
	account, name, err := splitProfileARN(profileARN)
	if err != nil {
		return err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if m, ok := f.byProfile[profileKey{account, strings.ToLower(name)}]; ok {
		return m.Instance.ProfileChanged(ctx, profileARN, role)
	}
	return nil
}

// Ready is closed once every member is ready, or ctx ends.
func (f *Fleet) Ready(ctx context.Context) <-chan struct{} {
	members := f.Members()
	if len(members) == 1 {
		return members[0].Instance.Ready()
	}
	done := make(chan struct{})
	go func() { // ends when every instance is ready or ctx ends
		defer close(done)
		for _, m := range members {
			if m.Instance.isReady() {
				continue // asking for Ready would make its channel
			}
			select {
			case <-m.Instance.Ready():
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// ECSHandler routes the ECS endpoint, whose token is token: /role/NAME to
// the member holding role NAME, other paths to the primary (to nobody in
// the instances: form without a default instance).
func (f *Fleet) ECSHandler(token string) http.Handler {
	byRole := func(role string) (http.Handler, bool) {
		f.mu.RLock()
		defer f.mu.RUnlock()
		for _, m := range f.members {
			if r := m.Instance.Attachment().Role; r != "" && strings.EqualFold(r, role) && m.ECS != nil {
				return m.ECS, true
			}
		}
		return nil, false
	}
	var fallback http.Handler
	if !f.opts.Several || f.router.Default() != "" {
		fallback = f.primary.ECS
	}
	return ECSByRole(token, byRole, fallback)
}

// Instances lists the members for the control API.
func (f *Fleet) Instances() []admin.InstanceInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]admin.InstanceInfo, 0, len(f.members))
	for _, m := range f.members {
		out = append(out, f.info(m))
	}
	return out
}

// info is m for the control API. The caller holds mu.
func (f *Fleet) info(m *Member) admin.InstanceInfo {
	att := m.Instance.Attachment()
	var sources []string
	for _, p := range m.prefixes {
		if p.Bits() == p.Addr().BitLen() {
			sources = append(sources, p.Addr().String())
		} else {
			sources = append(sources, p.String())
		}
	}
	return admin.InstanceInfo{
		ID: m.Instance.ID(), Account: m.Instance.AccountID(), Profile: att.Profile, Role: att.Role,
		Sources: sources, Listen: m.Listen, Default: m.Instance.ID() == f.router.Default(),
	}
}

// Control is the control API of instance id, made by
// FleetOptions.Control on the first request if the member has none. A
// control API that cannot be made answers 500 with the reason, and is
// tried again on the next request.
func (f *Fleet) Control(id string) (http.Handler, bool) {
	m, h, ok := f.control(id)
	if !ok || h != nil || f.opts.Control == nil {
		return h, ok
	}
	f.controlMu.Lock()
	defer f.controlMu.Unlock()
	if _, h, _ = f.control(id); h != nil {
		return h, true
	}
	h, err := f.opts.Control(m)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "control API: "+err.Error(), http.StatusInternalServerError)
		}), true
	}
	f.mu.Lock()
	m.Control = h
	f.mu.Unlock()
	return h, true
}

// control is member id and its control API as it stands.
func (f *Fleet) control(id string) (*Member, http.Handler, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.byID[id]
	if !ok {
		return nil, nil, false
	}
	return m, m.Control, true
}

// AddInstance adds an instance while serving, routed by its sources, its
// credentials minted as it. Account "" is the primary's.
func (f *Fleet) AddInstance(ctx context.Context, spec admin.InstanceSpec) (admin.InstanceInfo, error) {
	if f.opts.Check == nil || f.opts.Build == nil {
		return admin.InstanceInfo{}, errors.New("instance: this fleet cannot add instances")
	}
	if spec.Account == "" {
		spec.Account = f.primary.Instance.AccountID()
	}
	if err := f.opts.Check(spec); err != nil {
		return admin.InstanceInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.byID[spec.ID]; dup {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "there is an instance %s already", spec.ID)
	}
	if m, dup := f.byProfile[profileKey{spec.Account, strings.ToLower(spec.Profile)}]; spec.Profile != "" && dup {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "instance profile %s is attached to %s; give each instance its own (imdsemu keeps one session per profile)", spec.Profile, m.Instance.ID())
	}
	m, err := f.opts.Build(ctx, spec)
	if errors.Is(err, rolestore.ErrNotFound) {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance profile %q in account %s", spec.Profile, spec.Account)
	}
	if err != nil {
		return admin.InstanceInfo{}, err
	}
	if err := f.route(m); err != nil {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%v", err)
	}
	// The primary keeps every profile's credentials, minted as itself;
	// this one's are minted as the new instance from now on.
	if arn := m.Instance.Attachment().Profile; arn != "" {
		f.opts.Scheduler.Remove(arn)
	}
	f.keys.join(m.Instance)
	if err := m.Instance.Keep(ctx); err != nil {
		f.router.Remove(spec.ID)
		m.prefixes = nil
		f.keys.forget(m.Instance)
		f.opts.Scheduler.Remove(m.Instance.IdentityRoleKey())
		return admin.InstanceInfo{}, errors.Join(err, f.primary.Instance.KeepAll(ctx))
	}
	f.add(m)
	return f.info(m), nil
}

// SetSources changes the source addresses instance id serves.
func (f *Fleet) SetSources(id string, sources []string) (admin.InstanceInfo, error) {
	for _, s := range sources {
		if _, err := f.opts.ParseSource(s); err != nil {
			return admin.InstanceInfo{}, admin.Errorf(admin.ErrInvalid, "sources: %v", err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.byID[id]
	if !ok {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance %q", id)
	}
	if len(sources) == 0 && m.Listen == "" && id != f.router.Default() {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrInvalid, "sources: instance %s would serve nobody; remove it instead", id)
	}
	old := m.Sources
	m.Sources = sources
	if err := f.route(m); err != nil {
		m.Sources = old
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%v", err)
	}
	return f.info(m), nil
}

// RemoveInstance removes instance id: its clients get the default
// instance or 404 at once, and its credentials are no longer minted as
// it (the primary keeps its profile's, as it keeps every profile's).
func (f *Fleet) RemoveInstance(ctx context.Context, id string) (admin.InstanceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.byID[id]
	switch {
	case !ok:
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance %q", id)
	case m == f.primary:
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%s is the default (or first) instance, which the control API's top-level paths stand for; it cannot be removed", id)
	}
	info := f.info(m)
	f.router.Remove(id)
	f.opts.Scheduler.Remove(m.Instance.IdentityRoleKey())
	if arn := m.Instance.Attachment().Profile; arn != "" {
		f.opts.Scheduler.Remove(arn)
	}
	f.keys.forget(m.Instance)
	delete(f.byID, id)
	if f.byProfile[memberProfile(m)] == m {
		delete(f.byProfile, memberProfile(m))
	}
	m.prefixes = nil
	for i, o := range f.members {
		if o == m {
			f.members = append(f.members[:i:i], f.members[i+1:]...)
			break
		}
	}
	info.Default = false
	return info, f.primary.Instance.KeepAll(ctx)
}
