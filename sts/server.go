package sts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/federation"
	"github.com/imdsemu/imdsemu/internal/awsquery"
	"github.com/imdsemu/imdsemu/internal/sigv4"
	"github.com/imdsemu/imdsemu/rolestore"
)

// signingKeysKept is how many derived signing keys a Server remembers.
const signingKeysKept = 256

// scopeService is the service an STS request's credential scope names.
const scopeService = "sts"

// APIVersion is the STS Query API version the server speaks.
const APIVersion = "2011-06-15"

// Namespace is the XML namespace of every STS response document.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Directory is what the server reads from the store: roles, users and their
// long-term keys and MFA devices, identity providers, and revocations.
// *rolestore.SQLite implements it. Every method is called on the request
// path and should answer from an index.
type Directory interface {
	RoleByARN(ctx context.Context, arn string) (rolestore.Role, error)
	User(ctx context.Context, accountID, name string) (rolestore.User, error)
	UserByID(ctx context.Context, id string) (rolestore.User, error)
	AccessKey(ctx context.Context, id string) (rolestore.AccessKey, error)
	MFADevice(ctx context.Context, serial string) (rolestore.MFADevice, error)
	OIDCProviders(ctx context.Context, accountID string) ([]rolestore.OIDCProvider, error)
	SAMLProvider(ctx context.Context, accountID, name string) (rolestore.SAMLProvider, error)
	RevokedBefore(ctx context.Context, roleARN string) (time.Time, error)
	// UserPermissions and RolePermissions return the effective
	// identity-based policies of a user (its own, its groups') or a role,
	// with the permissions boundary; PolicyDocument the default version of
	// a managed policy, AWS or customer managed.
	UserPermissions(ctx context.Context, accountID, name string) (rolestore.User, rolestore.Permissions, error)
	RolePermissions(ctx context.Context, roleARN string) (rolestore.Role, rolestore.Permissions, error)
	PolicyDocument(ctx context.Context, arn string) (string, error)
}

// Options configure a Server.
type Options struct {
	// Issuer mints and opens session credentials. Required.
	Issuer *Issuer
	// Directory is the store. Required.
	Directory Directory
	// WebIdentity verifies AssumeRoleWithWebIdentity tokens; nil means a
	// federation.OIDCVerifier on Now, which fetches keys only from
	// loopback issuers.
	WebIdentity WebIdentityVerifier
	// WellKnown are the stand-ins for the web identity providers AWS
	// accepts without an IAM provider entity (Google, Cognito, Facebook,
	// Login with Amazon); nil means none, and ProviderId is refused.
	WellKnown WellKnownIdPs
	// KeyUse, when set, is told of every request a long-term key
	// authenticates (the audit's "last used").
	KeyUse KeyUseRecorder
	// SAML verifies AssumeRoleWithSAML assertions; nil means
	// federation.VerifySAML.
	SAML SAMLVerifier
	// IdP, when set, serves imdsemu's built-in OpenID Connect identity
	// provider (/.well-known/openid-configuration and /jwks) beside the API.
	IdP http.Handler
	// Now is the clock; nil means time.Now. The issuer has its own.
	Now func() time.Time
	// Rand supplies request IDs; nil means crypto/rand.
	Rand io.Reader
	// Logger receives one debug line per request and warnings about
	// unusable stored policies; nil discards.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Server is the STS Query API: it verifies each request's SigV4 signature,
// authorizes it, and answers as AWS STS does.
type Server struct {
	issuer    *Issuer
	dir       Directory
	oidc      WebIdentityVerifier
	wellKnown WellKnownIdPs
	keyUse    KeyUseRecorder
	saml      SAMLVerifier
	now       func() time.Time
	log       *slog.Logger
	m         *metrics
	docs      docCache
	keys      sigv4.KeyCache
	out       *awsquery.Writer
	router    http.Handler
	actions   map[string]action

	randMu sync.Mutex
	rand   io.Reader
}

// NewServer returns a Server. It starts no goroutines.
func NewServer(opts Options) (*Server, error) {
	if opts.Issuer == nil {
		return nil, errors.New("sts: Options.Issuer is required")
	}
	if opts.Directory == nil {
		return nil, errors.New("sts: Options.Directory is required")
	}
	s := &Server{
		issuer: opts.Issuer, dir: opts.Directory, oidc: opts.WebIdentity, wellKnown: opts.WellKnown, keyUse: opts.KeyUse, saml: opts.SAML,
		now: opts.Now, rand: opts.Rand, log: opts.Logger, actions: actions(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.oidc == nil {
		s.oidc = federation.NewOIDCVerifier(federation.OIDCOptions{Now: s.now})
	}
	if s.saml == nil {
		s.saml = federation.VerifySAML
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s.m = m
	if s.keys, err = sigv4.NewKeyCache(signingKeysKept); err != nil {
		return nil, err
	}
	s.out = awsquery.NewWriter(Namespace, s.now, s.log)
	r := mux.NewRouter()
	r.HandleFunc("/", s.handleQuery).Methods(http.MethodGet, http.MethodPost)
	if opts.IdP != nil {
		r.Handle("/.well-known/openid-configuration", opts.IdP)
		r.Handle("/jwks", opts.IdP)
	}
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		s.writeError(w, s.requestID(), newError(CodeInvalidAction, http.StatusMethodNotAllowed,
			"The STS Query API takes GET or POST on /, not %s.", r.Method))
	})
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, s.requestID(), newError(CodeInvalidAction, http.StatusNotFound,
			"The STS Query API is served on /, not %s.", truncate(r.URL.Path, 128)))
	})
	s.router = r
	return s, nil
}

