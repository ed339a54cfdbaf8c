package imds

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/credential"
)

// Mode is the IMDSv2 token requirement, as in the EC2 HttpTokens setting.
type Mode string

// The two modes. The empty Mode means ModeOptional.
const (
	// ModeOptional serves requests with or without a token (IMDSv1 and IMDSv2).
	ModeOptional Mode = "optional"
	// ModeRequired serves only requests that carry a valid token (IMDSv2 only).
	ModeRequired Mode = "required"
)

// MinTokenKeySize is the shortest [Options.TokenKey] New accepts.
const MinTokenKeySize = 32

// Options configures a [Server]. Zero values get the documented defaults.
type Options struct {
	// Credentials supplies the attached instance profile. Required.
	Credentials CredentialSource

	// Instance describes the emulated instance. Zero fields get defaults; see
	// [Instance].
	Instance Instance

	// HTTPTokens is the token mode. "" means ModeOptional.
	HTTPTokens Mode

	// EndpointDisabled answers every request with 403, like http-endpoint=disabled.
	EndpointDisabled bool

	// TokenKey is the HMAC key that signs IMDSv2 tokens, at least
	// MinTokenKeySize bytes. Required. Servers sharing a key and an
	// instance id accept each other's tokens, and tokens outlive a restart
	// with the same key; another instance's token gets 401, as on EC2.
	TokenKey []byte

	// HopLimit is the IP TTL (IPv6 hop limit) that token PUT responses leave
	// with, 1–64, as EC2's HttpPutResponseHopLimit. 0 means 1. It is applied
	// only where the request's context carries its connection: set
	// http.Server.ConnContext to [Server.ConnContext].
	HopLimit int

	// ExtendedCredentials serves iam/security-credentials-extended/ and
	// …-extended/ROLE (the legacy document plus AccountId). Off, both answer
	// 404, as on an instance EC2 has not allow-listed, and clients fall back
	// to the legacy path. The imdsemu CLI turns it on by default.
	ExtendedCredentials bool

	// InstanceMetadataTags serves tags/instance/, as EC2's
	// InstanceMetadataTags=enabled. Off (the default, as on EC2), tags/ is
	// not listed and answers 404.
	InstanceMetadataTags bool

	// Throttle limits each client (remote IP) to a token bucket; requests
	// over it get 429. The zero value does not throttle.
	Throttle Throttle

	// IdentityCredentials supplies the instance identity role credentials
	// served under identity-credentials/ec2/. Nil means none:
	// identity-credentials/ is not listed and answers 404. Otherwise the
	// listings under it are served from the start, and it is called with
	// the request's context only for the documents that carry a generation
	// (security-credentials/ec2-instance and info): it may mint the first
	// generation then, and block for as long as that takes (at most until
	// ctx ends). ok=false answers those two 404.
	IdentityCredentials func(ctx context.Context) (credential.Value, bool)

	// OnCredentialsServed, when set, is called after each credential
	// document is served with Code Success: legacy, extended, or in the ECS
	// format by [Server.ECSHandler] (HEAD requests excluded). It runs on the
	// request goroutine and must not block.
	OnCredentialsServed func(ServedEvent)

	// IdentityKey signs the instance identity document: pkcs7, rsa2048 and
	// signature under /latest/dynamic/instance-identity/. It must be an RSA
	// key whose public half is IdentityCertificate's. Both nil means the
	// signed documents are not served (404).
	IdentityKey         crypto.Signer
	IdentityCertificate *x509.Certificate

	// Notices are the instance's notices (Spot interruption, rebalance,
	// maintenance, Auto Scaling lifecycle), made with [NewNotices] from
	// the same Instance. Nil: the server makes its own, which
	// [Server.Notices] returns.
	Notices *Notices

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Rand is the source of token nonces. Default crypto/rand.Reader.
	Rand io.Reader

	// Logger receives one Debug line per request. Nil discards.
	Logger *slog.Logger

	// Registerer receives the server's metrics. Nil means no metrics, or
	// those of Metrics.
	Registerer prometheus.Registerer

	// Metrics are collectors the server shares with others, made with
	// [NewMetrics] with an instance label: the server's series carry its
	// instance ID in it. Give Registerer or Metrics, not both.
	Metrics *Metrics

	// Routes is the route table, which every Server of a process can
	// share: make one with [NewRoutes]. Nil: New makes one for this
	// server.
	Routes *Routes
}

