package instance

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

const (
	acct      = "123456789012"
	webARN    = "arn:aws:iam::123456789012:instance-profile/web"
	batchARN  = "arn:aws:iam::123456789012:instance-profile/batch"
	lambdaTP  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	firstID   = "i-0123456789abcdef0"
	secondID  = "i-0fedcba9876543210"
	lifetime  = 6 * time.Hour
	sealBytes = "0123456789abcdef0123456789abcdef"
)

// syncScheduler mints at once, on Add and RotateNow, so that tests need no
// goroutine: it implements Scheduler as refresher.Scheduler does, less the
// timing.
type syncScheduler struct {
	t       *testing.T
	mu      sync.Mutex
	issuers map[string]refresher.Issuer
	cur     map[string]*refresher.Generation
	frozen  map[string]bool
	events  []refresher.Event
	onEvent func(refresher.Event)
}

func newSyncScheduler(t *testing.T) *syncScheduler {
	return &syncScheduler{t: t, issuers: map[string]refresher.Issuer{}, cur: map[string]*refresher.Generation{}, frozen: map[string]bool{}}
}

func (s *syncScheduler) Add(key string, iss refresher.Issuer) {
	s.mu.Lock()
	if _, ok := s.issuers[key]; ok {
		s.mu.Unlock()
		return
	}
	s.issuers[key] = iss
	s.mu.Unlock()
	s.mint(key)
}

func (s *syncScheduler) mint(key string) {
	s.mu.Lock()
	iss := s.issuers[key]
	s.mu.Unlock()
	c, err := iss.Issue(context.Background(), key, lifetime)
	ev := refresher.Event{Kind: refresher.EventIssued, Key: key}
	s.mu.Lock()
	if err != nil {
		ev.Kind, ev.Err = refresher.EventMintFailed, err
	} else {
		g := &refresher.Generation{Seq: 1, Credentials: c}
		if prev := s.cur[key]; prev != nil {
			g.Seq = prev.Seq + 1
		}
		s.cur[key], ev.Seq = g, g.Seq
	}
	s.events = append(s.events, ev)
	on := s.onEvent
	s.mu.Unlock()
	if on != nil {
		on(ev)
	}
}

func (s *syncScheduler) Ensure(_ context.Context, key string, iss refresher.Issuer) (*refresher.Generation, error) {
	s.Add(key, iss)
	if g := s.Current(key); g != nil {
		return g, nil
	}
	return nil, refresher.ErrNoGeneration
}

func (s *syncScheduler) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.issuers, key)
	delete(s.cur, key)
}

func (s *syncScheduler) Current(key string) *refresher.Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur[key]
}

func (s *syncScheduler) RotateNow(key string) error {
	s.mu.Lock()
	_, ok := s.issuers[key]
	frozen := s.frozen[key]
	s.mu.Unlock()
	switch {
	case !ok:
		return refresher.ErrUnknownKey
	case frozen:
		return refresher.ErrFrozen
	}
	s.mint(key)
	return nil
}

func (s *syncScheduler) Freeze(key string, frozen bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.issuers[key]; !ok {
		return refresher.ErrUnknownKey
	}
	s.frozen[key] = frozen
	return nil
}

func (s *syncScheduler) Frozen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frozen[key]
}

var _ Scheduler = (*refresher.Scheduler)(nil)

