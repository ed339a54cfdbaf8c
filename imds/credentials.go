package imds

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Credentials are the role credentials served at
// /latest/meta-data/iam/security-credentials/ROLE.
type Credentials struct {
	AccessKeyID, SecretAccessKey, Token string
	LastUpdated, Expiration             time.Time
}

// LogValue keeps the secret and the token out of logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.Time("last_updated", c.LastUpdated),
		slog.Time("expiration", c.Expiration),
	)
}

// Attachment is the instance profile attached to the instance and its
// current role credentials.
type Attachment struct {
	ProfileARN, ProfileID, Role string
	Credentials                 Credentials
}

// LogValue keeps the secret and the token out of logs.
func (a Attachment) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile_arn", a.ProfileARN),
		slog.String("role", a.Role),
		slog.Any("credentials", a.Credentials),
	)
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

// CredentialSourceFunc adapts a function to a CredentialSource, as
// http.HandlerFunc adapts one to a Handler.
type CredentialSourceFunc func() (Attachment, bool)

// Current calls f.
func (f CredentialSourceFunc) Current() (Attachment, bool) { return f() }

func (s *Server) current() (Attachment, bool) {
	a, ok := s.creds.Current()
	if !ok || a.Role == "" {
		return Attachment{}, false
	}
	return a, true
}

// credentialRoutes adds /latest/meta-data/iam/…. The extended path
// (iam/security-credentials-extended/) is not served: clients that try it
// first fall back to the legacy path only on 404, so it must stay unmatched.
func (s *Server) credentialRoutes(handle func(string, kind, func(http.ResponseWriter, *http.Request) int)) {
	handle(routeIAM, kindMetadata, s.serveIAM)
	handle(routeIAMInfo, kindMetadata, s.serveIAMInfo)
	handle(routeCredentialsList, kindMetadata, s.serveCredentialsList)
	handle(routeCredentials, kindMetadata, s.serveCredentials)
}

func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request) int {
	if _, ok := s.current(); !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, s.bodies.iam)
}

func (s *Server) serveIAMInfo(w http.ResponseWriter, r *http.Request) int {
	a, ok := s.current()
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, appendIAMInfo(nil, &a))
}

// serveCredentialsList answers the role name with no newline after it;
// botocore uses the whole body as the name.
func (s *Server) serveCredentialsList(w http.ResponseWriter, r *http.Request) int {
	a, ok := s.current()
	if !ok {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeText(w, r, []byte(a.Role))
}

// serveCredentials is the hot path: one Current call, one buffer.
func (s *Server) serveCredentials(w http.ResponseWriter, r *http.Request) int {
	a, ok := s.current()
	// The route matched, so what follows the prefix is the {role} segment.
	if !ok || a.Role != strings.TrimPrefix(r.URL.Path, credentialsPrefix) {
		return writeError(w, r, http.StatusNotFound)
	}
	c := &a.Credentials
	buf := make([]byte, 0, credentialsDocSize+len(c.AccessKeyID)+len(c.SecretAccessKey)+len(c.Token))
	return writeText(w, r, appendCredentials(buf, c))
}

// credentialsPrefix is routeCredentials up to its {role} variable.
const credentialsPrefix = "/latest/meta-data/iam/security-credentials/"

// credentialsDocSize is the length of the credentials document less its
// three (unescaped) values, so that one allocation holds it.
const credentialsDocSize = 194

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
// aws-sdk-go-v2 refuses the document unless Code is "Success".
func appendCredentials(b []byte, c *Credentials) []byte {
	b = append(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, c.LastUpdated)
	b = append(b, "\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : "...)
	b = appendJSONString(b, c.AccessKeyID)
	b = append(b, ",\n  \"SecretAccessKey\" : "...)
	b = appendJSONString(b, c.SecretAccessKey)
	b = append(b, ",\n  \"Token\" : "...)
	b = appendJSONString(b, c.Token)
	b = append(b, ",\n  \"Expiration\" : \""...)
	b = appendTimestamp(b, c.Expiration)
	return append(b, "\"\n}"...)
}

// appendIAMInfo renders iam/info. LastUpdated is the credentials' own.
func appendIAMInfo(b []byte, a *Attachment) []byte {
	b = append(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \""...)
	b = appendTimestamp(b, a.Credentials.LastUpdated)
	b = append(b, "\",\n  \"InstanceProfileArn\" : "...)
	b = appendJSONString(b, a.ProfileARN)
	b = append(b, ",\n  \"InstanceProfileId\" : "...)
	b = appendJSONString(b, a.ProfileID)
	return append(b, "\n}"...)
}
