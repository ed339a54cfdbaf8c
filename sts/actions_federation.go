package sts

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// WebIdentityVerifier verifies an OIDC ID token against the OIDC providers
// of the role's account. *federation.OIDCVerifier implements it. Errors
// should be *federation.Error carrying the STS error code.
type WebIdentityVerifier interface {
	Verify(ctx context.Context, token string, providers []federation.OIDCProvider) (federation.WebIdentityClaims, *federation.OIDCProvider, error)
}

// SAMLVerifier verifies a base64 SAMLResponse against a SAML provider;
// federation.VerifySAML is one.
type SAMLVerifier func(samlResponseB64 string, provider federation.SAMLProvider, now time.Time) (federation.SAMLAssertion, error)

// awsTagsClaim is the claim an OIDC token carries session tags in.
const awsTagsClaim = "https://aws.amazon.com/tags"

// federationError maps a federation failure to the STS error.
func federationError(err error) *Error {
	var fe *federation.Error
	if errors.As(err, &fe) {
		return &Error{Code: fe.Code, Status: fe.HTTPStatus(), Msg: fe.Msg}
	}
	return newError(CodeInvalidIdentityToken, http.StatusBadRequest, "The token could not be validated.")
}

// tokenTags reads session tags from the https://aws.amazon.com/tags claim:
// {"principal_tags": {"KEY": ["VALUE"]}, "transitive_tag_keys": ["KEY"]}.
func tokenTags(extra map[string]any) ([]Tag, []string) {
	claim, ok := extra[awsTagsClaim].(map[string]any)
	if !ok {
		return nil, nil
	}
	var tags []Tag
	if pt, ok := claim["principal_tags"].(map[string]any); ok {
		for k, v := range pt {
			if vals := stringsOf(v); len(vals) > 0 {
				tags = append(tags, Tag{Key: k, Value: vals[0]})
			}
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return tags, stringsOf(claim["transitive_tag_keys"])
}

// stringsOf turns a JSON string or list of strings into a list.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// assumeRoleWithSAML is AssumeRoleWithSAML: unsigned; the signed assertion
// is the credential. PrincipalArn names the SAML provider, whose metadata
// holds the signing certificate; the assertion's Role attribute must pair
// RoleArn with it, and the role must trust the provider.
func (s *Server) assumeRoleWithSAML(rc *request) (any, *Error) {
	p := rc.params
	var v validation
	roleARN := v.str(p, fRoleARN, true)
	principalARN := v.str(p, fPrincipalARN, true)
	assertionB64 := v.str(p, fSAMLAssertion, true)
	duration := v.duration(p, ActionAssumeRoleWithSAML)
	sp, e := readSessionParams(p, &v, false, 0)
	if e != nil {
		return nil, e
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	if _, e := sp.check(); e != nil {
		return nil, e
	}
	const act = "sts:AssumeRoleWithSAML"
	notAllowed := errAccessDenied("Not authorized to perform %s", act)
	account, name, err := rolestore.ParseSAMLProviderARN(principalARN)
	if err != nil {
		return nil, newError(CodeValidationError, http.StatusBadRequest,
			"PrincipalArn must be a SAML provider ARN, arn:aws:iam::ACCOUNT:saml-provider/NAME, got %s", truncate(principalARN, 256))
	}
	role, found, e := s.lookupRole(rc, roleARN)
	if e != nil {
		return nil, e
	}
	if !found || role.AccountID != account {
		return nil, notAllowed
	}
	prov, err := s.dir.SAMLProvider(rc.ctx, account, name)
	if errors.Is(err, rolestore.ErrNotFound) {
		return nil, newError(CodeInvalidIdentityToken, http.StatusBadRequest, "No SAML provider %s found in account %s", name, account)
	}
	if err != nil {
		s.log.Error("sts: SAML provider lookup", "provider", principalARN, "err", err)
		return nil, errInternal()
	}
	now := s.now()
	as, err := s.saml(assertionB64, federation.SAMLProvider{ARN: prov.ARN(), MetadataXML: []byte(prov.MetadataXML)}, now)
	if err != nil {
		return nil, federationError(err)
	}
	if !as.HasRole(roleARN, prov.ARN()) {
		return nil, errAccessDenied("Not authorized to perform %s: the assertion's Role attribute does not pair %s with %s", act, roleARN, prov.ARN())
	}
	if duration == 0 {
		duration = as.SessionDuration
	}
	if !as.NotOnOrAfter.IsZero() {
		// The session may not outlive the IdP's SessionNotOnOrAfter.
		lim := Durations[ActionAssumeRoleWithSAML]
		want := duration
		if want == 0 {
			want = lim.Default
		}
		if left := as.NotOnOrAfter.Sub(now).Truncate(time.Second); left < want {
			duration = max(left, lim.Min)
		}
	}
	keys := make([]string, 0, len(as.Tags))
	for k := range as.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sp.tags = append(sp.tags, Tag{Key: k, Value: as.Tags[k]})
	}
	sp.transitiveTagKeys = as.TransitiveTagKeys
	packed, e := sp.check()
	if e != nil {
		return nil, e
	}

	pc := s.baseContext(rc)
	pc.Set("aws:FederatedProvider", prov.ARN())
	pc.Set("saml:sub", as.Subject)
	pc.Set("saml:sub_type", as.SubjectType)
	pc.Set("saml:aud", as.Audience)
	pc.Set("saml:iss", as.Issuer)
	pc.Set("saml:doc", account+"/"+prov.Name)
	if as.NameQualifier != "" {
		pc.Set("saml:namequalifier", as.NameQualifier)
	}
	if as.SourceIdentity != "" && strings.HasPrefix(strings.ToLower(as.SourceIdentity), "aws:") {
		return nil, newError(CodeInvalidIdentityToken, http.StatusBadRequest, "The SourceIdentity attribute must not start with \"aws:\".")
	}
	a := &assumption{
		action:    ActionAssumeRoleWithSAML,
		principal: policy.Principal{Type: policy.PrincipalFederated, ARN: prov.ARN(), Account: account},
		role:      role, ctx: pc, sessionName: as.SessionName, duration: duration, sp: sp,
		sourceIdentity: as.SourceIdentity, provider: prov.ARN(),
		denied: func(req policy.Request, dec policy.Decision) *Error {
			return s.denyAs("Not authorized to perform "+req.Action, nil, req, dec)
		},
	}
	creds, e := s.assume(rc, a)
	if e != nil {
		return nil, e
	}
	res := assumeRoleWithSAMLResult{
		Credentials:     credentialsXML(creds),
		AssumedRoleUser: xmlAssumedRoleUser{Arn: creds.Session.PrincipalARN, AssumedRoleID: creds.Session.PrincipalID},
		Subject:         as.Subject,
		SubjectType:     as.SubjectType,
		Issuer:          as.Issuer,
		Audience:        as.Audience,
		NameQualifier:   as.NameQualifier,
		SourceIdentity:  creds.Session.SourceIdentity,
	}
	if sp.hasPacked() {
		res.PackedPolicySize = &packed
	}
	return res, nil
}