// Throttle is a per-client token bucket: each remote IP may make Burst
// requests at once and RPS a second after that. RPS <= 0 turns it off.
type Throttle struct {
	RPS   float64
	Burst int
}

// ServedEvent reports one credential document served.
type ServedEvent struct {
	// Role is the role whose credentials were served; AccessKeyID their key.
	Role, AccessKeyID string
	// RemoteAddr is the client's address as http.Request.RemoteAddr has it.
	RemoteAddr string
	// Version is "v1" (no token), "v2" (a valid token) or "ecs" (the
	// container credentials endpoint).
	Version string
	// Path is the request path.
	Path string
	At   time.Time
}

// MaxHopLimit is the largest hop limit EC2 accepts.
const MaxHopLimit = 64

// Server is the metadata HTTP server. Create it with [New].
//
// A multi-instance process keeps one for each instance, most of them never
// asked anything but their credentials, so what a Server holds is kept
// small (224 bytes, exactly a size class: TestServer_SizeClass): no
// copy of Options, the metadata held by pointer and shared with the
// servers made before it with the same (see [Routes]), the documents
// rendered on first use.
type Server struct {
	// inst is the instance, defaults applied, without its ID, tags and
	// user data: the servers of a fleet whose metadata differs only in
	// those share one copy (Routes.instance). The ID is tokens.id. Use
	// instance() for the whole Instance.
	inst     *Instance
	tags     map[string]string
	userData []byte
	creds    CredentialSource
	identity func(context.Context) (credential.Value, bool)
	onServed func(ServedEvent)
	tokens   tokenCodec
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	metrics  *metrics
	routes   *Routes
	switches atomic.Uint32 // switch bits: the run-time switches
	hopLimit atomic.Int32
	limiter  atomic.Pointer[limiter] // nil: no throttle
	notices  *Notices
	// key and cert sign the identity document (nil: unsigned).
	key  crypto.Signer
	cert *x509.Certificate
	// rendered and signed are the instance's documents, made on first use
	// (tree.go, signing.go).
	rendered atomic.Pointer[docs]
	signed   atomic.Pointer[signedDocs]
	credDoc  renderedCache
	extDoc   renderedCache
}

var _ http.Handler = (*Server)(nil)

// New validates opts, applies defaults and returns a Server. It registers the
// metrics on opts.Registerer, if set, and fails if they are already registered.
func New(opts Options) (*Server, error) {
	if opts.Credentials == nil {
		return nil, errors.New("imds: Options.Credentials is required")
	}
	if len(opts.TokenKey) < MinTokenKeySize {
		return nil, fmt.Errorf("imds: Options.TokenKey must be at least %d bytes, got %d", MinTokenKeySize, len(opts.TokenKey))
	}
	required, err := parseMode(opts.HTTPTokens)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	inst, err := opts.Instance.withDefaults(opts.Now())
	if err != nil {
		return nil, err
	}
	opts.Instance = inst
	if opts.HTTPTokens == "" {
		opts.HTTPTokens = ModeOptional
	}
	if opts.HopLimit == 0 {
		opts.HopLimit = 1
	}
	if err := checkHopLimit(opts.HopLimit); err != nil {
		return nil, err
	}
	if r := opts.Throttle.RPS; math.IsNaN(r) || math.IsInf(r, 0) || opts.Throttle.Burst < 0 {
		return nil, fmt.Errorf("imds: Options.Throttle {RPS %v, Burst %d}: want a finite RPS and a Burst of 0 or more", r, opts.Throttle.Burst)
	}
	if (opts.IdentityKey == nil) != (opts.IdentityCertificate == nil) {
		return nil, errors.New("imds: Options.IdentityKey and Options.IdentityCertificate go together: give both or neither")
	}
	if opts.IdentityKey != nil {
		if err := checkIdentityKey(opts.IdentityKey, opts.IdentityCertificate); err != nil {
			return nil, err
		}
	}
	if opts.Registerer != nil && opts.Metrics != nil {
		return nil, errors.New("imds: give Options.Registerer or Options.Metrics, not both")
	}
	if opts.Routes == nil {
		opts.Routes = NewRoutes()
	}

	s := &Server{
		inst:     opts.Routes.instance(inst),
		tags:     inst.Tags,
		userData: inst.UserData,
		routes:   opts.Routes,
		key:      opts.IdentityKey,
		cert:     opts.IdentityCertificate,
		creds:    opts.Credentials,
		identity: opts.IdentityCredentials,
		onServed: opts.OnCredentialsServed,
		tokens:   tokenCodec{key: opts.Routes.tokenKey(opts.TokenKey), id: inst.ID},
		now:      opts.Now,
		rand:     opts.Rand,
		log:      opts.Logger,
		notices:  opts.Notices,
	}
	if s.notices == nil {
		s.notices = NewNotices(inst, opts.Now, opts.Rand)
	}
	s.set(switchRequired, required)
	s.set(switchDisabled, opts.EndpointDisabled)
	s.set(switchExtended, opts.ExtendedCredentials)
	s.set(switchTags, opts.InstanceMetadataTags)
	s.hopLimit.Store(int32(opts.HopLimit))
	s.SetThrottle(opts.Throttle.RPS, opts.Throttle.Burst)
	if opts.Registerer != nil {
		var err error
		if opts.Metrics, err = NewMetrics(opts.Registerer, ""); err != nil {
			return nil, err
		}
	}
	if opts.Metrics != nil {
		m, err := opts.Metrics.join(s)
		if err != nil {
			return nil, err
		}
		m.own = opts.Registerer != nil
		s.metrics = m
	}
	return s, nil
}

