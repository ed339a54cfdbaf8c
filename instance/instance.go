package instance

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// Store is what an instance reads and writes in the IAM store.
// *rolestore.SQLite implements it.
type Store interface {
	InstanceProfile(ctx context.Context, accountID, name string) (rolestore.InstanceProfile, error)
	InstanceProfiles(ctx context.Context, accountID string) ([]rolestore.InstanceProfile, error)
	Role(ctx context.Context, accountID, name string) (rolestore.Role, error)
	PutInstanceProfile(ctx context.Context, p rolestore.InstanceProfile) (rolestore.InstanceProfile, error)
}

// STS mints sessions. *sts.Issuer implements it.
type STS interface {
	Issue(ctx context.Context, r sts.Request) (sts.Credentials, error)
}

// Scheduler keeps credential generations current. *refresher.Scheduler
// implements it.
type Scheduler interface {
	Add(key string, iss refresher.Issuer)
	Remove(key string)
	Current(key string) *refresher.Generation
	Ensure(ctx context.Context, key string, iss refresher.Issuer) (*refresher.Generation, error)
	RotateNow(key string) error
	Freeze(key string, frozen bool) error
	Frozen(key string) bool
}

// handles is a Scheduler that hands out an entry to read without a
// lookup, as *refresher.Scheduler does. Current uses it when the
// Scheduler is one.
type handles interface {
	Handle(key string) refresher.Handle
}

// Options configure an Instance.
type Options struct {
	// Metadata describes the instance. ID and AccountID are required.
	Metadata imds.Instance
	// Profile is the name of the instance profile attached at start, in
	// the instance's account. "" attaches none.
	Profile string
	// Store, STS and Scheduler are required.
	Store     Store
	STS       STS
	Scheduler Scheduler
	// SigningKey and SigningCertificate sign the instance identity
	// document; give both or neither. LoadOrCreateSigningKey makes them.
	SigningKey         *rsa.PrivateKey
	SigningCertificate *x509.Certificate
	// Now is the clock of trust decisions; nil means time.Now.
	Now func() time.Time
}

// Instance is one emulated EC2 instance. Its methods are safe for
// concurrent use.
type Instance struct {
	// The fields a credential GET reads (Current) come first, so that
	// with many instances, whose memory is cold, they take one cache line
	// or two. The instance is 288 bytes, a size class of its own
	// (TestInstance_Size).
	//
	// att is the attached profile and its role as imds serves it;
	// Attach and Detach swap it.
	att atomic.Pointer[attached]
	// entry is the scheduler's entry of att's profile, found by the
	// first Current of each attachment (when sched is a handles).
	entry   atomic.Pointer[profileEntry]
	handles handles
	// trust is in the instance, not behind a pointer of its own: a
	// cache line less for each GET, and an object less for each instance.
	trust trustGate

	// id and account are all of the metadata the instance needs; the
	// metadata server keeps the rest (one copy per instance, not two).
	id, account string
	key         *rsa.PrivateKey
	cert        *x509.Certificate
	store       Store
	sts         STS
	sched       Scheduler
	// notices are the instance's Spot, rebalance, maintenance and Auto
	// Scaling notices (notices.go).
	notices *imds.Notices

	mu sync.Mutex // serialises Attach and Detach

	rolesMu sync.Mutex
	roles   roleMap // scheduler key -> role ARN
	// index, when the instance is in a Fleet, learns which keys it keeps.
	index atomic.Pointer[keyIndex]

	// ready: see Ready. readyCh is made by the first Ready, which a
	// fleet's waiter asks of an instance only while it is not ready yet
	// (a channel is 96 bytes, most of a fleet's never needed).
	readyMu sync.Mutex
	ready   bool
	readyCh chan struct{}
	// startProfile is the profile whose first generation makes the
	// instance ready.
	startProfile string
}