// ServeHTTP serves the STS API on / and, when configured, the built-in IdP.
// A GET or POST on / goes straight to the API; the router (which would
// route it there too, for five allocations) serves everything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodPost) {
		s.handleQuery(w, r)
		return
	}
	s.router.ServeHTTP(w, r)
}

// action is one STS action.
type action struct {
	// unsigned actions (AssumeRoleWithWebIdentity, AssumeRoleWithSAML) take
	// no signature: the token or assertion is the credential.
	unsigned bool
	run      func(s *Server, rc *request) (any, *Error)
}

// actions returns the STS actions by name.
func actions() map[string]action {
	return map[string]action{
		"GetCallerIdentity":          {run: (*Server).getCallerIdentity},
		"GetAccessKeyInfo":           {run: (*Server).getAccessKeyInfo},
		"DecodeAuthorizationMessage": {run: (*Server).decodeAuthorizationMessage},
		"AssumeRole":                 {run: (*Server).assumeRole},
		"GetSessionToken":            {run: (*Server).getSessionToken},
		"GetFederationToken":         {run: (*Server).getFederationToken},
		"AssumeRoleWithWebIdentity":  {unsigned: true, run: (*Server).assumeRoleWithWebIdentity},
		"AssumeRoleWithSAML":         {unsigned: true, run: (*Server).assumeRoleWithSAML},
	}
}

// request is one STS call being served.
type request struct {
	ctx    context.Context
	http   *http.Request
	params params
	caller *caller // nil for unsigned actions
	action string
	id     string
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := s.requestID()
	act, status, e := s.serveQuery(w, r, id)
	if e != nil {
		status = e.Status
		s.writeError(w, id, e)
	}
	s.m.requests.WithLabelValues(act, statusLabel(status)).Inc()
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	attrs := []any{"request_id", id, "action", act, "status", status, "duration", s.now().Sub(start)}
	if e != nil {
		attrs = append(attrs, "code", e.Code)
	}
	s.log.Debug("sts request", attrs...)
}

