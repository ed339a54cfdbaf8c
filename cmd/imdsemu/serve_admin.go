package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
)

// adminTokenFile holds the control API's bearer token in the data directory.
const adminTokenFile = "admin.token"

// adminFlags are serve's flags for fault injection.
type adminFlags struct {
	startScenario string
}

func addAdminFlags(fl *pflag.FlagSet, f *adminFlags) {
	fl.StringVar(&f.startScenario, "start-scenario", "", "start this fault scenario (defined under scenarios: in the config file) at once (env IMDSEMU_START_SCENARIO)")
}

func applyAdminFlags(fl *pflag.FlagSet, f *adminFlags, s *config.Settings) {
	if fl.Changed("start-scenario") {
		s.StartScenario = f.startScenario
	}
}

// controlPlane is what serve builds for fault injection and the control
// API: the fault injector around the metadata server, the event hub and
// generation tracker fed by the refresher and the metadata server, and the
// admin handler.
type controlPlane struct {
	s            config.Settings
	log          *slog.Logger
	hub          *admin.Hub
	tracker      *admin.Tracker
	faults       *fault.Injector
	token        string
	tokenCreated bool

	// attachment is the instance's profile and role, as imds serves it;
	// the control API swaps it.
	attachment atomic.Pointer[imds.Attachment]

	sched atomic.Pointer[refresher.Scheduler]

	mu    sync.Mutex
	roles map[string]string // profile ARN -> role ARN, for the tracker
}

