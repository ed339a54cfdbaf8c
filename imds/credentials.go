package imds

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/imdsemu/imdsemu/credential"
)

// ErrorDocument is what EC2 serves in place of role credentials when it
// cannot get them (for example "AssumeRoleUnauthorizedAccess" when the
// role's trust policy does not let ec2.amazonaws.com assume it): HTTP 200
// with Code, Message and LastUpdated only. The ECS endpoint answers 400
// with its Code and Message.
type ErrorDocument struct {
	Code, Message string
	// Since is when the failure began, served as LastUpdated.
	Since time.Time
}

// Attachment is the instance profile attached to the instance and its
// current role credentials.
type Attachment struct {
	ProfileARN, ProfileID, Role string
	// RoleARN is the role's ARN, served by the ECS endpoint. "" means
	// arn:aws:iam::ACCOUNT:role/Role with ProfileARN's account.
	RoleARN string
	// Credentials are the role's current credentials, unless Error is set.
	Credentials credential.Value
	// Error, when set, is served in place of Credentials.
	Error *ErrorDocument
}

// lastUpdated is the LastUpdated of the credential document and iam/info.
func (a *Attachment) lastUpdated() time.Time {
	if a.Error != nil {
		return a.Error.Since
	}
	return a.Credentials.Issued
}

// LogValue keeps the secret and the token out of logs.
func (a Attachment) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("profile_arn", a.ProfileARN), slog.String("role", a.Role)}
	if a.Error != nil {
		attrs = append(attrs, slog.String("code", a.Error.Code), slog.Time("last_updated", a.Error.Since))
	} else {
		attrs = append(attrs, slog.Any("credentials", a.Credentials))
	}
	return slog.GroupValue(attrs...)
}

// CredentialSource tells the server which instance profile is attached and
// what its current credentials are.
//
// Current must not block on I/O: it is called on the request path, once per
// request that needs it, from many goroutines at once. ok=false means no
// role is attached; the server then lists no iam/ and answers 404 under it.
// An Attachment with an empty Role counts as none.
type CredentialSource interface {
	Current() (Attachment, bool)
}

func (s *Server) current() (Attachment, bool) {
	a, ok := s.creds.Current()
	if !ok || a.Role == "" {
		return Attachment{}, false
	}
	return a, true
}

// accountOf returns the account of an ARN (arn:aws:iam::ACCOUNT:…), or def.
func accountOf(arn, def string) string {
	if a, err := awsarn.Parse(arn); err == nil && len(a.AccountID) == 12 {
		return a.AccountID
	}
	return def
}

// credentialRoutes adds /latest/meta-data/iam/… and identity-credentials/….
func (t *Routes) credentialRoutes() {
	t.metadata(routeCredentials, (*Server).serveCredentials) // the hot path
	t.metadata(routeCredentialsList, (*Server).serveCredentialsList)
	iam := listing("info", "security-credentials/")
	t.metadata(routeIAM, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		if _, ok := s.current(); !ok {
			return writeError(w, r, http.StatusNotFound)
		}
		return writeText(w, r, iam)
	})
	t.metadata(routeIAMInfo, (*Server).serveIAMInfo)
	t.metadata(routeExtendedList, (*Server).serveExtendedList)
	t.metadata(routeExtended, (*Server).serveExtended)
	t.identityListing(routeIdentityCreds, listing("ec2/"))
	t.identityListing(routeIdentityEC2, listing("info", "security-credentials/"))
	t.identityListing(routeIdentityCredsList, listing("ec2-instance"))
	t.metadata(routeIdentityInfo, (*Server).serveIdentityInfo)
	t.metadata(routeIdentityCredsDoc, (*Server).serveIdentityCredentials)
}

func (s *Server) serveIAMInfo(w http.ResponseWriter, r *http.Request, _ string) int {
	a, ok := s.current()
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, appendIAMInfo(nil, &a))
}

// serveCredentialsList answers the role name with no newline after it;
// botocore uses the whole body as the name.
func (s *Server) serveCredentialsList(w http.ResponseWriter, r *http.Request, _ string) int {
	a, ok := s.current()
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, []byte(a.Role))
}

