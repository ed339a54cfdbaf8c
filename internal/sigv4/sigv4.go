// Package sigv4 verifies AWS Signature Version 4 on the server side, for
// imdsemu's Query APIs (STS, IAM): it parses the signature of a request
// (Authorization header or presigned query), checks its credential scope and
// clock against the service's, and recomputes it with the secret the caller
// finds for the access key id. It looks up no key and knows no service: its
// callers do (sts.Server.Authenticate). Pure; no state; safe for concurrent
// use.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Signature Version 4, verified by hand from the IAM User Guide ("Create a
// signed AWS API request", "Elements of an AWS API request signature",
// "Troubleshoot signed requests"). The verifier canonicalises the request
// exactly as the client declared it (its SignedHeaders, in its order), so any
// conforming signer verifies, including ones that sign headers the AWS SDK
// signer would ignore.

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	scopeTerminator = "aws4_request"
	// MaxClockSkew is how far a request's signing time may be from the
	// server's clock, either way. STS's messages say 15 minutes.
	MaxClockSkew = 15 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires SigV4 allows (7 days).
	maxPresignExpires = 7 * 24 * time.Hour
	emptySHA256       = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload   = "UNSIGNED-PAYLOAD"
)

// Query parameters of a presigned request.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
)

// Signature is the signature a request carries, parsed but not yet verified.
type Signature struct {
	presigned bool
	// Credential scope: AKID/DATE/REGION/SERVICE/TERMINATOR.
	accessKeyID, scopeDate, region, service, terminator string
	// signedHeaders is the SignedHeaders value as sent: lower-case names
	// separated by ';'.
	signedHeaders string
	signature     string
	// amzDate is the signing time as it goes into the string to sign.
	amzDate string
	t       time.Time
	// expires is X-Amz-Expires of a presigned request (0 when absent).
	expires time.Duration
	// token is X-Amz-Security-Token, from the header or the query.
	token string
}

// Error codes the verifier answers with, as AWS's Query APIs name them.
const (
	CodeIncompleteSignature       = "IncompleteSignature"
	CodeSignatureDoesNotMatch     = "SignatureDoesNotMatch"
	CodeXAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
)

// MsgSignatureDoesNotMatch is AWS's message for a wrong signature, word for word.
const MsgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// Error is a verification failure as it goes on the wire: AWS's code, the
// HTTP status and the message. Messages never carry a secret.
type Error struct {
	Code   string
	Status int
	Msg    string
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Msg }

// errIncompleteSignature is 400, as STS answers it (hashicorp/vault#4939, boto3#2280).
func errIncompleteSignature(format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: CodeIncompleteSignature, Status: http.StatusBadRequest, Msg: msg}
}