// instance is the server's Instance, defaults applied.
func (s *Server) instance() Instance {
	in := *s.inst
	in.ID, in.Tags, in.UserData = s.tokens.id, s.tags, s.userData
	return in
}

// The run-time switches, bits of Server.switches.
const (
	switchRequired = 1 << iota // HTTPTokens required
	switchDisabled             // EndpointDisabled
	switchExtended             // ExtendedCredentials
	switchTags                 // InstanceMetadataTags
)

// on reports whether the switch bit is on.
func (s *Server) on(bit uint32) bool { return s.switches.Load()&bit != 0 }

// set turns the switch bit on or off.
func (s *Server) set(bit uint32, on bool) {
	if on {
		s.switches.Or(bit)
	} else {
		s.switches.And(^bit)
	}
}

func parseMode(m Mode) (required bool, err error) {
	switch m {
	case "", ModeOptional:
		return false, nil
	case ModeRequired:
		return true, nil
	}
	return false, fmt.Errorf("imds: invalid HTTPTokens mode %q: want %q or %q", string(m), ModeOptional, ModeRequired)
}

// SetHTTPTokens switches the token mode at run time. "" means ModeOptional.
// Requests already being served may still see the old mode.
func (s *Server) SetHTTPTokens(m Mode) error {
	required, err := parseMode(m)
	if err != nil {
		return err
	}
	s.set(switchRequired, required)
	return nil
}

// SetEndpointDisabled turns the endpoint off (every request gets 403) or on.
func (s *Server) SetEndpointDisabled(disabled bool) {
	s.set(switchDisabled, disabled)
}

// SetHopLimit sets the IP TTL (IPv6 hop limit) of token PUT responses,
// 1–64. Connections already being answered may still get the old value.
func (s *Server) SetHopLimit(n int) error {
	if err := checkHopLimit(n); err != nil {
		return err
	}
	s.hopLimit.Store(int32(n))
	return nil
}

func checkHopLimit(n int) error {
	if n < 1 || n > MaxHopLimit {
		return fmt.Errorf("imds: hop limit must be from 1 to %d, got %d", MaxHopLimit, n)
	}
	return nil
}

// SetExtendedCredentials turns iam/security-credentials-extended/ on or off
// (off: 404).
func (s *Server) SetExtendedCredentials(on bool) { s.set(switchExtended, on) }

// SetInstanceMetadataTags turns tags/instance/ on or off (off: 404).
func (s *Server) SetInstanceMetadataTags(on bool) { s.set(switchTags, on) }

// SetThrottle limits each client to burst requests at once and rps a second
// after that; rps <= 0 (or NaN) turns throttling off. A burst below 1 means
// rps rounded up. Every call starts all clients with a full bucket.
func (s *Server) SetThrottle(rps float64, burst int) {
	if !(rps > 0) || math.IsInf(rps, 1) {
		s.limiter.Store(nil)
		return
	}
	s.limiter.Store(newLimiter(rps, burst, s.now))
}