func newControlPlane(s config.Settings, log *slog.Logger, reg prometheus.Registerer) (*controlPlane, error) {
	token, created, err := admin.LoadOrCreateToken(filepath.Join(s.DataDir, adminTokenFile), nil)
	if err != nil {
		return nil, err
	}
	c := &controlPlane{
		s: s, log: log, token: token, tokenCreated: created,
		hub:     admin.NewHub(0, nil),
		tracker: admin.NewTracker(admin.TrackerOptions{}),
		roles:   map[string]string{},
	}
	c.faults, err = fault.New(fault.Options{
		Scenarios:  s.Scenarios,
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

// setAttachment sets what the instance's profile holds at start.
func (c *controlPlane) setAttachment(a imds.Attachment) { c.attachment.Store(&a) }

// currentAttachment is the attachment imds serves.
func (c *controlPlane) currentAttachment() imds.Attachment { return *c.attachment.Load() }

// setScheduler gives the control plane the scheduler, and records the role
// of every profile it keeps. Call it before the scheduler runs.
func (c *controlPlane) setScheduler(ctx context.Context, sched *refresher.Scheduler, store rolestore.Store, profiles []rolestore.InstanceProfile) error {
	c.sched.Store(sched)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range profiles {
		if len(p.Roles) == 0 {
			continue
		}
		r, err := store.Role(ctx, p.AccountID, p.Roles[0])
		if err != nil {
			return err
		}
		c.roles[p.ARN()] = r.ARN()
	}
	return nil
}

// onRefresherEvent feeds a refresher event to the tracker and the hub. It
// runs on the scheduler's goroutine and does not block.
func (c *controlPlane) onRefresherEvent(ev refresher.Event) {
	e := admin.Event{Type: string(ev.Kind), At: ev.At, Profile: ev.Profile, Seq: ev.Seq, AccessKeyID: ev.AccessKeyID}
	c.mu.Lock()
	e.Role = c.roles[ev.Profile]
	c.mu.Unlock()
	if ev.Err != nil {
		e.Error = ev.Err.Error()
	}
	if ev.Kind == refresher.EventIssued {
		if sched := c.sched.Load(); sched != nil {
			if g := sched.Current(ev.Profile); g != nil && g.Seq == ev.Seq {
				exp := g.Credentials.Expires
				e.Expires = &exp
			}
		}
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

func clientIP(remote string) string {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	return remote
}

// metadataOptions adds the served-credentials hook to the metadata
// server's options, keeping one already set.
func (c *controlPlane) metadataOptions(o imds.Options) imds.Options {
	prev := o.OnCredentialsServed
	o.OnCredentialsServed = func(ev imds.ServedEvent) {
		if prev != nil {
			prev(ev)
		}
		c.onServed(ev)
	}
	return o
}

// metadataHandler wraps the metadata server: faults outside, the IMDSv1
// counter inside (so requests a fault answers are not counted).
func (c *controlPlane) metadataHandler(h http.Handler, reg prometheus.Registerer) (http.Handler, error) {
	counted, err := fault.NewNoTokenCounter(h, reg, 0)
	if err != nil {
		return nil, err
	}
	return c.faults.Handler(counted), nil
}

// metadataListener wraps the metadata listener for outages.
func (c *controlPlane) metadataListener(ln net.Listener) net.Listener { return c.faults.Listener(ln) }

// adminHandler is the admin listener's handler: the control API, with
// open (the /metrics and /healthz router) answering those two paths.
func (c *controlPlane) adminHandler(open http.Handler, metadata *imds.Server, store rolestore.Store) (http.Handler, error) {
	sched := c.sched.Load()
	if sched == nil {
		return nil, errors.New("control plane: scheduler not set")
	}
	return admin.New(admin.Options{
		Token:       c.token,
		Metadata:    metadataControl{metadata},
		Faults:      c.faults,
		Profiles:    &profileControl{c: c, store: store, sched: sched},
		Attacher:    &attachControl{c: c, store: store, sched: sched},
		Tracker:     c.tracker,
		Hub:         c.hub,
		Revocations: store,
		Metrics:     open,
		Health:      open,
		Logger:      c.log.With("component", "admin"),
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
		fmt.Fprintf(w, "admin token: %s  (saved in %s)\n", c.token, filepath.Join(c.s.DataDir, adminTokenFile))
	}
	if name := c.s.StartScenario; name != "" {
		fmt.Fprintf(w, "imdsemu: fault scenario %s started\n", name)
	}
}

// metadataControl adapts imds.Server to admin.Metadata.
type metadataControl struct{ srv *imds.Server }

func (m metadataControl) MetadataOptions() admin.MetadataOptions {
	o := m.srv.Options()
	endpoint := config.HTTPEndpointEnabled
	if o.EndpointDisabled {
		endpoint = config.HTTPEndpointDisabled
	}
	return admin.MetadataOptions{
		HTTPTokens: string(o.HTTPTokens), HTTPEndpoint: endpoint, HopLimit: o.HopLimit,
		ExtendedCredentials: o.ExtendedCredentials, InstanceMetadataTags: o.InstanceMetadataTags,
		Throttle: admin.Throttle{RPS: o.Throttle.RPS, Burst: o.Throttle.Burst},
	}
}

// SetMetadataOptions applies validated options; only the throttle is
// applied only when it changed, since setting it refills every bucket.
func (m metadataControl) SetMetadataOptions(n admin.MetadataOptions) error {
	cur := m.MetadataOptions()
	if err := m.srv.SetHTTPTokens(imds.Mode(n.HTTPTokens)); err != nil {
		return admin.Errorf(admin.ErrInvalid, "%v", err)
	}
	if err := m.srv.SetHopLimit(n.HopLimit); err != nil {
		return admin.Errorf(admin.ErrInvalid, "%v", err)
	}
	m.srv.SetEndpointDisabled(n.HTTPEndpoint == config.HTTPEndpointDisabled)
	m.srv.SetExtendedCredentials(n.ExtendedCredentials)
	m.srv.SetInstanceMetadataTags(n.InstanceMetadataTags)
	if n.Throttle != cur.Throttle {
		m.srv.SetThrottle(n.Throttle.RPS, n.Throttle.Burst)
	}
	return nil
}

// profileControl adapts the store and the scheduler to admin.Profiles.
type profileControl struct {
	c     *controlPlane
	store rolestore.Store
	sched *refresher.Scheduler
}

func (p *profileControl) Profiles(ctx context.Context) ([]admin.Profile, error) {
	ps, err := p.store.InstanceProfiles(ctx, "")
	if err != nil {
		return nil, err
	}
	inst := p.c.currentAttachment().ProfileARN
	out := make([]admin.Profile, 0, len(ps))
	for _, ip := range ps {
		arn := ip.ARN()
		ap := admin.Profile{ARN: arn, Name: ip.Name, Account: ip.AccountID, Instance: arn == inst, Frozen: p.sched.Frozen(arn)}
		if len(ip.Roles) > 0 {
			ap.Role = ip.Roles[0]
		}
		if g := p.sched.Current(arn); g != nil {
			ap.Generation = g.Seq
			exp := g.Credentials.Expires
			ap.Expires = &exp
		}
		out = append(out, ap)
	}
	return out, nil
}

func (p *profileControl) RotateNow(arn string) error {
	return schedulerErr(arn, p.sched.RotateNow(arn))
}

func (p *profileControl) Freeze(arn string, frozen bool) error {
	return schedulerErr(arn, p.sched.Freeze(arn, frozen))
}

func schedulerErr(arn string, err error) error {
	switch {
	case errors.Is(err, refresher.ErrUnknownProfile):
		return admin.Errorf(admin.ErrConflict, "instance profile %s has no role, so imdsemu keeps no credentials for it; attach one first", arn)
	case errors.Is(err, refresher.ErrFrozen):
		return admin.Errorf(admin.ErrConflict, "rotation of %s is frozen; unfreeze it first", arn)
	}
	return err
}

// attachControl adapts the store, the scheduler and the served attachment
// to admin.Attacher.
type attachControl struct {
	c     *controlPlane
	store rolestore.Store
	sched *refresher.Scheduler
	mu    sync.Mutex // serialises attach and detach
}

func (a *attachControl) Attachment() admin.Attachment {
	cur := a.c.currentAttachment()
	return admin.Attachment{Profile: cur.ProfileARN, Role: cur.Role}
}

// instanceProfile reads the instance's profile from the store.
func (a *attachControl) instanceProfile(ctx context.Context) (rolestore.InstanceProfile, error) {
	cur := a.c.currentAttachment()
	if cur.ProfileARN == "" {
		return rolestore.InstanceProfile{}, admin.Errorf(admin.ErrConflict, "the instance has no instance profile (set instance.profile in the config file)")
	}
	account, name, err := splitProfileARN(cur.ProfileARN)
	if err != nil {
		return rolestore.InstanceProfile{}, err
	}
	return a.store.InstanceProfile(ctx, account, name)
}

// Attach puts role in the instance's profile: the store first (so that a
// failure changes nothing), then the credentials start over for the new
// role. Until its first generation is minted, the credential paths answer
// 404, as on EC2 right after an association changes.
func (a *attachControl) Attach(ctx context.Context, role string) (admin.Attachment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	prof, err := a.instanceProfile(ctx)
	if err != nil {
		return admin.Attachment{}, err
	}
	r, err := a.store.Role(ctx, prof.AccountID, role)
	if errors.Is(err, rolestore.ErrNotFound) {
		return admin.Attachment{}, admin.Errorf(admin.ErrNotFound, "no role %q in account %s", role, prof.AccountID)
	}
	if err != nil {
		return admin.Attachment{}, err
	}
	cur := a.c.currentAttachment()
	if cur.Role == r.Name {
		return a.Attachment(), nil
	}
	prof.Roles = []string{r.Name}
	if _, err := a.store.PutInstanceProfile(ctx, prof); err != nil {
		var ve *rolestore.ValidationError
		if errors.As(err, &ve) {
			return admin.Attachment{}, admin.Errorf(admin.ErrInvalid, "%v", err)
		}
		return admin.Attachment{}, err
	}
	arn := prof.ARN()
	a.sched.Remove(arn)
	a.c.mu.Lock()
	a.c.roles[arn] = r.ARN()
	a.c.mu.Unlock()
	next := cur
	next.Role = r.Name
	a.c.attachment.Store(&next)
	a.sched.Add(arn)
	return a.Attachment(), nil
}

// Detach empties the instance's profile; the credential paths answer 404.
func (a *attachControl) Detach(ctx context.Context) (admin.Attachment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.c.currentAttachment()
	if cur.Role == "" {
		return a.Attachment(), nil
	}
	prof, err := a.instanceProfile(ctx)
	if err != nil {
		return admin.Attachment{}, err
	}
	prof.Roles = nil
	if _, err := a.store.PutInstanceProfile(ctx, prof); err != nil {
		return admin.Attachment{}, err
	}
	next := cur
	next.Role = ""
	a.c.attachment.Store(&next)
	arn := prof.ARN()
	a.sched.Remove(arn)
	a.c.mu.Lock()
	delete(a.c.roles, arn)
	a.c.mu.Unlock()
	return a.Attachment(), nil
}

// adminLine is the line serve prints about the admin listener.
func adminLine(addr net.Addr) string {
	return fmt.Sprintf("imdsemu: admin on http://%s (/metrics, /healthz, control API under /v1/)", addr)
}