func errSignatureDoesNotMatch(msg string) *Error {
	if msg == "" {
		msg = MsgSignatureDoesNotMatch
	}
	return &Error{Code: CodeSignatureDoesNotMatch, Status: http.StatusForbidden, Msg: msg}
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// AccessKeyID is the key id of the credential scope.
func (s *Signature) AccessKeyID() string { return s.accessKeyID }

// Region is the region of the credential scope.
func (s *Signature) Region() string { return s.region }

// Service is the service of the credential scope ("sts", "iam").
func (s *Signature) Service() string { return s.service }

// Token is X-Amz-Security-Token, from the header or the query; "" for
// long-term keys.
func (s *Signature) Token() string { return s.token }

// ScopeService returns the service named in r's credential scope (the
// Authorization header's Credential, or X-Amz-Credential), or "" when r
// carries none. It verifies nothing: it lets one listener send each request
// to the API it was signed for.
func ScopeService(r *http.Request) string {
	var cred string
	if auth := r.Header.Get("Authorization"); auth != "" {
		i := strings.Index(auth, "Credential=")
		if i < 0 {
			return ""
		}
		cred, _, _ = strings.Cut(auth[i+len("Credential="):], ",")
	} else {
		cred = rawGet(r.URL.RawQuery, qCredential)
	}
	parts, ok := splitScope(strings.TrimSpace(cred))
	if !ok {
		return ""
	}
	return parts[3]
}

// splitScope splits a credential KEYID/DATE/REGION/SERVICE/TERMINATOR
// into its five parts; ok is false unless there are exactly five.
func splitScope(cred string) (parts [5]string, ok bool) {
	for i := range 4 {
		if parts[i], cred, ok = strings.Cut(cred, "/"); !ok {
			return parts, false
		}
	}
	parts[4] = cred
	return parts, !strings.Contains(cred, "/")
}

// HasSignature reports whether r carries any SigV4 authentication: an
// Authorization header or presigned query parameters.
func HasSignature(r *http.Request, q Query) bool {
	return r.Header.Get("Authorization") != "" || q.Has(qAlgorithm) || q.Has(qCredential) || q.Has(qSignature)
}

// Parse extracts the signature from the Authorization header or from
// the query string. Malformed input is IncompleteSignature (400).
func Parse(r *http.Request, q Query) (Signature, *Error) {
	auth := r.Header.Get("Authorization")
	presigned := q.Has(qAlgorithm) || q.Has(qCredential)
	if auth != "" && presigned {
		return Signature{}, errIncompleteSignature("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	}
	var (
		s   Signature
		err *Error
	)
	if presigned {
		s, err = parsePresigned(q)
	} else {
		s, err = parseAuthorization(auth, r.Header)
	}
	if err != nil {
		return Signature{}, err
	}
	if s.token == "" {
		s.token = r.Header.Get("X-Amz-Security-Token")
	}
	if !s.signs("host") {
		return Signature{}, errIncompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return s, nil
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// and the signing time from X-Amz-Date (or Date).
func parseAuthorization(auth string, h http.Header) (Signature, *Error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != sigAlgorithm {
		return Signature{}, errIncompleteSignature("Unsupported AWS 'algorithm': '%s'. imdsemu's STS accepts only %s (Signature Version 4).", truncate(alg, 64), sigAlgorithm)
	}
	var s Signature
	var cred string
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Signature{}, errIncompleteSignature("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", truncate(part, 256), truncate(auth, 512))
		}
		seen[k] = true
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			s.signedHeaders = v
		case "Signature":
			s.signature = v
		}
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if !seen[k] {
			missing = append(missing, "Authorization header requires '"+k+"' parameter.")
		}
	}
	amz := h.Get("X-Amz-Date")
	date := h.Get("Date")
	if amz == "" && date == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return Signature{}, errIncompleteSignature("%s Authorization=%s", strings.Join(missing, " "), truncate(auth, 512))
	}
	if err := s.setCredential(cred); err != nil {
		return Signature{}, err
	}
	if err := s.setSignedHeaders(s.signedHeaders); err != nil {
		return Signature{}, err
	}
	if amz != "" {
		if err := s.setDate(amz); err != nil {
			return Signature{}, err
		}
	} else {
		t, err := http.ParseTime(date)
		if err != nil {
			return Signature{}, errIncompleteSignature("Date must be in ISO-8601 'basic format' (X-Amz-Date) or an HTTP date (Date). Got '%s'.", truncate(date, 64))
		}
		s.t = t.UTC()
		s.amzDate = s.t.Format(amzDateFormat)
	}
	return s, nil
}

// parsePresigned reads the X-Amz-* query parameters of a presigned request.
func parsePresigned(q Query) (Signature, *Error) {
	var v [5]string
	for i, k := range [...]string{qAlgorithm, qCredential, qDate, qSignedHeaders, qSignature} {
		if v[i] = q.Get(k); v[i] == "" {
			return Signature{}, errIncompleteSignature("AWS query-string parameters must include '%s'. Re-examine the query-string parameters.", k)
		}
	}
	alg, cred, date, signed, sig := v[0], v[1], v[2], v[3], v[4]
	if alg != sigAlgorithm {
		return Signature{}, errIncompleteSignature("X-Amz-Algorithm only supports \"%s\", got '%s'.", sigAlgorithm, truncate(alg, 64))
	}
	s := Signature{presigned: true, signature: sig, token: q.Get(qSecurityToken)}
	if err := s.setCredential(cred); err != nil {
		return Signature{}, err
	}
	if err := s.setSignedHeaders(signed); err != nil {
		return Signature{}, err
	}
	if err := s.setDate(date); err != nil {
		return Signature{}, err
	}
	if v, ok := q.Lookup(qExpires); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || time.Duration(n)*time.Second > maxPresignExpires {
			return Signature{}, errIncompleteSignature("X-Amz-Expires must be a whole number of seconds from 1 to %d, got '%s'.", int64(maxPresignExpires/time.Second), truncate(v, 32))
		}
		s.expires = time.Duration(n) * time.Second
	}
	return s, nil
}