// serveCredentials is the hot path: one Current call, one buffer.
func (s *Server) serveCredentials(w http.ResponseWriter, r *http.Request, version string) int {
	return s.serveRoleCredentials(w, r, version, credentialsPrefix, false)
}

// serveExtendedList and serveExtended answer the extended path (IMDS
// credentials provider v2.1): the legacy listing, and the legacy document
// plus AccountId. Off, they answer 404, the one status on which Java SDK v2
// falls back to the legacy path (aws/aws-sdk-java-v2#6176); any other error
// there is fatal to it.
func (s *Server) serveExtendedList(w http.ResponseWriter, r *http.Request, v string) int {
	if !s.on(switchExtended) {
		return writeError(w, r, http.StatusNotFound)
	}
	return s.serveCredentialsList(w, r, v)
}

func (s *Server) serveExtended(w http.ResponseWriter, r *http.Request, version string) int {
	if !s.on(switchExtended) {
		return writeError(w, r, http.StatusNotFound)
	}
	return s.serveRoleCredentials(w, r, version, extendedPrefix, true)
}

func (s *Server) serveRoleCredentials(w http.ResponseWriter, r *http.Request, version, prefix string, extended bool) int {
	a, ok := s.current()
	// The route matched, so what follows the prefix is the {role} segment.
	if !ok || a.Role != strings.TrimPrefix(r.URL.Path, prefix) {
		return writeError(w, r, http.StatusNotFound)
	}
	if a.Error != nil {
		return writeText(w, r, appendErrorDocument(nil, a.Error))
	}
	c := &a.Credentials
	cache, account := &s.credDoc, ""
	if extended {
		cache, account = &s.extDoc, accountOf(a.ProfileARN, s.inst.AccountID)
	}
	d := cache.get(c, account)
	code := writeBodyLen(w, r, http.StatusOK, headerTextPlain, d.body, d.length)
	s.served(r, version, a.Role, c)
	return code
}

// renderedCache keeps the last credentials document rendered, so that the
// requests of one generation of credentials share it and a credential GET
// allocates nothing for its body. A new generation replaces it on its first
// request.
type renderedCache struct {
	last atomic.Pointer[renderedDoc]
}

type renderedDoc struct {
	c       credential.Value
	account string
	body    []byte   // never modified once stored
	length  []string // Content-Length, shared
}

func (rc *renderedCache) get(c *credential.Value, account string) *renderedDoc {
	if d := rc.last.Load(); d != nil && d.c == *c && d.account == account {
		return d
	}
	buf := make([]byte, 0, credentialsDocSize+extendedDocSize+len(account)+len(c.AccessKeyID)+len(c.SecretAccessKey)+len(c.SessionToken))
	d := &renderedDoc{c: *c, account: account, body: appendCredentials(buf, c, account)}
	d.length = []string{strconv.Itoa(len(d.body))}
	rc.last.Store(d)
	return d
}

// served reports a credential document to OnCredentialsServed.
func (s *Server) served(r *http.Request, version, role string, c *credential.Value) {
	if s.onServed == nil || r.Method == http.MethodHead {
		return
	}
	s.onServed(ServedEvent{
		Role: role, AccessKeyID: c.AccessKeyID, RemoteAddr: r.RemoteAddr,
		Version: version, Path: r.URL.Path, At: s.now(),
	})
}

// Path prefixes of the routes with a {role} variable.
const (
	credentialsPrefix = "/latest/meta-data/iam/security-credentials/"
	extendedPrefix    = "/latest/meta-data/iam/security-credentials-extended/"
)

// credentialsDocSize is the length of the credentials document less its
// three (unescaped) values, so that one allocation holds it;
// extendedDocSize is what AccountId adds, less the account.
const (
	credentialsDocSize = 194
	extendedDocSize    = 21
)