// statusLabel is the metrics label of an HTTP status, without allocating
// for the usual ones.
func statusLabel(status int) string {
	switch status {
	case http.StatusOK:
		return "200"
	case http.StatusBadRequest:
		return "400"
	case http.StatusForbidden:
		return "403"
	}
	return strconv.Itoa(status)
}

// serveQuery runs one request; it writes the response itself on success and
// returns the error otherwise. act is the metrics label: a known action
// name, or "unknown".
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, id string) (act string, status int, e *Error) {
	act = "unknown"
	body, e := readBody(w, r)
	if e != nil {
		return act, 0, e
	}
	// The query string is split once: the parameters and the signature's
	// canonical query are both read from q.
	q, err := sigv4.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return act, 0, newError(CodeMalformedQueryString, http.StatusBadRequest, "The query string is not valid: %v", err)
	}
	p, perr := paramsOf(q, body)
	if perr != nil {
		return act, 0, perr
	}
	name := p.get("Action")
	spec, known := s.actions[name]
	if known {
		act = name
	}
	rc := &request{ctx: r.Context(), http: r, params: p, action: name, id: id}
	if !spec.unsigned || !known {
		if !sigv4.HasSignature(r, q) {
			s.m.sigFailures.WithLabelValues("missing").Inc()
			return act, 0, errMissingAuthenticationToken()
		}
		c, e := s.authenticate(r.Context(), r, q, body, scopeService)
		if e != nil {
			return act, 0, e
		}
		rc.caller = c
	}
	switch {
	case name == "":
		return act, 0, newError(CodeMissingAction, http.StatusBadRequest, "Missing Action")
	case !known:
		return act, 0, newError(CodeInvalidAction, http.StatusBadRequest, "Could not find operation %s for version %s", truncate(name, 128), versionLabel(p))
	}
	if v := p.get("Version"); v != APIVersion {
		return act, 0, newError(CodeInvalidAction, http.StatusBadRequest, "Could not find operation %s for version %s", name, versionLabel(p))
	}
	if c := rc.caller; c != nil {
		if e := s.checkCaller(rc); e != nil {
			return act, 0, e
		}
	}
	result, e := spec.run(s, rc)
	if e != nil {
		return act, 0, e
	}
	s.writeResult(w, name, id, result)
	return act, http.StatusOK, nil
}

// readBody reads the whole request body, up to MaxBodyBytes; a request
// without one (a GET, a presigned URL) reads nothing.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, newError(CodeRequestEntityTooLarge, http.StatusRequestEntityTooLarge,
				"The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return nil, newError(CodeInvalidParameterValue, http.StatusBadRequest, "The request body could not be read.")
	}
	return body, nil
}

func versionLabel(p params) string {
	v, ok := p.lookup("Version")
	if !ok || v == "" {
		return "NO_VERSION_SPECIFIED"
	}
	return truncate(v, 32)
}

// checkCaller applies the rules that hold for every action: a revoked
// session is denied everything, and a federated user may only ask who it is.
func (s *Server) checkCaller(rc *request) *Error {
	c := rc.caller
	if !c.revoked.IsZero() {
		return s.revokedError(c, rc.action)
	}
	if c.kind == kindFederatedUser && rc.action != "GetCallerIdentity" {
		return notAuthorized(c.arn, "sts:"+rc.action, "*")
	}
	return nil
}

// requestID returns a random UUID (version 4), as AWS's request ids are.
func (s *Server) requestID() string {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return awsquery.RequestID(s.rand)
}

// metrics are the server's collectors; every label is bounded.
type metrics struct {
	requests    *prometheus.CounterVec
	sigFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_sts_requests_total",
			Help: "STS requests by action (\"unknown\" for anything else) and HTTP status code.",
		}, []string{"action", "code"}),
		sigFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imdsemu_sts_signature_failures_total",
			Help: "Requests refused before authorization, by reason: missing, malformed, scope, skew, unknown_key, invalid_token, expired_token, mismatch.",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.sigFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("sts: registering metrics: %w", err)
		}
	}
	return m, nil
}