func (s *Signature) setCredential(cred string) *Error {
	parts, ok := splitScope(cred)
	if !ok {
		return errIncompleteSignature("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", truncate(cred, 256))
	}
	s.accessKeyID, s.scopeDate, s.region, s.service, s.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

func (s *Signature) setSignedHeaders(v string) *Error {
	if v == "" {
		return errIncompleteSignature("SignedHeaders must not be empty; it must list at least 'host'.")
	}
	s.signedHeaders = v
	for h := range strings.SplitSeq(v, ";") {
		if h == "" || h != strings.ToLower(h) {
			return errIncompleteSignature("SignedHeaders must be lower-case header names separated by ';', got '%s'.", truncate(v, 256))
		}
	}
	return nil
}

// signs reports whether the signature covers the header name (lower case).
func (s *Signature) signs(name string) bool {
	for h := range strings.SplitSeq(s.signedHeaders, ";") {
		if h == name {
			return true
		}
	}
	return false
}

func (s *Signature) setDate(v string) *Error {
	t, err := time.Parse(amzDateFormat, v)
	if err != nil {
		return errIncompleteSignature("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", truncate(v, 64))
	}
	s.t, s.amzDate = t.UTC(), v
	return nil
}

// CheckScope checks the credential scope (for service: "sts", "iam") and the signing time against now,
// with AWS's messages. Failures are SignatureDoesNotMatch (403).
func (s *Signature) CheckScope(now time.Time, service string) *Error {
	var day [16]byte
	if want := s.t.AppendFormat(day[:0], scopeDateFormat); s.scopeDate != string(want) {
		return errSignatureDoesNotMatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			truncate(s.scopeDate, 32) + "' != '" + string(want) + "', from '" + s.amzDate + "'.")
	}
	if s.region == "" {
		return errSignatureDoesNotMatch("Credential should be scoped to a valid region, not ''.")
	}
	if s.service != service {
		return errSignatureDoesNotMatch("Credential should be scoped to correct service: '" + service + "'.")
	}
	if s.terminator != scopeTerminator {
		return errSignatureDoesNotMatch("Credential should be scoped with a valid terminator: '" + scopeTerminator + "', not '" + truncate(s.terminator, 32) + "'.")
	}
	now = now.UTC()
	f := func(t time.Time) string { return t.Format(amzDateFormat) }
	// A presigned URL lives for X-Amz-Expires from its signing time (checked
	// below), not for the 15-minute skew: AWS accepts a URL signed an hour
	// ago with X-Amz-Expires=3600. A session token's own expiry still ends
	// it first (authenticate opens the token). Only a presigned request
	// without X-Amz-Expires falls back to the skew window.
	if !(s.presigned && s.expires > 0) && s.t.Before(now.Add(-MaxClockSkew)) {
		return errSignatureDoesNotMatch("Signature expired: " + s.amzDate + " is now earlier than " + f(now.Add(-MaxClockSkew)) + " (" + f(now) + " - 15 min.)")
	}
	if s.t.After(now.Add(MaxClockSkew)) {
		return errSignatureDoesNotMatch("Signature not yet current: " + s.amzDate + " is still later than " + f(now.Add(MaxClockSkew)) + " (" + f(now) + " + 15 min.)")
	}
	if s.presigned && s.expires > 0 && now.After(s.t.Add(s.expires)) {
		return errSignatureDoesNotMatch("Signature expired: " + s.amzDate + " + X-Amz-Expires " + strconv.FormatInt(int64(s.expires/time.Second), 10) +
			"s is now earlier than " + f(now) + ".")
	}
	return nil
}

