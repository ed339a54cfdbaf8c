package sts

import (
	"github.com/imdsemu/imdsemu/policy"
)

// getSessionToken is GetSessionToken: an IAM user or the root user trades
// its long-term key for temporary credentials with the same permissions,
// proving MFA on the way if it likes. Session credentials may not call it.
func (s *Server) getSessionToken(rc *request) (any, *Error) {
	c, p := rc.caller, rc.params
	var v validation
	duration := v.duration(p, ActionGetSessionToken)
	serial := v.str(p, fSerialNumber, false)
	code := v.str(p, fTokenCode, false)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if c.session != nil {
		return nil, errAccessDenied("Cannot call GetSessionToken with session credentials")
	}
	mfaAt, e := s.checkMFA(rc.ctx, c, serial, code)
	if e != nil {
		return nil, e
	}
	creds, err := s.issuer.Issue(rc.ctx, Request{
		Action: ActionGetSessionToken, AccountID: c.account,
		PrincipalARN: c.arn, PrincipalID: c.userID, SourceARN: c.arn,
		Duration: duration, Root: c.kind == kindRoot, MFAAuthenticatedAt: mfaAt,
	})
	if err != nil {
		if e := durationError(err); e != nil {
			return nil, e
		}
		s.log.Error("sts: issuing session", "action", "GetSessionToken", "err", err)
		return nil, errInternal()
	}
	return getSessionTokenResult{Credentials: credentialsXML(creds)}, nil
}

// getFederationToken is GetFederationToken: an IAM user (or root) mints a
// federated-user session whose permissions are the intersection of its own
// and the session policies. The user needs sts:GetFederationToken on the
// federated user's ARN; session credentials may not call it.
func (s *Server) getFederationToken(rc *request) (any, *Error) {
	c, p := rc.caller, rc.params
	var v validation
	name := v.str(p, fFederationName, true)
	duration := v.duration(p, ActionGetFederationToken)
	sp, e := readSessionParams(p, &v, true, policy.KindSession.SizeLimit())
	if e != nil {
		return nil, e
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	packed, e := sp.check()
	if e != nil {
		return nil, e
	}
	if c.session != nil {
		return nil, errAccessDenied("Cannot call GetFederationToken with session credentials")
	}
	if e := s.checkPolicyARNs(rc.ctx, c.account, sp.policyARNs); e != nil {
		return nil, e
	}
	arn := "arn:aws:sts::" + c.account + ":federated-user/" + name
	if c.kind == kindUser {
		if e := s.authorize(rc, "sts:GetFederationToken", arn); e != nil {
			return nil, e
		}
	}
	creds, err := s.issuer.Issue(rc.ctx, Request{
		Action: ActionGetFederationToken, AccountID: c.account,
		PrincipalARN: arn, PrincipalID: c.account + ":" + name, SourceARN: c.arn,
		Duration: duration, Root: c.kind == kindRoot,
		SessionPolicy: sp.policy, PolicyARNs: sp.policyARNs, Tags: sp.tags, TransitiveTagKeys: sp.transitiveTagKeys,
	})
	if err != nil {
		if e := durationError(err); e != nil {
			return nil, e
		}
		s.log.Error("sts: issuing session", "action", "GetFederationToken", "err", err)
		return nil, errInternal()
	}
	res := getFederationTokenResult{
		Credentials:   credentialsXML(creds),
		FederatedUser: xmlFederatedUser{Arn: arn, FederatedUserID: c.account + ":" + name},
	}
	if sp.hasPacked() {
		res.PackedPolicySize = &packed
	}
	return res, nil
}
