package imds

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
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
	// MinTokenKeySize bytes. Required. Servers sharing a key accept each
	// other's tokens, and tokens outlive a restart with the same key.
	TokenKey []byte

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Rand is the source of token nonces. Default crypto/rand.Reader.
	Rand io.Reader

	// Logger receives one Debug line per request. Nil discards.
	Logger *slog.Logger

	// Registerer receives the server's metrics. Nil means no metrics.
	Registerer prometheus.Registerer
}

// Server is the metadata HTTP server. Create it with [New].
type Server struct {
	opts     Options // effective options; TokenKey cleared
	inst     Instance
	creds    CredentialSource
	tokens   *tokenCodec
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	metrics  *metrics
	router   *mux.Router
	notFound *endpoint
	required atomic.Bool
	disabled atomic.Bool
	bodies   bodies
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

	s := &Server{
		inst:   inst,
		creds:  opts.Credentials,
		tokens: newTokenCodec(opts.TokenKey),
		now:    opts.Now,
		rand:   opts.Rand,
		log:    opts.Logger,
		bodies: renderBodies(inst),
	}
	opts.TokenKey = nil
	s.opts = opts
	s.required.Store(required)
	s.disabled.Store(opts.EndpointDisabled)
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer, opts.Credentials, opts.Now)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.router = s.routes()
	return s, nil
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
	s.required.Store(required)
	return nil
}

// SetEndpointDisabled turns the endpoint off (every request gets 403) or on.
func (s *Server) SetEndpointDisabled(disabled bool) {
	s.disabled.Store(disabled)
}

// Options returns the effective options: defaults applied, the current
// HTTPTokens and EndpointDisabled switches, and TokenKey left out.
func (s *Server) Options() Options {
	o := s.opts
	o.HTTPTokens = ModeOptional
	if s.required.Load() {
		o.HTTPTokens = ModeRequired
	}
	o.EndpointDisabled = s.disabled.Load()
	return o
}

// Route templates. They are the mux templates and the route label of
// imdsemu_imds_requests_total. Paths are matched with one trailing slash
// removed, so each template also answers with a slash after it.
const (
	routeToken             = "/latest/api/token"
	routeTokenOtherVersion = "/{version}/api/token" // registered after routeToken, so never "latest"
	routeLatest            = "/latest"
	routeMetaData          = "/latest/meta-data"
	routeAMIID             = "/latest/meta-data/ami-id"
	routeHostname          = "/latest/meta-data/hostname"
	routeInstanceID        = "/latest/meta-data/instance-id"
	routeInstanceType      = "/latest/meta-data/instance-type"
	routeLocalHostname     = "/latest/meta-data/local-hostname"
	routeLocalIPv4         = "/latest/meta-data/local-ipv4"
	routePlacement         = "/latest/meta-data/placement"
	routeAvailabilityZone  = "/latest/meta-data/placement/availability-zone"
	routeRegion            = "/latest/meta-data/placement/region"
	routeIAM               = "/latest/meta-data/iam"
	routeIAMInfo           = "/latest/meta-data/iam/info"
	routeCredentialsList   = "/latest/meta-data/iam/security-credentials"
	routeCredentials       = "/latest/meta-data/iam/security-credentials/{role}"
	routeDynamic           = "/latest/dynamic"
	routeIdentity          = "/latest/dynamic/instance-identity"
	routeIdentityDocument  = "/latest/dynamic/instance-identity/document"
	// routeUnmatched labels requests that match no route.
	routeUnmatched = "unmatched"
)

// Values of the version label.
const (
	versionV1   = "v1"   // no token header
	versionV2   = "v2"   // a valid token
	versionNone = "none" // token PUTs, bad tokens, a disabled endpoint
)

// endpoint kinds decide which checks run before the handler.
type kind uint8

const (
	kindMetadata  kind = iota // GET/HEAD, token mode applies
	kindToken                 // PUT /latest/api/token
	kindOldToken              // PUT /{version}/api/token
	kindUnmatched             // no route: token mode applies, then 404
)