// Verify recomputes the signature with secret and compares it in constant
// time. body is the whole request body.
func (s *Signature) Verify(r *http.Request, q Query, body []byte, secret string) *Error {
	return s.VerifyWithKey(r, q, body, signingKey(secret, s.scopeDate, s.region, s.service))
}

// canonicalRequestSize is the stack buffer the canonical request is built
// in: a session token is about 1 KB. A larger request spills to the heap.
const canonicalRequestSize = 4096

// VerifyWithKey is Verify with the signing key of the request's scope
// already derived (KeyCache.Get). It builds the canonical request and the
// string to sign in stack buffers: a request that verifies allocates
// nothing here.
func (s *Signature) VerifyWithKey(r *http.Request, q Query, body []byte, key []byte) *Error {
	var payload [sha256.Size * 2]byte
	p, err := payloadHash(payload[:0], r, body)
	if err != nil {
		return err
	}
	var buf [canonicalRequestSize]byte
	sum := sha256.Sum256(s.appendCanonicalRequest(buf[:0], r, q, p))

	var stsBuf [256]byte
	sts := append(stsBuf[:0], sigAlgorithm...)
	sts = append(sts, '\n')
	sts = append(sts, s.amzDate...)
	sts = append(sts, '\n')
	sts = appendScope(sts, s)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, sum[:])

	mac := hmacSum(key, sts)
	var want, got [sha256.Size * 2]byte
	hex.Encode(want[:], mac[:])
	if len(s.signature) != len(got) {
		return errSignatureDoesNotMatch("")
	}
	copy(got[:], s.signature)
	if !hmac.Equal(want[:], got[:]) {
		return errSignatureDoesNotMatch("")
	}
	return nil
}

// hmacSum is HMAC-SHA256 (RFC 2104) of msg under key, computed with
// sha256.Sum256 on stack buffers: hmac.New allocates two digests and its
// pads on every call, a fifth of a verified request's allocations.
// TestHMACSum holds it to crypto/hmac.
func hmacSum(key, msg []byte) [sha256.Size]byte {
	const block = 64 // SHA-256's block size
	if len(key) > block {
		k := sha256.Sum256(key)
		key = k[:]
	}
	var inner [block + 256]byte
	in := inner[:block]
	copy(in, key)
	for i := range in {
		in[i] ^= 0x36
	}
	ih := sha256.Sum256(append(in, msg...))
	var outer [block + sha256.Size]byte
	copy(outer[:block], key)
	for i := range block {
		outer[i] ^= 0x5c
	}
	copy(outer[block:], ih[:])
	return sha256.Sum256(outer[:])
}

func appendScope(b []byte, s *Signature) []byte {
	b = append(b, s.scopeDate...)
	b = append(b, '/')
	b = append(b, s.region...)
	b = append(b, '/')
	b = append(b, s.service...)
	b = append(b, '/')
	return append(b, s.terminator...)
}

// payloadHash appends the hex SHA-256 of the body to b, or the
// X-Amz-Content-Sha256 value the client declared, which must then agree
// with the body (or be UNSIGNED-PAYLOAD for an empty body).
func payloadHash(b []byte, r *http.Request, body []byte) ([]byte, *Error) {
	sum := sha256.Sum256(body)
	actual := hex.AppendEncode(b, sum[:])
	declared := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case declared == "":
		return actual, nil
	case declared == unsignedPayload && len(body) == 0:
		return append(b, declared...), nil
	case declared != string(actual):
		return nil, &Error{Code: CodeXAmzContentSHA256Mismatch, Status: http.StatusBadRequest,
			Msg: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return actual, nil
}

// appendCanonicalRequest appends the SigV4 canonical request to b:
// METHOD\nURI\nQUERY\nHEADERS\nSIGNEDHEADERS\nPAYLOADHASH.
func (s *Signature) appendCanonicalRequest(b []byte, r *http.Request, q Query, payload []byte) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b = appendEscaped(b, path, false)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, q, s.presigned)
	b = append(b, '\n')
	for name := range strings.SplitSeq(s.signedHeaders, ";") {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, s.signedHeaders...)
	b = append(b, '\n')
	return append(b, payload...)
}