// Options returns the effective options: defaults applied, the current
// values of every run-time switch (HTTPTokens, EndpointDisabled, HopLimit,
// ExtendedCredentials, InstanceMetadataTags, Throttle), and TokenKey and
// IdentityKey left out.
func (s *Server) Options() Options {
	o := Options{
		Credentials: s.creds, Instance: s.instance(), IdentityCredentials: s.identity, OnCredentialsServed: s.onServed,
		IdentityCertificate: s.cert, Notices: s.notices, Now: s.now, Rand: s.rand, Logger: s.log,
		Routes: s.routes,
	}
	if m := s.metrics; m != nil && m.own {
		o.Registerer = m.shared.reg
	} else if m != nil {
		o.Metrics = m.shared
	}
	o.HTTPTokens = ModeOptional
	if s.on(switchRequired) {
		o.HTTPTokens = ModeRequired
	}
	o.EndpointDisabled = s.on(switchDisabled)
	o.HopLimit = int(s.hopLimit.Load())
	o.ExtendedCredentials = s.on(switchExtended)
	o.InstanceMetadataTags = s.on(switchTags)
	o.Throttle = Throttle{}
	if l := s.limiter.Load(); l != nil {
		o.Throttle = Throttle{RPS: l.rate, Burst: int(l.burst)}
	}
	return o
}

// Values of the version label.
const (
	versionV1   = "v1"   // no token header
	versionV2   = "v2"   // a valid token
	versionNone = "none" // token PUTs, bad tokens, a disabled endpoint, throttled requests
	versionECS  = "ecs"  // the container credentials endpoint
)

// ServeHTTP answers one metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Server"] = headerServer
	// A leaf asked with a trailing slash is the leaf (botocore asks for
	// placement/availability-zone/), and a directory without one is the
	// directory, so match on the path without its trailing slash.
	// canonicalPath also reads a dated version's path as latest's and
	// collapses repeated slashes.
	if p := canonicalPath(r.URL.Path); p != r.URL.Path {
		r2 := *r
		u := *r.URL
		u.Path = p
		u.RawPath = ""
		r2.URL = &u
		r = &r2
	}
	e := s.resolve(r)
	code, version, reason := s.handle(e, w, r)
	route, cs := e.route, (*counterSet)(nil)
	if e == s.routes.static {
		route = r.URL.Path // the fixed leaves are labelled with their paths
	} else if s.metrics != nil {
		cs = s.metrics.counterSet(e.id, s.routes.n)
	}
	s.observe(r, cs, route, version, code, reason)
}

// handle runs the checks in this order: endpoint switch (403), throttle
// (429), token paths, method (405), token (401), then the resource (200 or
// 404). The relative order of 405 and 401 is not documented for real IMDS.
func (s *Server) handle(e *endpoint, w http.ResponseWriter, r *http.Request) (code int, version, reason string) {
	if s.on(switchDisabled) {
		return writeError(w, r, http.StatusForbidden), versionNone, "endpoint disabled"
	}
	if l := s.limiter.Load(); l != nil && !l.allow(r.RemoteAddr) {
		// EC2 User Guide, "Query throttling": IMDS throttles per instance
		// and answers 429; aws-sdk-go-v2 retries it as a throttling error.
		return writeError(w, r, http.StatusTooManyRequests), versionNone, "throttled"
	}
	switch e.kind {
	case kindToken:
		code, reason = s.serveToken(w, r)
		return code, versionNone, reason
	case kindOldToken:
		if r.Method == http.MethodPut {
			// EC2 User Guide: a PUT to a version-specific token path is
			// rejected with 403. Only /latest/api/token issues tokens.
			return writeEmpty(w, r, http.StatusForbidden), versionNone, "token path not under /latest"
		}
	}
	version, left, ok, reason := s.authenticate(r)
	if e.kind == kindMetadata && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = headerAllowMetadata
		return writeEmpty(w, r, http.StatusMethodNotAllowed), version, "method not allowed"
	}
	if !ok {
		return writeError(w, r, http.StatusUnauthorized), version, reason
	}
	if version == versionV2 {
		// Real IMDS tells a token-bearing request how long its token has
		// left (seen in captures; no SDK reads it).
		w.Header()[headerTokenTTL] = s.tokens.key.getTTL.values(left)
	}
	if e.kind != kindMetadata {
		return writeError(w, r, http.StatusNotFound), version, ""
	}
	return e.serve(s, w, r, version), version, ""
}

// remainingSeconds is the time from now to expires in whole seconds,
// rounded up, so that a token still valid never reports 0.
func remainingSeconds(expires, now time.Time) int64 {
	d := expires.Sub(now)
	return int64((d + time.Second - 1) / time.Second)
}