// endpoint is one route's handler. serve writes the response and returns
// its status.
type endpoint struct {
	s     *Server
	route string
	kind  kind
	serve func(w http.ResponseWriter, r *http.Request) int
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	// No redirects: SDK clients should get an answer, not a 301. A path
	// that is not clean simply matches nothing.
	r.SkipClean(true)
	handle := func(route string, k kind, serve func(http.ResponseWriter, *http.Request) int) {
		r.Handle(route, &endpoint{s: s, route: route, kind: k, serve: serve})
	}
	handle(routeToken, kindToken, nil)
	handle(routeTokenOtherVersion, kindOldToken, nil)
	s.metadataRoutes(handle)
	s.credentialRoutes(handle)
	s.notFound = &endpoint{s: s, route: routeUnmatched, kind: kindUnmatched}
	r.NotFoundHandler = s.notFound
	return r
}

// ServeHTTP answers one metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Server"] = headerServer
	// A leaf asked with a trailing slash is the leaf (botocore asks for
	// placement/availability-zone/), and a directory without one is the
	// directory, so match on the path without its trailing slash.
	if p := r.URL.Path; len(p) > 1 && p[len(p)-1] == '/' {
		r2 := *r
		u := *r.URL
		u.Path = p[:len(p)-1]
		u.RawPath = ""
		r2.URL = &u
		r = &r2
	}
	// Match rather than Router.ServeHTTP: the endpoint knows its route
	// and needs no mux variables, so the two request copies mux makes to
	// carry them in the context are saved.
	var m mux.RouteMatch
	e := s.notFound
	if s.router.Match(r, &m) {
		if me, ok := m.Handler.(*endpoint); ok {
			e = me
		}
	}
	e.ServeHTTP(w, r)
}

// ServeHTTP serves a request already matched to e's route.
func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, version, reason := e.handle(w, r)
	e.s.observe(r, e.route, version, code, reason)
}

// handle runs the checks in this order: endpoint switch (403), token
// paths, method (405), token (401), then the resource (200 or 404). The
// relative order of 405 and 401 is not documented for real IMDS.
func (e *endpoint) handle(w http.ResponseWriter, r *http.Request) (code int, version, reason string) {
	s := e.s
	if s.disabled.Load() {
		return writeError(w, r, http.StatusForbidden), versionNone, "endpoint disabled"
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
	version, ok, reason := s.authenticate(r)
	if e.kind == kindMetadata && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = headerAllowMetadata
		return writeEmpty(w, r, http.StatusMethodNotAllowed), version, "method not allowed"
	}
	if !ok {
		return writeError(w, r, http.StatusUnauthorized), version, reason
	}
	if e.kind != kindMetadata {
		return writeError(w, r, http.StatusNotFound), version, ""
	}
	return e.serve(w, r), version, ""
}

// authenticate classifies the request's token. ok reports whether the
// request may be served in the current mode.
func (s *Server) authenticate(r *http.Request) (version string, ok bool, reason string) {
	vals := r.Header.Values(headerToken)
	if len(vals) == 0 {
		if s.required.Load() {
			return versionV1, false, "token required"
		}
		return versionV1, true, ""
	}
	// A token that is present but bad is refused in both modes: the SDKs
	// count on a 401 to drop a cached token and fetch a new one.
	if _, err := s.tokens.verify(vals[0], s.now()); err != nil {
		return versionNone, false, err.Error()
	}
	return versionV2, true, ""
}

func (s *Server) observe(r *http.Request, route, version string, code int, reason string) {
	if s.metrics != nil {
		s.metrics.requests.WithLabelValues(route, version, statusText(code)).Inc()
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
)

// writeBody writes a complete response. HEAD gets the same headers and no body.
func writeBody(w http.ResponseWriter, r *http.Request, code int, contentType []string, body []byte) int {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
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
// 404 and 500, Content-Type text/html. The 401 page is 343 bytes, as in a
// capture from a real instance (DataDog/datadog-agent#4857).
func writeError(w http.ResponseWriter, r *http.Request, code int) int {
	page, ok := errorPages[code]
	if !ok {
		page = errorPage(code)
	}
	return writeBody(w, r, code, headerTextHTML, page)
}

var errorPages = func() map[int][]byte {
	m := make(map[int][]byte)
	for _, code := range []int{400, 401, 403, 404, 500} {
		m[code] = errorPage(code)
	}
	return m
}()

func errorPage(code int) []byte {
	title := strconv.Itoa(code) + " - " + http.StatusText(code)
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
