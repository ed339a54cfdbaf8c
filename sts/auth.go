package sts

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imdsemu/imdsemu/internal/sigv4"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// principalKind is who signed a request.
type principalKind int

const (
	kindRoot          principalKind = iota // the account root user (long-term key or its GetSessionToken session)
	kindUser                               // an IAM user (long-term key or its GetSessionToken session)
	kindRoleSession                        // AssumeRole*, instance profile
	kindFederatedUser                      // GetFederationToken
)

// caller is the authenticated identity behind a request.
type caller struct {
	kind    principalKind
	account string
	// arn and userID are what GetCallerIdentity reports.
	arn, userID string
	// session is the sealed session of temporary credentials; nil for
	// long-term keys.
	session *Session
	// user is the IAM user behind a long-term key or a GetSessionToken
	// session.
	user *rolestore.User
	// revoked is set when the session's role was revoked after the session
	// was issued: the request is denied whatever it asks.
	revoked time.Time
	region  string
}

// authenticate verifies the request's SigV4 signature and returns who made
// it; service is the credential scope's service it must name ("sts", or
// "iam" for the IAM API). The order of checks follows what AWS reports first: a malformed
// signature, a bad scope or clock, an unknown or expired credential, and
// only then a wrong signature.
func (s *Server) authenticate(ctx context.Context, r *http.Request, q sigv4.Query, body []byte, service string) (*caller, *Error) {
	fail := func(reason string, e *Error) (*caller, *Error) {
		s.m.sigFailures.WithLabelValues(reason).Inc()
		return nil, e
	}
	sig, se := sigv4.Parse(r, q)
	if se != nil {
		return fail("malformed", fromSigV4(se))
	}
	if se := sig.CheckScope(s.now(), service); se != nil {
		e := fromSigV4(se)
		reason := "scope"
		if strings.HasPrefix(e.Msg, "Signature") {
			reason = "skew"
		}
		return fail(reason, e)
	}
	var (
		secret string
		sess   *Session
		key    rolestore.AccessKey
	)
	switch {
	case strings.HasPrefix(sig.AccessKeyID(), "ASIA"):
		if sig.Token() == "" {
			return fail("invalid_token", errInvalidClientTokenID())
		}
		opened, err := s.issuer.Open(sig.Token())
		if err != nil && !errors.Is(err, ErrExpired) {
			return fail("invalid_token", errInvalidClientTokenID())
		}
		if opened.AccessKeyID != sig.AccessKeyID() {
			return fail("invalid_token", errInvalidClientTokenID())
		}
		if err != nil {
			return fail("expired_token", errExpiredToken())
		}
		sess, secret = &opened, opened.SecretAccessKey
	case strings.HasPrefix(sig.AccessKeyID(), "AKIA"):
		if sig.Token() != "" {
			// A session token with a long-term key: AWS rejects the pair.
			return fail("invalid_token", errInvalidClientTokenID())
		}
		k, err := s.dir.AccessKey(ctx, sig.AccessKeyID())
		if errors.Is(err, rolestore.ErrNotFound) {
			return fail("unknown_key", errInvalidClientTokenID())
		}
		if err != nil {
			s.log.Error("sts: access key lookup", "access_key_id", sig.AccessKeyID(), "err", err)
			return nil, errInternal()
		}
		if k.Status != rolestore.AccessKeyActive {
			return fail("unknown_key", errInvalidClientTokenID())
		}
		key, secret = k, k.SecretAccessKey
	default:
		return fail("unknown_key", errInvalidClientTokenID())
	}
	signingKey := s.keys.Get(secret, &sig)
	if se := sig.VerifyWithKey(r, q, body, signingKey[:]); se != nil {
		return fail("mismatch", fromSigV4(se))
	}
	c, e := s.newCaller(ctx, sess, key)
	if e != nil {
		return nil, e
	}
	c.region = sig.Region()
	if sess == nil && s.keyUse != nil {
		s.keyUse.KeyUsed(KeyUse{AccessKeyID: key.ID, At: s.now(), Service: sig.Service(), Region: sig.Region(), Source: remoteAddr(r)})
	}
	return c, nil
}

