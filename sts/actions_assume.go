package sts

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// assumption is one request to assume a role, whatever the action.
type assumption struct {
	action    Action // ActionAssumeRole, ...WithWebIdentity, ...WithSAML
	principal policy.Principal
	role      rolestore.Role
	// caller is the caller's own permissions (AssumeRole only).
	caller         permissions
	ctx            policy.Context
	sessionName    string
	duration       time.Duration
	sp             sessionParams
	sourceIdentity string
	chained        bool
	mfaAt          time.Time
	// inherited are the calling session's transitive tags (role chaining).
	inherited []Tag
	provider  string
	// denied builds the AccessDenied error for a refusal.
	denied func(req policy.Request, dec policy.Decision) *Error
}

// stsAction is the IAM action name, e.g. "sts:AssumeRole".
func (a *assumption) stsAction() string { return "sts:" + string(a.action) }

// assume authorizes the assumption against the role's trust policy (and,
// for AssumeRole, the caller's own policies), then mints the session.
func (s *Server) assume(rc *request, a *assumption) (Credentials, *Error) {
	roleARN := a.role.ARN()
	trust := s.docs.parse(s, policy.KindTrust, "trust policy of role "+a.role.Name, a.role.TrustPolicy)
	if e := s.checkPolicyARNs(rc.ctx, a.role.AccountID, a.sp.policyARNs); e != nil {
		return Credentials{}, e
	}
	set := a.caller.set()
	set.Trust = []*policy.Document{trust}

	// Request keys of the assumption itself.
	pc := &a.ctx
	pc.Set("sts:RoleSessionName", a.sessionName)
	if a.sourceIdentity != "" {
		pc.Set("sts:SourceIdentity", a.sourceIdentity)
	}
	keys := make([]string, 0, len(a.sp.tags))
	for _, t := range a.sp.tags {
		pc.Set("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	if len(keys) > 0 {
		pc.Set("aws:TagKeys", keys...)
	}
	if len(a.sp.transitiveTagKeys) > 0 {
		pc.Set("sts:TransitiveTagKeys", a.sp.transitiveTagKeys...)
	}
	if !a.mfaAt.IsZero() {
		pc.SetBool("aws:MultiFactorAuthPresent", true)
		pc.SetInt("aws:MultiFactorAuthAge", int64(s.now().Sub(a.mfaAt)/time.Second))
	}

	acts := []string{a.stsAction()}
	if len(a.sp.tags) > 0 {
		acts = append(acts, "sts:TagSession")
	}
	if a.sourceIdentity != "" {
		acts = append(acts, "sts:SetSourceIdentity")
	}
	for _, act := range acts {
		req := policy.Request{Principal: a.principal, Action: act, Resource: roleARN, Context: a.ctx}
		if trust == nil {
			return Credentials{}, a.denied(req, policy.Decision{Explanation: "the role's trust policy is not a valid policy document, so it allows no one"})
		}
		if dec := policy.Evaluate(req, set); !dec.Allowed {
			return Credentials{}, a.denied(req, dec)
		}
	}

	// Session tags: transitive tags inherited from the calling session come
	// first and cannot be overridden.
	tags := append([]Tag(nil), a.inherited...)
	for _, t := range a.sp.tags {
		if hasTagKey(a.inherited, t.Key) {
			return Credentials{}, newError(CodeInvalidParameterValue, http.StatusBadRequest,
				"The session tag %q is a transitive tag of the calling session and cannot be set again.", truncate(t.Key, 128))
		}
		tags = append(tags, t)
	}
	transitive := make([]string, 0, len(a.inherited)+len(a.sp.transitiveTagKeys))
	for _, t := range a.inherited {
		transitive = append(transitive, t.Key)
	}
	transitive = append(transitive, a.sp.transitiveTagKeys...)
	if len(transitive) == 0 {
		transitive = nil
	}
	if len(tags) == 0 {
		tags = nil
	}

	creds, err := s.issuer.Issue(rc.ctx, Request{
		Action:                 a.action,
		AccountID:              a.role.AccountID,
		RoleARN:                roleARN,
		RoleID:                 a.role.ID,
		SessionName:            a.sessionName,
		Duration:               a.duration,
		RoleMaxSessionDuration: a.role.EffectiveMaxSessionDuration(),
		Chained:                a.chained,
		SessionPolicy:          a.sp.policy,
		PolicyARNs:             a.sp.policyARNs,
		SourceIdentity:         a.sourceIdentity,
		Tags:                   tags,
		TransitiveTagKeys:      transitive,
		MFAAuthenticatedAt:     a.mfaAt,
		Provider:               a.provider,
	})
	if err != nil {
		if e := durationError(err); e != nil {
			return Credentials{}, e
		}
		s.log.Error("sts: issuing session", "action", string(a.action), "role", roleARN, "err", err)
		return Credentials{}, errInternal()
	}
	return creds, nil
}

// lookupRole finds the role of a RoleArn parameter. A malformed ARN is a
// ValidationError; a role that does not exist is reported by the caller as
// an authorization failure, as AWS does not reveal which roles exist.
func (s *Server) lookupRole(rc *request, arn string) (rolestore.Role, bool, *Error) {
	if !strings.HasPrefix(arn, "arn:") {
		return rolestore.Role{}, false, newError(CodeValidationError, http.StatusBadRequest, "ARNs must start with 'arn:': %s", truncate(arn, 256))
	}
	if _, _, _, err := rolestore.ParseRoleARN(arn); err != nil {
		return rolestore.Role{}, false, nil
	}
	role, err := s.dir.RoleByARN(rc.ctx, arn)
	if errors.Is(err, rolestore.ErrNotFound) {
		return rolestore.Role{}, false, nil
	}
	if err != nil {
		s.log.Error("sts: role lookup", "role", arn, "err", err)
		return rolestore.Role{}, false, errInternal()
	}
	return role, true, nil
}

// assumeRole is AssumeRole: an IAM user, a role session (role chaining) or
// a GetSessionToken session asks for a session of a role that trusts it.
func (s *Server) assumeRole(rc *request) (any, *Error) {
	c, p := rc.caller, rc.params
	var v validation
	roleARN := v.str(p, fRoleARN, true)
	sessionName := v.str(p, fRoleSessionName, true)
	externalID := v.str(p, fExternalID, false)
	serial := v.str(p, fSerialNumber, false)
	code := v.str(p, fTokenCode, false)
	sourceIdentity := v.str(p, fSourceIdentity, false)
	duration := v.duration(p, ActionAssumeRole)
	sp, e := readSessionParams(p, &v, true, 0)
	if e != nil {
		return nil, e
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	if strings.HasPrefix(strings.ToLower(sourceIdentity), "aws:") {
		return nil, newError(CodeValidationError, http.StatusBadRequest, "SourceIdentity must not start with \"aws:\".")
	}
	packed, e := sp.check()
	if e != nil {
		return nil, e
	}
	if c.kind == kindRoot {
		// IAM User Guide: you cannot assume a role as the root user.
		return nil, errAccessDenied("Roles may not be assumed by root accounts.")
	}
	role, found, e := s.lookupRole(rc, roleARN)
	if e != nil {
		return nil, e
	}
	if !found {
		return nil, notAuthorized(c.arn, "sts:AssumeRole", roleARN)
	}
	mfaAt, e := s.checkMFA(rc.ctx, c, serial, code)
	if e != nil {
		return nil, e
	}
	id, e := s.permissionsOf(rc.ctx, c)
	if e != nil {
		return nil, e
	}
	a := &assumption{
		action: ActionAssumeRole, principal: c.principal(), role: role,
		caller: id, ctx: s.baseContext(rc),
		sessionName: sessionName, duration: duration, sp: sp, sourceIdentity: sourceIdentity, mfaAt: mfaAt,
		// Role chaining: a role session (or a GetSessionToken session,
		// which AWS caps the same way) assuming a role gets at most 1 h.
		chained: c.session != nil,
		denied:  func(req policy.Request, dec policy.Decision) *Error { return s.deny(c, req, dec) },
	}
	s.callerContext(rc, &a.ctx, id.tags)
	if externalID != "" {
		a.ctx.Set("sts:ExternalId", externalID)
	}
	if c.session != nil {
		if si := c.session.SourceIdentity; si != "" {
			if sourceIdentity != "" && sourceIdentity != si {
				return nil, errAccessDenied("The source identity of a chained session cannot change: the calling session's source identity is %s.", si)
			}
			a.sourceIdentity = si
		}
		for _, k := range c.session.TransitiveTagKeys {
			for _, t := range c.session.Tags {
				if strings.EqualFold(t.Key, k) {
					a.inherited = append(a.inherited, t)
				}
			}
		}
	}
	creds, e := s.assume(rc, a)
	if e != nil {
		return nil, e
	}
	res := assumeRoleResult{
		Credentials:     credentialsXML(creds),
		AssumedRoleUser: xmlAssumedRoleUser{Arn: creds.Session.PrincipalARN, AssumedRoleID: creds.Session.PrincipalID},
		SourceIdentity:  creds.Session.SourceIdentity,
	}
	if sp.hasPacked() {
		res.PackedPolicySize = &packed
	}
	return res, nil
}
