// Package federation verifies the identities that AWS STS accepts from
// outside AWS, and plays the identity providers that issue them, so that
// imdsemu's STS can answer AssumeRoleWithWebIdentity and AssumeRoleWithSAML.
//
// # Verifying
//
// [OIDCVerifier.Verify] checks an OpenID Connect ID token (RS256 or ES256)
// against the OIDC providers registered in an account, as STS does for
// AssumeRoleWithWebIdentity: the provider is the one whose URL is the
// token's iss, aud (or azp) must be one of its client IDs, and the token must
// not have expired. Keys come from the provider's inline JWKS or from its
// discovery document (iss/.well-known/openid-configuration, then jwks_uri),
// cached for [OIDCOptions.CacheTTL] and fetched again once when a token names
// a key id the cache does not hold.
//
// [VerifySAML] checks a base64 SAMLResponse against an IAM SAML provider's
// metadata, as STS does for AssumeRoleWithSAML: the Response or its Assertion
// must be signed with one of the metadata's signing certificates, the
// assertion must be meant for AWS (audience and recipient
// https://signin.aws.amazon.com/saml) and still valid, and it must carry the
// AWS attributes (Role, RoleSessionName, optionally SessionDuration,
// PrincipalTag:*, TransitiveTagKeys, SourceIdentity).
//
// Every failure is an [*Error] carrying the STS error code
// (InvalidIdentityToken, ExpiredTokenException, IDPCommunicationError,
// ValidationError) and a message a person can act on. Messages never contain
// the token or the assertion itself.
//
// # Network safety
//
// imdsemu must never reach outside the machine. The verifier fetches
// discovery documents and key sets only from loopback addresses
// (127.0.0.0/8, ::1) or localhost, checks every URL (including redirects)
// before any connection is made, and its default client also refuses to
// connect to a non-loopback address after name resolution and ignores proxy
// settings. Anything else fails with IDPCommunicationError.
//
// # Built-in identity providers
//
// [IdP] is a minimal OIDC provider: it serves a discovery document and a JWKS
// (key id = RFC 7638 thumbprint) from [IdP.Handler] and mints RS256 tokens
// with [IdP.Token]. [SAMLIdP] publishes IdP metadata and issues signed SAML
// responses with the AWS attributes. Both exist so that tests, demos and the
// "imdsemu idp" command can federate without a real identity provider.
//
// # Concurrency
//
// OIDCVerifier, IdP and SAMLIdP are safe for concurrent use. The package
// starts no goroutines of its own: fetches run on the caller's goroutine
// (concurrent fetches of one provider's keys are collapsed into one), and
// only the HTTP client's idle keep-alive connections, closed after a
// minute, outlive a call.
//
// Behaviour follows the AWS STS API reference (API version 2011-06-15) for
// AssumeRoleWithWebIdentity and AssumeRoleWithSAML, and the IAM user guide's
// pages on OIDC and SAML 2.0 federation.
package federation