// authenticate classifies the request's token. ok reports whether the
// request may be served in the current mode; left is the whole seconds a
// valid token has left (remainingSeconds, from the time it was checked at).
func (s *Server) authenticate(r *http.Request) (version string, left int64, ok bool, reason string) {
	vals := r.Header[headerToken] // canonical, so no Values (which canonicalises)
	if len(vals) == 0 {
		if s.on(switchRequired) {
			return versionV1, 0, false, "token required"
		}
		return versionV1, 0, true, ""
	}
	// A token that is present but bad is refused in both modes: the SDKs
	// count on a 401 to drop a cached token and fetch a new one.
	now := s.now()
	exp, err := s.tokens.verify(vals[0], now)
	if err != nil {
		return versionNone, 0, false, err.Error()
	}
	return versionV2, remainingSeconds(exp, now), true, ""
}

// observe counts (in cs, if not nil) and logs one request of route.
func (s *Server) observe(r *http.Request, cs *counterSet, route, version string, code int, reason string) {
	if s.metrics != nil {
		s.metrics.countRequest(s.tokens.id, cs, route, version, code)
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", code),
		slog.String("version", version),
		slog.String("remote_addr", r.RemoteAddr),
	}
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "imds request", attrs...)
}

// statusText is strconv.Itoa without an allocation for the codes we send.
func statusText(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusBadRequest:
		return "400"
	case http.StatusUnauthorized:
		return "401"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	case http.StatusMethodNotAllowed:
		return "405"
	case http.StatusTooManyRequests:
		return "429"
	case http.StatusInternalServerError:
		return "500"
	}
	return strconv.Itoa(code)
}

// Header names and shared header values. The value slices are shared by
// every response and never modified.
const (
	headerToken    = "X-Aws-Ec2-Metadata-Token"
	headerTokenTTL = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
)

var (
	headerServer        = []string{"EC2ws"}
	headerTextPlain     = []string{"text/plain"}
	headerTextHTML      = []string{"text/html"}
	headerAllowMetadata = []string{"GET, HEAD"}
	headerAllowToken    = []string{"OPTIONS, PUT"}
	headerClose         = []string{"close"}
	headerOctetStream   = []string{"application/octet-stream"}
	headerJSON          = []string{"application/json"}
)

// writeBody writes a complete response. HEAD gets the same headers and no body.
func writeBody(w http.ResponseWriter, r *http.Request, code int, contentType []string, body []byte) int {
	return writeBodyLen(w, r, code, contentType, body, []string{strconv.Itoa(len(body))})
}

// writeBodyLen is writeBody with the Content-Length header value made in
// advance (shared, never modified).
func writeBodyLen(w http.ResponseWriter, r *http.Request, code int, contentType []string, body []byte, contentLength []string) int {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = contentLength
	w.WriteHeader(code)
	if r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body)
	}
	return code
}

// writeText writes a 200 text/plain response, the content type real IMDS
// uses for everything, JSON documents included.
func writeText(w http.ResponseWriter, r *http.Request, body []byte) int {
	return writeBody(w, r, http.StatusOK, headerTextPlain, body)
}

// writeEmpty writes a status with an empty text/plain body, as real IMDS
// does for 403 to a PUT and for 405.
func writeEmpty(w http.ResponseWriter, r *http.Request, code int) int {
	return writeBody(w, r, code, headerTextPlain, nil)
}

// writeError writes the XHTML error page real IMDS sends with 400, 401, 403,
// 404 and 500 (and, here, 429), Content-Type text/html. The 401 page is 343 bytes, as in a
// capture from a real instance (DataDog/datadog-agent#4857).
func writeError(w http.ResponseWriter, r *http.Request, code int) int {
	page, ok := errorPages[code]
	if !ok {
		return writeBody(w, r, code, headerTextHTML, ErrorPage(code))
	}
	return writeBodyLen(w, r, code, headerTextHTML, page.body, page.length)
}

// errorPage is a page and its Content-Length.
type errorPage struct {
	body   []byte
	length []string
}

var errorPages = func() map[int]errorPage {
	m := make(map[int]errorPage)
	for _, code := range []int{400, 401, 403, 404, 429, 500} {
		b := ErrorPage(code)
		m[code] = errorPage{b, []string{strconv.Itoa(len(b))}}
	}
	return m
}()

// ErrorPage is the XHTML page real IMDS sends with an error status
// (Content-Type text/html). The fault injector sends the same page.
func ErrorPage(code int) []byte {
	text := http.StatusText(code)
	if text == "" {
		text = "Error"
	}
	title := strconv.Itoa(code) + " - " + text
	return []byte(`<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>` + title + `</title>
 </head>
 <body>
  <h1>` + title + `</h1>
 </body>
</html>
`)
}
