package sts

import (
	"errors"
	"net/http"
	"strings"

	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// getCallerIdentity answers who signed the request. Every authenticated
// caller may ask, whatever its policies say (an explicit Deny of
// sts:GetCallerIdentity is ignored by AWS); only a revoked session is
// refused, before this runs.
func (s *Server) getCallerIdentity(rc *request) (any, *Error) {
	c := rc.caller
	return getCallerIdentityResult{Arn: c.arn, UserID: c.userID, Account: c.account}, nil
}

// getAccessKeyInfo returns the account an access key belongs to. Key ids
// imdsemu makes carry their account, as AWS's do; long-term keys are also
// looked up. Like AWS, it does not check the caller's permissions.
func (s *Server) getAccessKeyInfo(rc *request) (any, *Error) {
	var v validation
	id := v.str(rc.params, fAccessKeyID, true)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if strings.HasPrefix(id, "AKIA") {
		k, err := s.dir.AccessKey(rc.ctx, id)
		if err == nil {
			return getAccessKeyInfoResult{Account: k.AccountID}, nil
		}
		if !errors.Is(err, rolestore.ErrNotFound) {
			s.log.Error("sts: access key lookup", "access_key_id", id, "err", err)
			return nil, errInternal()
		}
	}
	if acct, ok := AccountOfAccessKeyID(id); ok {
		return getAccessKeyInfoResult{Account: acct}, nil
	}
	return nil, newError(CodeInvalidParameterValue, http.StatusBadRequest,
		"The access key ID %s was not issued by this imdsemu, so its account is unknown.", id)
}

// decodeAuthorizationMessage opens an encoded authorization failure message.
// The caller needs sts:DecodeAuthorizationMessage.
func (s *Server) decodeAuthorizationMessage(rc *request) (any, *Error) {
	var v validation
	msg := v.str(rc.params, fEncodedMessage, true)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "sts:DecodeAuthorizationMessage", "*"); e != nil {
		return nil, e
	}
	plain, err := s.issuer.OpenMessage(msg)
	if err == nil {
		plain, err = inflate(plain)
	}
	if err != nil {
		return nil, newError(CodeInvalidAuthorizationMessage, http.StatusBadRequest,
			"The encoded authorization message is not valid: it was not issued by this imdsemu's STS, or it was altered.")
	}
	return decodeAuthorizationMessageResult{DecodedMessage: string(plain)}, nil
}

// authorize checks the caller's own permissions (identity-based policies,
// limited by session policies) for an action on resource.
func (s *Server) authorize(rc *request, act, resource string) *Error {
	req, dec, e := s.evaluate(rc, act, resource)
	if e != nil {
		return e
	}
	if !dec.Allowed {
		return s.deny(rc.caller, req, dec)
	}
	return nil
}

// evaluate is the decision authorize acts on: the caller's own policies
// for act on resource, with the request's context keys. STS's actions and
// the IAM API (Authorize) both ask it.
func (s *Server) evaluate(rc *request, act, resource string) (policy.Request, policy.Decision, *Error) {
	c := rc.caller
	id, e := s.permissionsOf(rc.ctx, c)
	if e != nil {
		return policy.Request{}, policy.Decision{}, e
	}
	pc := s.baseContext(rc)
	s.callerContext(rc, &pc, id.tags)
	req := policy.Request{Principal: c.principal(), Action: act, Resource: resource, Context: pc}
	return req, policy.Evaluate(req, id.set()), nil
}