// remoteAddr is the client's address, unmapped; invalid when unparsable.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// newCaller describes the identity behind a verified session or key.
func (s *Server) newCaller(ctx context.Context, sess *Session, key rolestore.AccessKey) (*caller, *Error) {
	if sess == nil {
		c := &caller{account: key.AccountID}
		if key.Root() {
			c.kind, c.arn, c.userID = kindRoot, rolestore.RootARN(key.AccountID), key.AccountID
			return c, nil
		}
		u, err := s.dir.User(ctx, key.AccountID, key.UserName)
		if err != nil {
			return nil, s.lookupError("user of access key "+key.ID, err)
		}
		c.kind, c.user, c.arn, c.userID = kindUser, &u, u.ARN(), u.ID
		return c, nil
	}
	c := &caller{account: sess.AccountID, session: sess, arn: sess.PrincipalARN, userID: sess.PrincipalID}
	switch sess.Action {
	case ActionGetSessionToken:
		if sess.SourceARN == rolestore.RootARN(sess.AccountID) {
			c.kind = kindRoot
			return c, nil
		}
		u, err := s.dir.UserByID(ctx, sess.PrincipalID)
		if err != nil {
			return nil, s.lookupError("user of session "+sess.AccessKeyID, err)
		}
		c.kind, c.user = kindUser, &u
	case ActionGetFederationToken:
		c.kind = kindFederatedUser
	default:
		c.kind = kindRoleSession
		at, err := s.dir.RevokedBefore(ctx, sess.RoleARN)
		if err != nil {
			s.log.Error("sts: revocation lookup", "role", sess.RoleARN, "err", err)
			return nil, errInternal()
		}
		if !at.IsZero() && sess.Issued().Before(at) {
			c.revoked = at
		}
	}
	return c, nil
}

// lookupError maps a store error while resolving a credential's owner: a
// deleted owner makes the credential invalid, anything else is internal.
func (s *Server) lookupError(what string, err error) *Error {
	if errors.Is(err, rolestore.ErrNotFound) {
		return errInvalidClientTokenID()
	}
	s.log.Error("sts: lookup failed", "what", what, "err", err)
	return errInternal()
}

// principal is the caller as the policy evaluator sees it, built by the
// policy package as `imdsemu policy simulate` builds it: a role session
// also answers to its role, a federated user to the user who federated it.
func (c *caller) principal() policy.Principal {
	var equivalent []string
	switch {
	case c.kind == kindRoleSession && c.session.RoleARN != "":
		equivalent = []string{c.session.RoleARN}
	case c.kind == kindFederatedUser && c.session.SourceARN != "":
		equivalent = []string{c.session.SourceARN}
	}
	p, err := policy.AWSPrincipal(c.arn, c.account, equivalent...)
	if err != nil {
		// Every caller's ARN is one we made; keep the identity anyway.
		return policy.Principal{Type: policy.PrincipalAWS, ARN: c.arn, Account: c.account, Equivalent: equivalent}
	}
	return p
}

// sourceIP is the client address for aws:SourceIp.
func sourceIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// baseContext holds the keys every request has: time, transport, source.
func (s *Server) baseContext(rc *request) policy.Context {
	var pc policy.Context
	now := s.now()
	pc.SetTime("aws:CurrentTime", now)
	pc.SetInt("aws:EpochTime", now.Unix())
	pc.SetBool("aws:SecureTransport", rc.http.TLS != nil)
	if ip, ok := sourceIP(rc.http); ok {
		pc.SetIP("aws:SourceIp", ip)
	}
	if ua := rc.http.UserAgent(); ua != "" {
		pc.Set("aws:UserAgent", ua)
	}
	return pc
}

// callerContext adds the principal's keys: aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username,
// aws:PrincipalTag/*, and for temporary credentials aws:TokenIssueTime,
// aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge, aws:SourceIdentity,
// aws:FederatedProvider.
func (s *Server) callerContext(rc *request, pc *policy.Context, tags []Tag) {
	c := rc.caller
	policy.SetPrincipalKeys(pc, c.principal())
	pc.Set("aws:userid", c.userID)
	if c.region != "" {
		pc.Set("aws:RequestedRegion", c.region)
	}
	for _, t := range tags {
		pc.Set("aws:PrincipalTag/"+t.Key, t.Value)
	}
	if c.session == nil {
		return
	}
	sess := c.session
	pc.SetTime("aws:TokenIssueTime", sess.IssuedAt)
	mfa := !sess.MFAAuthenticatedAt.IsZero()
	pc.SetBool("aws:MultiFactorAuthPresent", mfa)
	if mfa {
		pc.SetInt("aws:MultiFactorAuthAge", int64(s.now().Sub(sess.MFAAuthenticatedAt)/time.Second))
	}
	if sess.SourceIdentity != "" {
		pc.Set("aws:SourceIdentity", sess.SourceIdentity)
	}
	if sess.Provider != "" {
		pc.Set("aws:FederatedProvider", sess.Provider)
	}
}

