package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/imdsemu/imdsemu/internal/sigv4"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// What the IAM Query API beside STS (package iamapi) shares with it: the
// verifier of signed requests and the authorizer that evaluates a caller's
// own permissions, so that a credential means the same on both.

// CallerKind says what kind of credential signed a request.
type CallerKind int

// The kinds of callers.
const (
	// CallerRoot is the account root user: its long-term key or a
	// GetSessionToken session of it.
	CallerRoot CallerKind = iota
	// CallerUser is an IAM user: its long-term key or a GetSessionToken
	// session of it.
	CallerUser
	// CallerRoleSession is a role session (AssumeRole*, instance profile).
	CallerRoleSession
	// CallerFederatedUser is a GetFederationToken session.
	CallerFederatedUser
)

// Caller is the verified identity behind a signed request.
type Caller struct{ c *caller }

// Kind is what signed the request.
func (c *Caller) Kind() CallerKind { return CallerKind(c.c.kind) }

// ARN is the caller's ARN as GetCallerIdentity reports it.
func (c *Caller) ARN() string { return c.c.arn }

// Account is the caller's account.
func (c *Caller) Account() string { return c.c.account }

// UserID is the caller's unique id as GetCallerIdentity reports it.
func (c *Caller) UserID() string { return c.c.userID }

// UserName is the IAM user behind a user's key or session; "" for others.
func (c *Caller) UserName() string {
	if c.c.user == nil {
		return ""
	}
	return c.c.user.Name
}

// SessionAction is the action that minted the caller's temporary
// credentials (ActionGetSessionToken, ActionAssumeRole…), "" for a
// long-term key.
func (c *Caller) SessionAction() Action {
	if c.c.session == nil {
		return ""
	}
	return c.c.session.Action
}

// MFA reports whether the caller's session was created with MFA.
func (c *Caller) MFA() bool { return c.c.session != nil && !c.c.session.MFAAuthenticatedAt.IsZero() }

// Principal is the caller as the policy evaluator sees it.
func (c *Caller) Principal() policy.Principal { return c.c.principal() }

// Authenticate verifies r's SigV4 signature, whose credential scope must
// name service, and returns the caller, as STS itself does for its own
// actions (AWS's order of checks, metrics of failures). body is the whole
// request body, q its query string (sigv4.ParseQuery of r.URL.RawQuery).
func (s *Server) Authenticate(r *http.Request, q sigv4.Query, body []byte, service string) (*Caller, *Error) {
	c, e := s.authenticate(r.Context(), r, q, body, service)
	if e != nil {
		return nil, e
	}
	return &Caller{c}, nil
}

// Authorize evaluates whether the caller's own permissions (its
// identity-based policies limited by its session policies, with the
// request's context keys) allow action on resource. A revoked role session
// is denied by an explicit deny; the account root user is allowed
// everything, as identity policies do not restrict it. The request is
// returned with the decision so that a denial can be worded as AWS words it
// (policy.Decision.Message).
func (s *Server) Authorize(r *http.Request, c *Caller, action, resource string) (policy.Request, policy.Decision, *Error) {
	rc := &request{ctx: r.Context(), http: r, caller: c.c}
	if !c.c.revoked.IsZero() {
		pc := s.baseContext(rc)
		return policy.Request{Principal: c.c.principal(), Action: action, Resource: resource, Context: pc},
			policy.Decision{Reason: policy.ExplicitDeny, Explanation: fmt.Sprintf(
				`explicit deny in an identity-based policy: sessions of role %s issued before %s are revoked (AWSRevokeOlderSessions)`,
				c.c.session.RoleARN, c.c.revoked.UTC().Format(time.RFC3339))}, nil
	}
	req, dec, e := s.evaluate(rc, action, resource)
	if e == nil && c.c.kind == kindRoot {
		dec = policy.Decision{Allowed: true, Explanation: "the account root user is not restricted by identity-based policies"}
	}
	return req, dec, e
}

// ErrNotPrincipal is returned by PermissionsOf for an ARN that is not a
// user or role of the store.
var ErrNotPrincipal = errors.New("not the ARN of an IAM user or role")

// PermissionsOf returns the identity-based policies (Identity) and the
// permissions boundary (Boundary) of the IAM user or role principalARN, as
// they apply to its requests (a user's with its groups', a role's as its
// sessions get them), and the principal the evaluator sees for it: what
// SimulatePrincipalPolicy evaluates.
func (s *Server) PermissionsOf(ctx context.Context, principalARN string) (policy.Principal, policy.Set, error) {
	c := &caller{kind: kindUser, arn: principalARN}
	if acct, _, name, err := rolestore.ParseUserARN(principalARN); err == nil {
		u, err := s.dir.User(ctx, acct, name)
		if err != nil {
			return policy.Principal{}, policy.Set{}, err
		}
		c.account, c.user, c.userID, c.arn = acct, &u, u.ID, u.ARN()
	} else if acct, _, _, err := rolestore.ParseRoleARN(principalARN); err == nil {
		role, err := s.dir.RoleByARN(ctx, principalARN)
		if err != nil {
			return policy.Principal{}, policy.Set{}, err
		}
		c.kind, c.account, c.userID = kindRoleSession, acct, role.ID
		c.session = &Session{RoleARN: role.ARN(), AccountID: acct}
	} else {
		return policy.Principal{}, policy.Set{}, fmt.Errorf("%s: %w", principalARN, ErrNotPrincipal)
	}
	id, e := s.permissionsOf(ctx, c)
	if e != nil {
		return policy.Principal{}, policy.Set{}, e
	}
	p, err := policy.AWSPrincipal(c.arn, c.account)
	if err != nil {
		return policy.Principal{}, policy.Set{}, err
	}
	return p, policy.Set{Identity: id.policies, Boundary: id.boundary}, nil
}