// fixture is a store with two EC2-trusted roles (web, batch), a role only
// Lambda may assume, and the profiles web (role web) and batch (no role).
type fixture struct {
	store  *rolestore.SQLite
	issuer *sts.Issuer
	sched  *syncScheduler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := rolestore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Apply(t.Context(), rolestore.Seed{
		Accounts: []rolestore.Account{{ID: acct}},
		Roles: []rolestore.Role{
			{AccountID: acct, Name: "web", TrustPolicy: ec2Trust},
			{AccountID: acct, Name: "batch", TrustPolicy: ec2Trust},
			{AccountID: acct, Name: "lambda", TrustPolicy: lambdaTP},
		},
		InstanceProfiles: []rolestore.InstanceProfile{
			{AccountID: acct, Name: "web", Roles: []string{"web"}},
			{AccountID: acct, Name: "batch"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := sts.NewIssuer(sts.IssuerOptions{Key: []byte(sealBytes)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, issuer: issuer, sched: newSyncScheduler(t)}
}

func (f *fixture) instance(t *testing.T, id, profile string) *Instance {
	t.Helper()
	in, err := New(t.Context(), Options{
		Metadata: imds.Instance{ID: id, AccountID: acct},
		Profile:  profile,
		Store:    f.store, STS: f.issuer, Scheduler: f.sched,
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// session opens the token of c with the fixture's issuer.
func (f *fixture) session(t *testing.T, c credential.Value) sts.Session {
	t.Helper()
	s, err := f.issuer.Open(c.SessionToken)
	if err != nil {
		t.Fatalf("served token does not open: %v", err)
	}
	if s.AccessKeyID != c.AccessKeyID || s.SecretAccessKey != c.SecretAccessKey || !s.Expires.Equal(c.Expires) || !s.IssuedAt.Equal(c.Issued) {
		t.Errorf("served credentials do not match their session")
	}
	return s
}

func isReady(in *Instance) bool {
	select {
	case <-in.Ready():
		return true
	default:
		return false
	}
}

func TestInstance_Credentials(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "web")
	f.sched.onEvent = in.OnEvent
	if _, ok := in.Current(); ok || isReady(in) {
		t.Fatal("credentials before Keep")
	}
	if err := in.Keep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !isReady(in) {
		t.Error("not ready after the first generation")
	}
	a, ok := in.Current()
	if !ok || a.ProfileARN != webARN || a.Role != "web" || a.ProfileID == "" {
		t.Fatalf("Current = %+v, %t", a, ok)
	}
	s := f.session(t, a.Credentials)
	if s.PrincipalARN != "arn:aws:sts::123456789012:assumed-role/web/"+firstID || s.SessionName != firstID || s.Action != sts.ActionInstanceProfile {
		t.Errorf("profile session = %v", s)
	}
	if got := in.RoleARN(webARN); got != "arn:aws:iam::123456789012:role/web" {
		t.Errorf("RoleARN(web) = %q", got)
	}

	// The identity role is an entry of its own, under its session ARN,
	// minted when first asked for.
	key := in.IdentityRoleKey()
	if key != "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/"+firstID {
		t.Errorf("IdentityRoleKey = %q", key)
	}
	if f.sched.Current(key) != nil {
		t.Error("Keep minted the identity role credentials; want them minted on first use")
	}
	ic, ok := in.IdentityCredentials(t.Context())
	if !ok {
		t.Fatal("no identity role credentials")
	}
	if g := f.sched.Current(key); g == nil || g.Credentials != ic {
		t.Errorf("scheduler keeps %+v after the first use, want the credentials returned", g)
	}
	if again, ok := in.IdentityCredentials(t.Context()); !ok || again != ic {
		t.Error("second IdentityCredentials minted again")
	}
	if s := f.session(t, ic); s.PrincipalARN != key || s.RoleARN != "" || s.SessionName != firstID {
		t.Errorf("identity session = %v", s)
	}
	if in.RoleARN(key) != "" {
		t.Errorf("RoleARN(identity) = %q, want none", in.RoleARN(key))
	}
	// Keep keeps only the instance's own profile.
	if _, err := f.store.PutInstanceProfile(t.Context(), rolestore.InstanceProfile{AccountID: acct, Name: "batch", Roles: []string{"batch"}}); err != nil {
		t.Fatal(err)
	}
	if f.sched.Current(batchARN) != nil {
		t.Error("Keep keeps batch, which is not the instance's profile")
	}
}

// KeepAll also keeps every other profile that has a role, as this instance.
func TestInstance_KeepAll(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store.PutInstanceProfile(t.Context(), rolestore.InstanceProfile{AccountID: acct, Name: "other", Roles: []string{"batch"}}); err != nil {
		t.Fatal(err)
	}
	in := f.instance(t, firstID, "web")
	if err := in.KeepAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	const otherARN = "arn:aws:iam::123456789012:instance-profile/other"
	if len(f.sched.issuers) != 2 || f.sched.Current(batchARN) != nil {
		t.Errorf("scheduler keeps %d entries; want web and other, not batch (no role) nor the identity role (minted on first use)", len(f.sched.issuers))
	}
	g := f.sched.Current(otherARN)
	if g == nil {
		t.Fatal("other is not kept")
	}
	s, err := f.issuer.Open(g.Credentials.SessionToken)
	if err != nil || s.PrincipalARN != "arn:aws:sts::123456789012:assumed-role/batch/"+firstID {
		t.Errorf("other's session = %v, %v", s, err)
	}
	if got := in.RoleARN(otherARN); got != "arn:aws:iam::123456789012:role/batch" {
		t.Errorf("RoleARN(other) = %q", got)
	}
}

func TestInstance_TrustDenied(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store.PutInstanceProfile(t.Context(), rolestore.InstanceProfile{AccountID: acct, Name: "web", Roles: []string{"lambda"}}); err != nil {
		t.Fatal(err)
	}
	in := f.instance(t, firstID, "web")
	f.sched.onEvent = in.OnEvent
	if err := in.Keep(t.Context()); err != nil {
		t.Fatal(err)
	}
	var te *TrustError
	if len(f.sched.events) == 0 || !errors.As(f.sched.events[0].Err, &te) {
		t.Fatalf("events %+v: want a mint refused by trust", f.sched.events)
	}
	if !isReady(in) {
		t.Error("not ready after the trust decision")
	}
	a, ok := in.Current()
	if !ok || a.Role != "lambda" || a.Error == nil || a.Error.Code != "AssumeRoleUnauthorizedAccess" {
		t.Errorf("Current = %+v, %t; want EC2's error document", a, ok)
	}

	// Attaching a role that trusts EC2 serves credentials again.
	if _, err := in.Attach(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	if a, ok := in.Current(); !ok || a.Error != nil || a.Credentials.AccessKeyID == "" {
		t.Errorf("after attaching web: Current = %+v, %t", a, ok)
	}
}

func TestInstance_AttachDetach(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "web")
	if err := in.Keep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Attach(t.Context(), "nope"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("Attach(nope) = %v, want ErrNotFound", err)
	}
	got, err := in.Attach(t.Context(), "BATCH") // names ignore case
	if err != nil || got != (admin.Attachment{Profile: webARN, Role: "batch"}) {
		t.Fatalf("Attach(batch) = %+v, %v", got, err)
	}
	if p, _ := f.store.InstanceProfile(t.Context(), acct, "web"); len(p.Roles) != 1 || p.Roles[0] != "batch" {
		t.Errorf("stored profile roles = %q", p.Roles)
	}
	if a, ok := in.Current(); !ok || a.Role != "batch" || f.session(t, a.Credentials).RoleARN != "arn:aws:iam::123456789012:role/batch" {
		t.Errorf("Current after attach = %+v, %t", a, ok)
	}
	if got := in.RoleARN(webARN); got != "arn:aws:iam::123456789012:role/batch" {
		t.Errorf("RoleARN(web) after attach = %q", got)
	}
	if again, err := in.Attach(t.Context(), "batch"); err != nil || again.Role != "batch" {
		t.Errorf("attaching the attached role: %+v, %v", again, err)
	}

	got, err = in.Detach(t.Context())
	if err != nil || got != (admin.Attachment{Profile: webARN}) || in.Attachment() != got {
		t.Fatalf("Detach = %+v, %v", got, err)
	}
	if _, ok := in.Current(); ok {
		t.Error("credentials served after detach")
	}
	if p, _ := f.store.InstanceProfile(t.Context(), acct, "web"); len(p.Roles) != 0 {
		t.Errorf("stored profile roles after detach = %q", p.Roles)
	}
	if in.RoleARN(webARN) != "" || f.sched.Current(webARN) != nil {
		t.Error("the scheduler still keeps the detached profile")
	}
	if _, err := in.Detach(t.Context()); err != nil {
		t.Errorf("second Detach = %v", err)
	}
}

func TestInstance_NoProfile(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "")
	if !isReady(in) {
		t.Error("an instance with no profile is not ready")
	}
	if _, ok := in.Current(); ok {
		t.Error("credentials with no profile")
	}
	if _, err := in.Attach(t.Context(), "web"); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("Attach with no profile = %v, want ErrConflict", err)
	}
	if _, err := New(t.Context(), Options{Metadata: imds.Instance{ID: firstID, AccountID: acct}, Profile: "missing", Store: f.store, STS: f.issuer, Scheduler: f.sched}); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("New with a missing profile = %v, want ErrNotFound", err)
	}
}

func TestInstance_Profiles(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "web")
	if err := in.KeepAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	ps, err := in.Profiles(t.Context())
	if err != nil || len(ps) != 2 {
		t.Fatalf("Profiles = %+v, %v", ps, err)
	}
	batch, web := ps[0], ps[1]
	if batch.ARN != batchARN || batch.Instance || batch.Role != "" || batch.Expires != nil {
		t.Errorf("batch = %+v", batch)
	}
	if web.ARN != webARN || !web.Instance || web.Role != "web" || web.Generation != 1 || web.Expires == nil {
		t.Errorf("web = %+v", web)
	}
	if err := in.RotateNow(webARN); err != nil || f.sched.Current(webARN).Seq != 2 {
		t.Errorf("RotateNow(web) = %v", err)
	}
	if err := in.RotateNow(batchARN); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("RotateNow(batch, no role) = %v, want ErrConflict", err)
	}
	if err := in.Freeze(webARN, true); err != nil {
		t.Fatal(err)
	}
	if err := in.RotateNow(webARN); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("RotateNow(frozen) = %v, want ErrConflict", err)
	}
	if ps, _ := in.Profiles(t.Context()); !ps[1].Frozen {
		t.Error("web not listed as frozen")
	}
}

// Two instances in one process share the store, STS and the scheduler but
// nothing else: each has its own identity role entry, its own attachment
// and its own trust decisions.
func TestInstance_Many(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store.PutInstanceProfile(t.Context(), rolestore.InstanceProfile{AccountID: acct, Name: "batch", Roles: []string{"lambda"}}); err != nil {
		t.Fatal(err)
	}
	one := f.instance(t, firstID, "web")
	two := f.instance(t, secondID, "batch")
	for _, in := range []*Instance{one, two} {
		if err := in.Keep(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if one.IdentityRoleKey() == two.IdentityRoleKey() {
		t.Fatal("two instances share an identity role entry")
	}
	for _, in := range []*Instance{one, two} {
		c, ok := in.IdentityCredentials(t.Context())
		if !ok || f.session(t, c).SessionName != in.ID() {
			t.Errorf("%s: identity credentials not its own", in.ID())
		}
	}
	// one trusts its role; two's refuses EC2, which one does not see.
	if a, ok := one.Current(); !ok || a.Role != "web" || a.Error != nil {
		t.Errorf("one: Current = %+v, %t", a, ok)
	}
	if a, ok := two.Current(); !ok || a.Role != "lambda" || a.Error == nil || a.Error.Code != "AssumeRoleUnauthorizedAccess" {
		t.Errorf("two: Current = %+v, %t; want the error document", a, ok)
	}
	if _, ok := one.trust.attachment(&attached{ProfileARN: batchARN, Role: "lambda"}); ok {
		t.Error("two's trust decision leaked into one")
	}
}

func TestNew_Rejects(t *testing.T) {
	f := newFixture(t)
	key, cert, err := LoadOrCreateSigningKey(t.TempDir(), acct, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok := Options{Metadata: imds.Instance{ID: firstID, AccountID: acct}, Store: f.store, STS: f.issuer, Scheduler: f.sched, SigningKey: key, SigningCertificate: cert}
	if in, err := New(t.Context(), ok); err != nil || in.SigningKey() != key || in.SigningCertificate() != cert || in.ID() != firstID || in.AccountID() != acct {
		t.Fatalf("New = %v", err)
	}
	for name, mod := range map[string]func(*Options){
		"NoID":      func(o *Options) { o.Metadata.ID = "" },
		"NoAccount": func(o *Options) { o.Metadata.AccountID = "" },
		"NoStore":   func(o *Options) { o.Store = nil },
		"NoSTS":     func(o *Options) { o.STS = nil },
		"KeyOnly":   func(o *Options) { o.SigningCertificate = nil },
	} {
		o := ok
		mod(&o)
		if _, err := New(t.Context(), o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestSplitProfileARN(t *testing.T) {
	for _, tc := range []struct{ arn, account, name string }{
		{"arn:aws:iam::123456789012:instance-profile/web", acct, "web"},
		{"arn:aws:iam::123456789012:instance-profile/team/a/web", acct, "web"},
		{"arn:aws-us-gov:iam::123456789012:instance-profile/web", acct, "web"},
	} {
		account, name, err := splitProfileARN(tc.arn)
		if err != nil || account != tc.account || name != tc.name {
			t.Errorf("splitProfileARN(%q) = %q, %q, %v; want %q, %q", tc.arn, account, name, err, tc.account, tc.name)
		}
	}
	for _, bad := range []string{
		"", "web", "arn:aws:iam::123456789012:role/web", "arn:aws:sts::123456789012:instance-profile/web",
		"arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0", "aws:iam::123456789012:instance-profile/web",
	} {
		if _, _, err := splitProfileARN(bad); err == nil {
			t.Errorf("splitProfileARN(%q) succeeded", bad)
		}
	}
}

// TestInstance_ProfileChanged follows a role change another writer (the
// IAM API) made in the store: the instance's own profile starts over with
// the new role, or serves nothing once emptied; other profiles are left
// alone.
func TestInstance_ProfileChanged(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "web")
	if err := in.Keep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := in.ProfileChanged(t.Context(), "arn:aws:iam::123456789012:instance-profile/other", "batch"); err != nil || in.Attachment().Role == "batch" {
		t.Fatalf("another profile's change: %v, attachment %+v", err, in.Attachment())
	}
	p, err := f.store.InstanceProfile(t.Context(), acct, "web")
	if err != nil {
		t.Fatal(err)
	}
	p.Roles = []string{"batch"}
	if _, err := f.store.PutInstanceProfile(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if err := in.ProfileChanged(t.Context(), webARN, "batch"); err != nil {
		t.Fatal(err)
	}
	if a, ok := in.Current(); !ok || a.Role != "batch" || f.session(t, a.Credentials).RoleARN != "arn:aws:iam::123456789012:role/batch" {
		t.Errorf("Current after the change = %+v, %t", a, ok)
	}
	if err := in.ProfileChanged(t.Context(), webARN, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Current(); ok {
		t.Error("credentials served after the profile lost its role")
	}
}