// permissions are what a caller's own permissions are made of (not to be
// confused with the caller's identity, the principal in caller, nor with
// IAM identities, the users).
type permissions struct {
	// policies are the identity-based policies: for a user (or a federated
	// user's user) its inline and attached managed policies and those of
	// its groups; for a role session the role's inline and attached ones.
	policies []*policy.Document
	// boundary holds the permissions boundary of the user or role, if any.
	boundary []*policy.Document
	// session holds the session policies of temporary credentials.
	session []*policy.Document
	// tags are the principal tags: the user's, or the role's overridden by
	// the session's.
	tags []Tag
}

// set is the caller's side of a policy.Set.
func (p permissions) set() policy.Set {
	return policy.Set{Identity: p.policies, Boundary: p.boundary, Session: p.session}
}

// permissionsOf loads the caller's effective policies and tags from the
// store on every request, so a change through the store (a group joined,
// a policy attached, a new default version) applies at once. Stored
// documents that the policy package rejects are skipped with a warning
// (they allow nothing), as a broken policy never grants anything in AWS.
func (s *Server) permissionsOf(ctx context.Context, c *caller) (permissions, *Error) {
	var id permissions
	addUser := func(name string) *Error {
		u, perm, err := s.dir.UserPermissions(ctx, c.account, name)
		if errors.Is(err, rolestore.ErrNotFound) {
			return nil // the user is gone: no permissions
		}
		if err != nil {
			s.log.Error("sts: user permissions", "user", name, "err", err)
			return errInternal()
		}
		s.addPermissions(&id, perm)
		for _, t := range u.Tags {
			id.tags = append(id.tags, Tag{Key: t.Key, Value: t.Value})
		}
		return nil
	}
	switch c.kind {
	case kindRoot:
	case kindUser:
		if e := addUser(c.user.Name); e != nil {
			return permissions{}, e
		}
	case kindRoleSession:
		role, perm, err := s.dir.RolePermissions(ctx, c.session.RoleARN)
		switch {
		case errors.Is(err, rolestore.ErrNotFound):
			// The role is gone: its sessions keep no permissions.
		case err != nil:
			s.log.Error("sts: role lookup", "role", c.session.RoleARN, "err", err)
			return permissions{}, errInternal()
		default:
			s.addPermissions(&id, perm)
			for _, t := range role.Tags {
				id.tags = append(id.tags, Tag{Key: t.Key, Value: t.Value})
			}
		}
		id.tags = mergeTags(id.tags, c.session.Tags)
		id.session = s.sessionPolicies(ctx, c.session)
	case kindFederatedUser:
		if _, _, name, err := rolestore.ParseUserARN(c.session.SourceARN); err == nil {
			if e := addUser(name); e != nil {
				return permissions{}, e
			}
		}
		id.tags = c.session.Tags // a federated user's principal tags are its session tags
		id.session = s.sessionPolicies(ctx, c.session)
	}
	return id, nil
}

// addPermissions parses the store's documents into id.
func (s *Server) addPermissions(id *permissions, perm rolestore.Permissions) {
	for _, pd := range perm.Policies {
		if d := s.docs.parse(s, storedKind(pd.Kind), pd.Name, pd.Document); d != nil {
			id.policies = append(id.policies, d)
		}
	}
	if b := perm.Boundary; b != nil {
		d := s.docs.parse(s, policy.KindBoundary, b.Name, b.Document)
		if d == nil {
			d = s.docs.parse(s, policy.KindBoundary, b.Name, allowNothing)
		}
		id.boundary = append(id.boundary, d)
	}
}

// storedKind maps the store's policy kinds to the policy package's.
func storedKind(k string) policy.Kind {
	switch k {
	case rolestore.PolicyInlineUser:
		return policy.KindInlineUser
	case rolestore.PolicyInlineGroup:
		return policy.KindInlineGroup
	case rolestore.PolicyInlineRole:
		return policy.KindInlineRole
	}
	return policy.KindManaged
}

// sessionPolicies returns a session's inline policy and managed policy
// ARNs as documents. A managed policy deleted since the session was issued
// stands for a policy that allows nothing, so the session loses what it
// granted rather than gaining what the identity allows.
func (s *Server) sessionPolicies(ctx context.Context, sess *Session) []*policy.Document {
	var out []*policy.Document
	if sess.SessionPolicy != "" {
		if d := s.docs.parse(s, policy.KindSession, "session policy", sess.SessionPolicy); d != nil {
			out = append(out, d)
		}
	}
	for _, arn := range sess.PolicyARNs {
		doc, err := s.dir.PolicyDocument(ctx, arn)
		if err != nil {
			if !errors.Is(err, rolestore.ErrNotFound) {
				s.log.Error("sts: session policy lookup", "policy", arn, "err", err)
			}
			doc = allowNothing
		}
		if d := s.docs.parse(s, policy.KindManaged, arn, doc); d != nil {
			out = append(out, d)
		}
	}
	return out
}

