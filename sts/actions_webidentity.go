package sts

import (
	"context"
	"net/http"
	"slices"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/policy"
)

// WellKnownIdPs are the web identity providers STS accepts without an IAM
// identity provider entity (Google, Cognito, Facebook, Login with Amazon),
// played by imdsemu's built-in stand-ins; *federation.WebIdPs implements it.
type WellKnownIdPs interface {
	// Providers are the OIDC entries of the ID token issuers, tried after
	// the account's own providers.
	Providers() []federation.OIDCProvider
	// VerifyAccessToken opens an OAuth 2.0 access token presented with
	// ProviderId. Errors should be *federation.Error.
	VerifyAccessToken(provider, token string) (federation.AccessTokenClaims, error)
}

// webIdentity is a verified web identity token, whoever issued it.
type webIdentity struct {
	// provider is aws:FederatedProvider, the response's Provider and the
	// Federated principal: the IAM OIDC provider's ARN, or a well-known
	// provider's name (accounts.google.com).
	provider string
	// equivalent are other names the trust policy may use for it (the
	// bare HOST/PATH of an IAM OIDC provider).
	equivalent        []string
	subject, audience string
	// keys are the provider's condition keys (PROVIDER:aud, …).
	keys map[string][]string
	// extra are the ID token's other claims (session tags); nil for
	// access tokens.
	extra map[string]any
}

// assumeRoleWithWebIdentity is AssumeRoleWithWebIdentity: unsigned; the
// token is the credential. An OIDC ID token must come from an OIDC provider
// of the role's account or from a well-known one (Google, Cognito); an
// OAuth 2.0 access token (ProviderId www.amazon.com or graph.facebook.com)
// from a well-known one. The role's trust policy must allow the provider
// ({"Federated": "arn:aws:iam::ACCOUNT:oidc-provider/HOST"}, the bare
// "HOST/PATH", or "accounts.google.com" …), usually with conditions on its
// keys (HOST:sub, HOST:aud, graph.facebook.com:app_id, …).
func (s *Server) assumeRoleWithWebIdentity(rc *request) (any, *Error) {
	p := rc.params
	var v validation
	roleARN := v.str(p, fRoleARN, true)
	sessionName := v.str(p, fRoleSessionName, true)
	token := v.str(p, fWebIdentity, true)
	providerID := v.str(p, fProviderID, false)
	duration := v.duration(p, ActionAssumeRoleWithWebIdentity)
	sp, e := readSessionParams(p, &v, false, 0)
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
	const act = "sts:AssumeRoleWithWebIdentity"
	notAllowed := errAccessDenied("Not authorized to perform %s", act)
	role, found, e := s.lookupRole(rc, roleARN)
	if e != nil {
		return nil, e
	}
	if !found {
		return nil, notAllowed
	}
	var wi webIdentity
	if providerID != "" {
		wi, e = s.verifyAccessToken(providerID, token)
	} else {
		wi, e = s.verifyIDToken(rc.ctx, role.AccountID, token)
	}
	if e != nil {
		return nil, e
	}

	tags, transitive := tokenTags(wi.extra)
	sp.tags, sp.transitiveTagKeys = tags, transitive
	if packed, e = sp.check(); e != nil {
		return nil, e
	}

	pc := s.baseContext(rc)
	pc.Set("aws:FederatedProvider", wi.provider)
	for k, vals := range wi.keys {
		pc.Set(k, vals...)
	}
	a := &assumption{
		action:    ActionAssumeRoleWithWebIdentity,
		principal: policy.Principal{Type: policy.PrincipalFederated, ARN: wi.provider, Equivalent: wi.equivalent, Account: role.AccountID},
		role:      role, ctx: pc, sessionName: sessionName, duration: duration, sp: sp,
		provider: wi.provider,
		denied: func(req policy.Request, dec policy.Decision) *Error {
			return s.denyAs("Not authorized to perform "+req.Action, nil, req, dec)
		},
	}
	creds, e := s.assume(rc, a)
	if e != nil {
		return nil, e
	}
	res := assumeRoleWithWebIdentityResult{
		Credentials:                 credentialsXML(creds),
		SubjectFromWebIdentityToken: wi.subject,
		AssumedRoleUser:             xmlAssumedRoleUser{Arn: creds.Session.PrincipalARN, AssumedRoleID: creds.Session.PrincipalID},
		Provider:                    wi.provider,
		Audience:                    wi.audience,
		SourceIdentity:              creds.Session.SourceIdentity,
	}
	if sp.hasPacked() {
		res.PackedPolicySize = &packed
	}
	return res, nil
}

// verifyIDToken verifies an OIDC ID token against the account's OIDC
// providers and then the well-known ones, and returns its condition keys.
func (s *Server) verifyIDToken(ctx context.Context, account, token string) (webIdentity, *Error) {
	stored, err := s.dir.OIDCProviders(ctx, account)
	if err != nil {
		s.log.Error("sts: OIDC provider lookup", "account", account, "err", err)
		return webIdentity{}, errInternal()
	}
	providers := make([]federation.OIDCProvider, len(stored), len(stored)+2)
	for i, sp := range stored {
		providers[i] = federation.OIDCProvider{URL: sp.URL, ClientIDs: sp.ClientIDs}
		if sp.JWKS != "" {
			providers[i].JWKS = []byte(sp.JWKS)
		}
	}
	if s.wellKnown != nil {
		providers = append(providers, s.wellKnown.Providers()...)
	}
	claims, matched, err := s.oidc.Verify(ctx, token, providers)
	if err != nil {
		return webIdentity{}, federationError(err)
	}
	wi := webIdentity{subject: claims.Subject, audience: claims.ClientID, extra: claims.Extra, keys: map[string][]string{}}
	host := matched.WellKnown
	if host != "" {
		wi.provider = host
	} else {
		prov := stored[slices.IndexFunc(providers, func(p federation.OIDCProvider) bool { return p.URL == matched.URL })]
		host = prov.HostPath()
		wi.provider, wi.equivalent = prov.ARN(), []string{host}
	}
	wi.keys[host+":sub"] = []string{claims.Subject}
	wi.keys[host+":aud"] = []string{claims.ClientID}
	if len(claims.Audience) > 0 {
		wi.keys[host+":oaud"] = claims.Audience
	}
	if amr := stringsOf(claims.Extra["amr"]); len(amr) > 0 {
		wi.keys[host+":amr"] = amr
	}
	if azp, ok := claims.Extra["azp"].(string); ok {
		wi.keys[host+":azp"] = []string{azp}
	}
	if email, ok := claims.Extra["email"].(string); ok {
		wi.keys[host+":email"] = []string{email}
	}
	return wi, nil
}

// verifyAccessToken opens an OAuth 2.0 access token of a well-known
// provider: its keys are PROVIDER:app_id and graph.facebook.com:id or
// www.amazon.com:user_id.
func (s *Server) verifyAccessToken(provider, token string) (webIdentity, *Error) {
	if s.wellKnown == nil {
		return webIdentity{}, newError(CodeInvalidIdentityToken, http.StatusBadRequest,
			"ProviderId %s is not supported by this server: it was started without the built-in web identity providers", truncate(provider, 256))
	}
	c, err := s.wellKnown.VerifyAccessToken(provider, token)
	if err != nil {
		return webIdentity{}, federationError(err)
	}
	userKey := provider + ":id"
	if provider == federation.ProviderAmazon {
		userKey = provider + ":user_id"
	}
	return webIdentity{
		provider: provider, subject: c.UserID, audience: c.AppID,
		keys: map[string][]string{provider + ":app_id": {c.AppID}, userKey: {c.UserID}},
	}, nil
}