// appendCredentials renders the credentials document with the keys in the
// order, and the " : " layout, of real IMDS:
//
//	{
//	  "Code" : "Success",
//	  "LastUpdated" : "2012-04-26T16:39:16Z",
//	  "Type" : "AWS-HMAC",
//	  "AccessKeyId" : "ASIA…",
//	  "SecretAccessKey" : "…",
//	  "Token" : "…",
//	  "Expiration" : "2017-05-17T15:09:54Z"
//	}
//
// with "AccountId" after Expiration when account is not empty (the extended
// document). aws-sdk-go-v2 refuses the document unless Code is "Success".
func appendCredentials(b []byte, c *credential.Value, account string) []byte {
	b = append(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, c.Issued)
	b = append(b, "\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : "...)
	b = appendJSONString(b, c.AccessKeyID)
	b = append(b, ",\n  \"SecretAccessKey\" : "...)
	b = appendJSONString(b, c.SecretAccessKey)
	b = append(b, ",\n  \"Token\" : "...)
	b = appendJSONString(b, c.SessionToken)
	b = append(b, ",\n  \"Expiration\" : \""...)
	b = appendTimestamp(b, c.Expires)
	if account != "" {
		b = append(b, "\",\n  \"AccountId\" : "...)
		b = appendJSONString(b, account)
		return append(b, "\n}"...)
	}
	return append(b, "\"\n}"...)
}

// appendErrorDocument renders EC2's error document in place of the
// credentials:
//
//	{
//	  "Code" : "AssumeRoleUnauthorizedAccess",
//	  "Message" : "EC2 cannot assume the role …",
//	  "LastUpdated" : "2020-05-29T07:39:33Z"
//	}
func appendErrorDocument(b []byte, e *ErrorDocument) []byte {
	b = append(b, "{\n  \"Code\" : "...)
	b = appendJSONString(b, e.Code)
	b = append(b, ",\n  \"Message\" : "...)
	b = appendJSONString(b, e.Message)
	b = append(b, ",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, e.Since)
	return append(b, "\"\n}"...)
}

// appendIAMInfo renders iam/info. LastUpdated is the credentials' own.
func appendIAMInfo(b []byte, a *Attachment) []byte {
	b = append(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, a.lastUpdated())
	b = append(b, "\",\n  \"InstanceProfileArn\" : "...)
	b = appendJSONString(b, a.ProfileARN)
	b = append(b, ",\n  \"InstanceProfileId\" : "...)
	b = appendJSONString(b, a.ProfileID)
	return append(b, "\n}"...)
}

// currentIdentity returns the instance identity role credentials, if any;
// the first call may mint them.
func (s *Server) currentIdentity(ctx context.Context) (credential.Value, bool) {
	if s.identity == nil {
		return credential.Value{}, false
	}
	return s.identity(ctx)
}

// identityListing adds a route serving body, a listing under
// identity-credentials/, when the server has identity credentials. The
// listings need no generation, so they mint none.
func (t *Routes) identityListing(route string, body []byte) {
	t.metadata(route, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		if s.identity == nil {
			return writeError(w, r, http.StatusNotFound)
		}
		return writeText(w, r, body)
	})
}

// serveIdentityInfo answers identity-credentials/ec2/info: Code,
// LastUpdated and AccountId (the EC2 User Guide names the path but not the
// fields; these follow iam/info).
func (s *Server) serveIdentityInfo(w http.ResponseWriter, r *http.Request, _ string) int {
	c, ok := s.currentIdentity(r.Context())
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	b := append([]byte(nil), "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, c.Issued)
	b = append(b, "\",\n  \"AccountId\" : "...)
	b = appendJSONString(b, s.inst.AccountID)
	return writeText(w, r, append(b, "\n}"...))
}

// serveIdentityCredentials answers
// identity-credentials/ec2/security-credentials/ec2-instance in the shape of
// the role credentials document. They are not reported to
// OnCredentialsServed: they belong to no instance profile.
func (s *Server) serveIdentityCredentials(w http.ResponseWriter, r *http.Request, _ string) int {
	c, ok := s.currentIdentity(r.Context())
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	buf := make([]byte, 0, credentialsDocSize+len(c.AccessKeyID)+len(c.SecretAccessKey)+len(c.SessionToken))
	return writeText(w, r, appendCredentials(buf, &c, ""))
}