const allowNothing = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"imdsemu:UnknownManagedPolicy","Resource":"*"}]}`

// checkPolicyARNs refuses managed session policies (PolicyArns) that do not
// exist, or that belong to another account than the session's: STS accepts
// AWS managed policies and customer managed policies of the role's (or the
// federating user's) account only. AWS answers MalformedPolicyDocument.
func (s *Server) checkPolicyARNs(ctx context.Context, account string, arns []string) *Error {
	for _, arn := range arns {
		bad := func() *Error {
			return newError(CodeMalformedPolicyDocument, http.StatusBadRequest,
				"Policy %s does not exist or is not attachable.", truncate(arn, 256))
		}
		if a, _, _, err := rolestore.ParsePolicyARN(arn); err != nil || a != "aws" && a != account {
			return bad()
		}
		_, err := s.dir.PolicyDocument(ctx, arn)
		if errors.Is(err, rolestore.ErrNotFound) {
			return bad()
		}
		if err != nil {
			s.log.Error("sts: session policy lookup", "policy", arn, "err", err)
			return errInternal()
		}
	}
	return nil
}

// mergeTags returns base with over's tags replacing those of the same key
// (case-insensitive), as session tags override role tags.
func mergeTags(base, over []Tag) []Tag {
	out := make([]Tag, 0, len(base)+len(over))
	for _, t := range base {
		if !hasTagKey(over, t.Key) {
			out = append(out, t)
		}
	}
	return append(out, over...)
}

func hasTagKey(tags []Tag, key string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return true
		}
	}
	return false
}

func sortedNames(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// docCache keeps parsed policy documents by kind, name and text, so that
// stored policies are parsed once rather than on every request. It is
// bounded: when full it starts over.
type docCache struct {
	mu sync.Mutex
	m  map[docKey]*policy.Document
}

type docKey struct {
	kind       policy.Kind
	name, text string
}

const docCacheSize = 1024

// parse returns the parsed document, or nil (logged) when the stored text is
// not a valid policy of its kind.
func (c *docCache) parse(s *Server, kind policy.Kind, name, text string) *policy.Document {
	k := docKey{kind, name, text}
	c.mu.Lock()
	d, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return d
	}
	d, err := policy.ParseOptions([]byte(text), policy.Options{Kind: kind, Name: name, MaxSize: -1})
	if err != nil {
		s.log.Warn("sts: stored policy is not valid and allows nothing", "policy", name, "kind", kind.String(), "err", err)
		d = nil
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= docCacheSize {
		c.m = make(map[docKey]*policy.Document)
	}
	c.m[k] = d
	c.mu.Unlock()
	return d
}

// Messages AWS gives when MFA fails.
const (
	msgMFAUnknownDevice = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."
	msgMFABadCode       = "MultiFactorAuthentication failed with invalid MFA one time pass code."
)

// checkMFA verifies SerialNumber and TokenCode against the caller's virtual
// MFA device and returns when MFA was proved (zero when neither was given).
func (s *Server) checkMFA(ctx context.Context, c *caller, serial, code string) (time.Time, *Error) {
	if serial == "" && code == "" {
		return time.Time{}, nil
	}
	if serial == "" {
		return time.Time{}, errAccessDenied("MultiFactorAuthentication failed: TokenCode was given without SerialNumber.")
	}
	if code == "" {
		return time.Time{}, errAccessDenied(msgMFABadCode)
	}
	owner := ""
	switch c.kind {
	case kindUser:
		owner = c.user.Name
	case kindRoot:
	default:
		return time.Time{}, errAccessDenied(msgMFAUnknownDevice)
	}
	dev, err := s.dir.MFADevice(ctx, serial)
	if errors.Is(err, rolestore.ErrNotFound) || err == nil && !dev.OwnedBy(c.account, owner) {
		return time.Time{}, errAccessDenied(msgMFAUnknownDevice)
	}
	if err != nil {
		s.log.Error("sts: MFA device lookup", "serial", serial, "err", err)
		return time.Time{}, errInternal()
	}
	now := s.now()
	if !validMFACode(dev, code, now) {
		return time.Time{}, errAccessDenied(msgMFABadCode)
	}
	return now, nil
}

// fromSigV4 is the verifier's error as an STS error.
func fromSigV4(e *sigv4.Error) *Error {
	return &Error{Code: e.Code, Status: e.Status, Msg: e.Msg}
}
