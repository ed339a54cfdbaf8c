package iamapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/internal/awsquery"
	"github.com/imdsemu/imdsemu/internal/sigv4"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/sts"
)

// APIVersion is the IAM Query API version the server speaks.
const APIVersion = "2010-05-08"

// Namespace is the XML namespace of every IAM response document.
const Namespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// ScopeService is the service an IAM request's SigV4 credential scope names.
const ScopeService = "iam"

// MaxBodyBytes caps a request body: the largest legitimate IAM request
// (SimulateCustomPolicy with several 10 KB documents) is far smaller.
const MaxBodyBytes = 1 << 20

// Auth verifies requests and evaluates callers' permissions: the STS
// server's verifier and authorizer, so that a credential means the same on
// both APIs. *sts.Server implements it.
type Auth interface {
	Authenticate(r *http.Request, q sigv4.Query, body []byte, service string) (*sts.Caller, *sts.Error)
	Authorize(r *http.Request, c *sts.Caller, action, resource string) (policy.Request, policy.Decision, *sts.Error)
	PermissionsOf(ctx context.Context, principalARN string) (policy.Principal, policy.Set, error)
}

// Options configure a Server.
type Options struct {
	// Auth verifies and authorizes requests. Required.
	Auth Auth
	// Store is the IAM store. Required.
	Store Store
	// Profiles, when set, is told about every change of an instance
	// profile's role, so that the metadata service serves it at once.
	Profiles ProfileWatcher
	// KeyUse, when set, tells when each long-term key was last used (STS
	// records it): GetAccessKeyLastUsed and the credential report show it.
	KeyUse KeyUse
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand supplies request ids, key ids and secrets; nil means crypto/rand.
	Rand io.Reader
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// KeyUse tells when a long-term access key was last used, on what service
// and in what region; ok false when it was not used since the server
// started. *sts.KeyUsage implements it.
type KeyUse interface {
	KeyUse(id string) (at time.Time, service, region string, from []netip.Addr, ok bool)
}

// ProfileWatcher hears of a change to the role of an instance profile.
type ProfileWatcher interface {
	// ProfileChanged is called after the store holds the profile's new
	// role ("" when it has none).
	ProfileChanged(ctx context.Context, profileARN, role string) error
}

// Server is the IAM Query API. Its methods are safe for concurrent use; it
// starts no goroutines.
type Server struct {
	auth     Auth
	store    Store
	profiles ProfileWatcher
	keyUse   KeyUse
	now      func() time.Time
	log      *slog.Logger
	requests *prometheus.CounterVec
	out      *awsquery.Writer

	randMu sync.Mutex
	rand   io.Reader

	// report is the last credential report generated, per account.
	reportMu sync.Mutex
	reports  map[string]credentialReport
	// passwords are the accounts' password policies (account.go).
	passwords passwordPolicies
	// pending are the unassigned virtual MFA devices (mfa.go).
	pending pendingDevices
}

// NewServer returns a Server.
func NewServer(opts Options) (*Server, error) {
	if opts.Auth == nil || opts.Store == nil {
		return nil, errors.New("iamapi: Options.Auth and Options.Store are required")
	}
	s := &Server{auth: opts.Auth, store: opts.Store, profiles: opts.Profiles, keyUse: opts.KeyUse, now: opts.Now, rand: opts.Rand, log: opts.Logger,
		reports: map[string]credentialReport{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.out = awsquery.NewWriter(Namespace, s.now, s.log)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imdsemu_iam_requests_total",
		Help: "IAM Query API requests by action (\"unknown\" for others) and HTTP status.",
	}, []string{"action", "status"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.requests); err != nil {
			return nil, fmt.Errorf("iamapi: registering metrics: %w", err)
		}
	}
	return s, nil
}

// Dispatch returns a handler that sends each request signed for IAM (its
// SigV4 credential scope names "iam") to iam, and every other request to
// other (the STS API). Unsigned requests go to other: STS has actions that
// take no signature, IAM has none.
func Dispatch(iam, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sigv4.ScopeService(r) == ScopeService {
			iam.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// request is one IAM call being served.
type request struct {
	ctx    context.Context
	http   *http.Request
	p      params
	caller *sts.Caller
	action string
}

// account is the caller's account: every IAM call acts on it.
func (rc *request) account() string { return rc.caller.Account() }

// ServeHTTP serves the IAM Query API on /.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := s.requestID()
	act, e := s.serve(w, r, id)
	status := http.StatusOK
	if e != nil {
		status = e.Status
		s.out.Error(w, id, e)
	}
	s.requests.WithLabelValues(act, strconv.Itoa(status)).Inc()
	attrs := []any{"request_id", id, "action", act, "status", status, "duration", s.now().Sub(start)}
	if e != nil {
		attrs = append(attrs, "code", e.Code)
	}
	s.log.Debug("iam request", attrs...)
}

// serve runs one request; it writes the response on success and returns
// the error otherwise. act is the metrics label.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, id string) (act string, e *Error) {
	act = "unknown"
	if r.URL.Path != "/" {
		return act, newError(CodeInvalidAction, http.StatusNotFound, "The IAM Query API is served on /, not %s.", truncate(r.URL.Path, 128))
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		return act, newError(CodeInvalidAction, http.StatusMethodNotAllowed, "The IAM Query API takes GET or POST on /, not %s.", r.Method)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return act, newError("RequestEntityTooLarge", http.StatusRequestEntityTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return act, newError(CodeInvalidInput, http.StatusBadRequest, "The request body could not be read.")
	}
	p, e := parseParams(r.URL.RawQuery, body)
	if e != nil {
		return act, e
	}
	name := p.get("Action")
	spec, known := actions()[name]
	if known {
		act = name
	}
	if !sigv4.HasSignature(r, p.query) {
		return act, &Error{Code: "MissingAuthenticationToken", Status: http.StatusForbidden, Msg: "Request is missing Authentication Token"}
	}
	c, se := s.auth.Authenticate(r, p.query, body, ScopeService)
	if se != nil {
		return act, se
	}
	switch {
	case name == "":
		return act, newError("MissingAction", http.StatusBadRequest, "Missing Action")
	case !known || p.get("Version") != APIVersion:
		v := p.get("Version")
		if v == "" {
			v = "NO_VERSION_SPECIFIED"
		}
		return act, newError(CodeInvalidAction, http.StatusBadRequest, "Could not find operation %s for version %s", truncate(name, 128), truncate(v, 32))
	}
	if e := checkCredentialKind(c); e != nil {
		return act, e
	}
	rc := &request{ctx: r.Context(), http: r, p: p, caller: c, action: name}
	result, e := spec(s, rc)
	if e != nil {
		return act, e
	}
	s.out.Result(w, name, id, result)
	return act, nil
}

// checkCredentialKind refuses the temporary credentials AWS's IAM refuses:
// those of GetFederationToken, and those of GetSessionToken made without
// MFA (IAM User Guide, "Comparing the AWS STS API operations"). IAM answers
// them with InvalidClientTokenId, as for an unknown key. Role sessions may
// call IAM under their role's policies.
func checkCredentialKind(c *sts.Caller) *Error {
	switch {
	case c.Kind() == sts.CallerFederatedUser,
		c.SessionAction() == sts.ActionGetSessionToken && !c.MFA():
		return &Error{Code: "InvalidClientTokenId", Status: http.StatusForbidden, Msg: msgInvalidClientTokenID}
	}
	return nil
}

// msgInvalidClientTokenID is IAM's wording, without STS's final period.
const msgInvalidClientTokenID = "The security token included in the request is invalid"

// authorize checks that the caller may perform iam:ACTION on resource, and
// words a denial as IAM does: "User: ARN is not authorized to perform:
// iam:CreateUser on resource: ARN because no identity-based policy allows
// the iam:CreateUser action".
func (s *Server) authorize(rc *request, action, resource string) *Error {
	req, dec, se := s.auth.Authorize(rc.http, rc.caller, action, resource)
	if se != nil {
		return se
	}
	if !dec.Allowed {
		return &Error{Code: CodeAccessDenied, Status: http.StatusForbidden, Msg: dec.Message(req)}
	}
	return nil
}

// load returns the entity of the caller's account that get finds by name,
// or NoSuchEntity with notFound. With an action ("" for none) it also
// authorizes the caller to do that to the entity, after the lookup, as IAM
// answers NoSuchEntity before AccessDenied.
func load[T interface{ ARN() string }](s *Server, rc *request, get func(context.Context, string, string) (T, error),
	name, notFound, action string) (T, *Error) {
	var zero T
	t, err := get(rc.ctx, rc.account(), name)
	if err != nil {
		return zero, s.storeError(rc, err, notFound)
	}
	if action != "" {
		if e := s.authorize(rc, action, t.ARN()); e != nil {
			return zero, e
		}
	}
	return t, nil
}

// requestID returns a random UUID (version 4), as AWS's request ids are.
func (s *Server) requestID() string {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return awsquery.RequestID(s.rand)
}