// New returns the instance described by opts, with opts.Profile attached
// as the store holds it. Call Keep to have the scheduler mint its
// credentials.
func New(ctx context.Context, opts Options) (*Instance, error) {
	switch {
	case opts.Metadata.ID == "" || opts.Metadata.AccountID == "":
		return nil, errors.New("instance: Options.Metadata needs ID and AccountID")
	case opts.Store == nil || opts.STS == nil || opts.Scheduler == nil:
		return nil, errors.New("instance: Options.Store, STS and Scheduler are required")
	case (opts.SigningKey == nil) != (opts.SigningCertificate == nil):
		return nil, errors.New("instance: Options.SigningKey and SigningCertificate go together: give both or neither")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	in := &Instance{
		id: opts.Metadata.ID, account: opts.Metadata.AccountID, key: opts.SigningKey, cert: opts.SigningCertificate,
		store: opts.Store, sts: opts.STS, sched: opts.Scheduler,
		trust:   trustGate{now: opts.Now},
		notices: imds.NewNotices(opts.Metadata, opts.Now, nil),
	}
	in.handles, _ = opts.Scheduler.(handles)
	var att attached
	if opts.Profile != "" {
		p, err := opts.Store.InstanceProfile(ctx, opts.Metadata.AccountID, opts.Profile)
		if err != nil {
			return nil, fmt.Errorf("instance profile %q in account %s: %w", opts.Profile, opts.Metadata.AccountID, err)
		}
		att = attached{ProfileARN: p.ARN(), ProfileID: p.ID}
		if len(p.Roles) > 0 {
			att.Role = p.Roles[0]
		}
	}
	in.att.Store(&att)
	in.startProfile = att.ProfileARN
	if att.Role == "" {
		in.setReady()
	}
	return in, nil
}

// Keep has the scheduler keep the credentials of the role of the
// instance's profile, minted as this instance (sessions named after it).
// Call it once, before the scheduler runs. Those of its identity role are
// minted on first use (IdentityCredentials), and kept from then on.
func (in *Instance) Keep(ctx context.Context) error {
	att := in.att.Load()
	if att.Role != "" {
		r, err := in.store.Role(ctx, in.account, att.Role)
		if err != nil {
			return err
		}
		in.setRole(att.ProfileARN, r.ARN())
		in.sched.Add(att.ProfileARN, in)
	}
	return nil
}

// KeepAll is Keep, and has the scheduler also keep the credentials of
// every other instance profile in the store that has a role, minted as
// this instance, so that the admin API can show, rotate and freeze any of
// them. One instance of a process does this; the others call Keep. It is
// called again when another instance leaves, to take its profile back: a
// profile the scheduler still keeps is left to its keeper (Add is a no-op),
// one it forgot is added again even if this instance recorded its role
// before.
func (in *Instance) KeepAll(ctx context.Context) error {
	if err := in.Keep(ctx); err != nil {
		return err
	}
	profiles, err := in.store.InstanceProfiles(ctx, "")
	if err != nil {
		return err
	}
	for _, p := range profiles {
		if len(p.Roles) == 0 {
			continue
		}
		// The profile's own instance has read its role already: with
		// many instances, reading each again was a store read per
		// instance at start, and a second copy of each ARN.
		key, role := p.ARN(), ""
		if x := in.index.Load(); x != nil {
			if k, r, ok := x.recorded(key); ok {
				key = k
				if isRoleARN(r, p.AccountID, p.Roles[0]) {
					role = r
				}
			}
		}
		if role == "" {
			r, err := in.store.Role(ctx, p.AccountID, p.Roles[0])
			if err != nil {
				return err
			}
			role = r.ARN()
		}
		in.setRole(key, role)
		in.sched.Add(key, in)
	}
	return nil
}

// isRoleARN reports whether arn is the ARN of role name in account.
func isRoleARN(arn, account, name string) bool {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::"+account+":role/")
	return ok && (rest == name || strings.HasSuffix(rest, name) && rest[len(rest)-len(name)-1] == '/')
}

// ID is the instance id.
func (in *Instance) ID() string { return in.id }

// AccountID is the instance's account.
func (in *Instance) AccountID() string { return in.account }

// SigningKey and SigningCertificate sign the identity document; nil when
// none was given.
func (in *Instance) SigningKey() *rsa.PrivateKey { return in.key }

// SigningCertificate is the certificate of SigningKey.
func (in *Instance) SigningCertificate() *x509.Certificate { return in.cert }

// IdentityRoleKey is the scheduler key of the instance identity role
// credentials: the session's ARN,
// arn:aws:sts::ACCOUNT:assumed-role/aws:ec2-instance/INSTANCE-ID.
func (in *Instance) IdentityRoleKey() string {
	return "arn:aws:sts::" + in.account + ":assumed-role/aws:ec2-instance/" + in.id
}

// Issue mints credentials for the instance profile profileARN: it looks up
// the profile's role, checks that the role trusts EC2 (a *TrustError if
// not, after which Current serves EC2's error document), and asks STS for a
// session named after the instance. It implements refresher.Issuer.
func (in *Instance) Issue(ctx context.Context, profileARN string, lifetime time.Duration) (credential.Value, error) {
	account, name, err := splitProfileARN(profileARN)
	if err != nil {
		return credential.Value{}, err
	}
	prof, err := in.store.InstanceProfile(ctx, account, name)
	if err != nil {
		return credential.Value{}, err
	}
	if len(prof.Roles) == 0 {
		return credential.Value{}, fmt.Errorf("instance profile %s has no role", profileARN)
	}
	role, err := in.store.Role(ctx, account, prof.Roles[0])
	if err != nil {
		return credential.Value{}, err
	}
	if err := in.trust.check(profileARN, role); err != nil {
		return credential.Value{}, err
	}
	c, err := in.sts.Issue(ctx, sts.Request{
		Action:                 sts.ActionInstanceProfile,
		AccountID:              account,
		RoleARN:                role.ARN(),
		RoleID:                 role.ID,
		SessionName:            in.id,
		Duration:               lifetime,
		RoleMaxSessionDuration: role.MaxSessionDuration,
	})
	return c.Value, err
}

// issueIdentityRole mints the instance identity role credentials. EC2 User
// Guide, "Instance identity roles": a session of the service role
// aws:ec2-instance named after the instance, with no permissions.
func (in *Instance) issueIdentityRole(ctx context.Context, _ string, lifetime time.Duration) (credential.Value, error) {
	c, err := in.sts.Issue(ctx, sts.Request{
		Action:       sts.ActionInstanceProfile,
		AccountID:    in.account,
		PrincipalARN: in.IdentityRoleKey(),
		SessionName:  in.id,
		Duration:     lifetime,
	})
	return c.Value, err
}

// Current is the attached profile with its current credentials, or with
// EC2's error document while the role does not trust EC2; ok is false
// when no role is attached or none has been minted yet. It implements
// imds.CredentialSource and does no I/O.
func (in *Instance) Current() (imds.Attachment, bool) {
	att := in.att.Load()
	if att.Role == "" {
		return imds.Attachment{}, false
	}
	if a, ok := in.trust.attachment(att); ok {
		return a, true
	}
	g := in.generation(att)
	if g == nil {
		return imds.Attachment{}, false
	}
	a := att.imds()
	a.Credentials = g.Credentials
	return a, true
}

// attached is the instance profile attached and its role: an
// imds.Attachment without the credentials, which Current adds (48 bytes
// for each instance, where an Attachment is 168).
type attached struct{ ProfileARN, ProfileID, Role string }

func (a *attached) imds() imds.Attachment {
	return imds.Attachment{ProfileARN: a.ProfileARN, ProfileID: a.ProfileID, Role: a.Role}
}

// profileEntry is the scheduler's entry of an attachment's profile.
type profileEntry struct {
	att *attached
	h   refresher.Handle
}

// generation is the current generation of att's profile: through the
// entry found before for att, while the scheduler still has it (one load,
// where the scheduler's Current looks the key up among every instance's),
// else looked up.
func (in *Instance) generation(att *attached) *refresher.Generation {
	if in.handles == nil {
		return in.sched.Current(att.ProfileARN)
	}
	if p := in.entry.Load(); p != nil && p.att == att {
		if g, ok := p.h.Current(); ok {
			return g
		}
	}
	h := in.handles.Handle(att.ProfileARN)
	g, ok := h.Current()
	if ok { // an unknown key is looked up again next time
		in.entry.Store(&profileEntry{att: att, h: h})
	}
	return g
}

// identityMintTimeout bounds the first mint of the identity role
// credentials, which a metadata request waits for.
const identityMintTimeout = 10 * time.Second

// IdentityCredentials are the current instance identity role credentials,
// for imds.Options.IdentityCredentials. The first call mints them, in the
// caller (bounded by ctx and identityMintTimeout), and from then on the
// scheduler keeps them: most instances of a large fleet are never asked,
// and keep none. ok is false when that mint failed (the scheduler retries
// it, as any failed mint) or ctx ended first.
func (in *Instance) IdentityCredentials(ctx context.Context) (credential.Value, bool) {
	key := in.IdentityRoleKey()
	if g := in.sched.Current(key); g != nil {
		return g.Credentials, true
	}
	ctx, cancel := context.WithTimeout(ctx, identityMintTimeout)
	defer cancel()
	g, err := in.sched.Ensure(ctx, key, refresher.IssuerFunc(in.issueIdentityRole))
	if err != nil {
		return credential.Value{}, false
	}
	return g.Credentials, true
}

// RoleARN is the ARN of the role whose credentials the scheduler keeps
// under key for this instance, or "" (for the identity role, and for a
// profile it does not keep).
func (in *Instance) RoleARN(key string) string {
	in.rolesMu.Lock()
	defer in.rolesMu.Unlock()
	return in.roles.get(key)
}

// setRole records roleARN as the role of profileARN; "" forgets it. The
// fleet's index (if any) learns it too.
func (in *Instance) setRole(profileARN, roleARN string) {
	in.rolesMu.Lock() // then the index's: the two agree
	defer in.rolesMu.Unlock()
	in.roles.set(profileARN, roleARN)
	if x := in.index.Load(); x != nil {
		if roleARN == "" {
			x.drop(profileARN, in)
		} else {
			x.keep(profileARN, in)
		}
	}
}

// OnEvent follows the scheduler's events to know when the instance is
// ready. Call it from refresher.Options.OnEvent; it does not block.
func (in *Instance) OnEvent(ev refresher.Event) {
	if ev.Key != in.startProfile {
		return
	}
	if ev.Kind == refresher.EventIssued || ev.Kind == refresher.EventMintFailed && in.trust.denied(ev.Key) {
		in.setReady()
	}
}

// Ready is closed once the instance serves what it will serve at start:
// its profile's first credentials, EC2's error document when the role does
// not trust EC2, or nothing when no role is attached.
func (in *Instance) Ready() <-chan struct{} {
	in.readyMu.Lock()
	defer in.readyMu.Unlock()
	if in.readyCh == nil {
		in.readyCh = make(chan struct{})
		if in.ready {
			close(in.readyCh)
		}
	}
	return in.readyCh
}

// isReady reports whether Ready is closed, without making it.
func (in *Instance) isReady() bool {
	in.readyMu.Lock()
	defer in.readyMu.Unlock()
	return in.ready
}

func (in *Instance) setReady() {
	in.readyMu.Lock()
	defer in.readyMu.Unlock()
	if !in.ready {
		in.ready = true
		if in.readyCh != nil {
			close(in.readyCh)
		}
	}
}

// splitProfileARN returns the account and name of
// arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME.
func splitProfileARN(s string) (account, name string, err error) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "instance-profile/") {
		return "", "", fmt.Errorf("%q is not an instance profile ARN", s)
	}
	return a.AccountID, a.Resource[strings.LastIndexByte(a.Resource, '/')+1:], nil
}