// appendHeaderValue writes the canonical value of a signed header: every
// value trimmed, inner runs of spaces collapsed, joined with ",". Go keeps
// Host and (sometimes) Content-Length out of r.Header.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		return appendTrimmed(b, r.Host)
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
	}
	for i, v := range headerValues(r.Header, name) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// headerValues is h.Values(name) for a lower-case name, without the string
// http.Header.Values allocates to canonicalise it ("x-amz-date" to
// "X-Amz-Date"): names of letters, digits and '-' are canonicalised on the
// stack, others go through Values.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return h.Values(name)
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}

// appendTrimmed appends v without leading and trailing spaces and with each
// inner run of spaces collapsed to one.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") { // the usual case, and a session token is 1 KB
		return append(b, v...)
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if !space {
				b = append(b, ' ')
			}
			space = true
			continue
		}
		space = false
		b = append(b, c)
	}
	return b
}

// canonicalPairs is how many query parameters appendCanonicalQuery sorts
// on the stack; a presigned request has nine or ten.
const canonicalPairs = 16

// appendCanonicalQuery encodes every parameter (but X-Amz-Signature of a
// presigned request) with RFC 3986 and sorts the encoded pairs. A
// parameter sent in its canonical encoding, as the SDKs send them, is
// taken as it is; only others are decoded and encoded again.
func appendCanonicalQuery(b []byte, q Query, presigned bool) []byte {
	var stack [canonicalPairs]rawPair
	pairs := stack[:0]
	for _, p := range q.pairs {
		k, v := p.k, p.v
		if !canonicalComponent(k) {
			k = string(appendEscaped(nil, decode(k), true))
		}
		if presigned && k == qSignature {
			continue
		}
		if !canonicalComponent(v) {
			v = string(appendEscaped(nil, decode(v), true))
		}
		pairs = append(pairs, rawPair{k: k, v: v})
	}
	slices.SortFunc(pairs, func(a, b rawPair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

// appendEscaped URI-encodes s: everything but A-Z a-z 0-9 - . _ ~ (and '/'
// unless encodeSlash) becomes %XX with upper-case hex.
func appendEscaped(b []byte, s string, encodeSlash bool) []byte {
	const hexUpper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encodeSlash) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return b
}

// KeyCache remembers derived signing keys: a client signs every request
// of a day with the key of its secret, date, region and service, and
// deriving it takes four HMACs, a sixth of verifying a request.
type KeyCache struct {
	c *lru.Cache[signingScope, [sha256.Size]byte]
}

type signingScope struct{ secret, date, region, service string }

// NewKeyCache returns a cache of the signing keys of size scopes. It is
// safe for concurrent use.
func NewKeyCache(size int) (KeyCache, error) {
	c, err := lru.New[signingScope, [sha256.Size]byte](size)
	return KeyCache{c: c}, err
}

// Get returns the signing key of secret for the request's scope.
func (k KeyCache) Get(secret string, s *Signature) [sha256.Size]byte {
	scope := signingScope{secret, s.scopeDate, s.region, s.service}
	key, ok := k.c.Get(scope)
	if !ok {
		key = [sha256.Size]byte(signingKey(secret, s.scopeDate, s.region, s.service))
		// The request's strings may hold the whole request in memory.
		k.c.Add(signingScope{strings.Clone(secret), strings.Clone(s.scopeDate), strings.Clone(s.region), strings.Clone(s.service)}, key)
	}
	return key
}

// signingKey derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
