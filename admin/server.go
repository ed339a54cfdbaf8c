package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/imdsemu/imdsemu/fault"
)

// Errors the adapters return (with Errorf, or wrapped with %w) so that the
// API answers with the right status: ErrNotFound 404, ErrInvalid 400, ErrConflict 409. Any other
// error is a 500.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)

// Errorf returns an error of kind (ErrNotFound, ErrInvalid or ErrConflict)
// whose message is the formatted text alone.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// MinTokenLen is the shortest bearer token New accepts.
const MinTokenLen = 16

// maxBody caps a request body.
const maxBody = 1 << 20

// MetadataOptions are the metadata server's run-time switches, as the EC2
// ModifyInstanceMetadataOptions API names them.
type MetadataOptions struct {
	HTTPTokens           string   `json:"http-tokens"`
	HTTPEndpoint         string   `json:"http-endpoint"`
	HopLimit             int      `json:"hop-limit"`
	ExtendedCredentials  bool     `json:"extended-credentials"`
	InstanceMetadataTags bool     `json:"instance-metadata-tags"`
	Throttle             Throttle `json:"throttle"`
}

// Throttle is the per-client rate limit of the metadata server; RPS 0 means
// off.
type Throttle struct {
	RPS   float64 `json:"rps"`
	Burst int     `json:"burst"`
}

// MetadataPatch is the body of PATCH /v1/options: the fields to change.
type MetadataPatch struct {
	HTTPTokens           *string   `json:"http-tokens,omitempty"`
	HTTPEndpoint         *string   `json:"http-endpoint,omitempty"`
	HopLimit             *int      `json:"hop-limit,omitempty"`
	ExtendedCredentials  *bool     `json:"extended-credentials,omitempty"`
	InstanceMetadataTags *bool     `json:"instance-metadata-tags,omitempty"`
	Throttle             *Throttle `json:"throttle,omitempty"`
}

// apply returns o changed by p.
func (p MetadataPatch) apply(o MetadataOptions) MetadataOptions {
	if p.HTTPTokens != nil {
		o.HTTPTokens = *p.HTTPTokens
	}
	if p.HTTPEndpoint != nil {
		o.HTTPEndpoint = *p.HTTPEndpoint
	}
	if p.HopLimit != nil {
		o.HopLimit = *p.HopLimit
	}
	if p.ExtendedCredentials != nil {
		o.ExtendedCredentials = *p.ExtendedCredentials
	}
	if p.InstanceMetadataTags != nil {
		o.InstanceMetadataTags = *p.InstanceMetadataTags
	}
	if p.Throttle != nil {
		o.Throttle = *p.Throttle
	}
	return o
}

// Validate reports the first problem with o as a *fault.FieldError.
func (o MetadataOptions) Validate() error {
	switch {
	case o.HTTPTokens != "optional" && o.HTTPTokens != "required":
		return &fault.FieldError{Field: "http-tokens", Msg: fmt.Sprintf(`must be "optional" or "required", got %q`, o.HTTPTokens)}
	case o.HTTPEndpoint != "enabled" && o.HTTPEndpoint != "disabled":
		return &fault.FieldError{Field: "http-endpoint", Msg: fmt.Sprintf(`must be "enabled" or "disabled", got %q`, o.HTTPEndpoint)}
	case o.HopLimit < 1 || o.HopLimit > 64:
		return &fault.FieldError{Field: "hop-limit", Msg: fmt.Sprintf("must be from 1 to 64, got %d", o.HopLimit)}
	case math.IsNaN(o.Throttle.RPS) || math.IsInf(o.Throttle.RPS, 0) || o.Throttle.RPS < 0:
		return &fault.FieldError{Field: "throttle.rps", Msg: fmt.Sprintf("must be a number of requests per second, 0 for off, got %v", o.Throttle.RPS)}
	case o.Throttle.Burst < 0:
		return &fault.FieldError{Field: "throttle.burst", Msg: fmt.Sprintf("must not be negative, got %d", o.Throttle.Burst)}
	case o.Throttle.RPS > 0 && o.Throttle.Burst == 0:
		return &fault.FieldError{Field: "throttle.burst", Msg: "must be at least 1 when throttle.rps is set"}
	}
	return nil
}

// Metadata is the metadata server's run-time switches. Set receives the
// complete new options, already validated.
type Metadata interface {
	MetadataOptions() MetadataOptions
	SetMetadataOptions(MetadataOptions) error
}

// Profile is an instance profile whose credentials imdsemu keeps.
type Profile struct {
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Account string `json:"account"`
	Role    string `json:"role,omitempty"`
	// Instance is true for the profile attached to the emulated instance.
	Instance   bool       `json:"instance"`
	Frozen     bool       `json:"frozen"`
	Generation uint64     `json:"generation,omitempty"`
	Expires    *time.Time `json:"expires,omitempty"`
}

// Profiles lists the profiles and drives their rotation. RotateNow fails
// with ErrConflict while rotation is frozen.
type Profiles interface {
	Profiles(ctx context.Context) ([]Profile, error)
	RotateNow(profileARN string) error
	Freeze(profileARN string, frozen bool) error
}

// Attachment is the role of the instance's instance profile.
type Attachment struct {
	Profile string `json:"profile"`
	Role    string `json:"role"` // "" when none
}

// Attacher attaches a role to the instance's profile and detaches it.
// Attach fails with ErrNotFound for a role that does not exist.
type Attacher interface {
	Attachment() Attachment
	Attach(ctx context.Context, role string) (Attachment, error)
	Detach(ctx context.Context) (Attachment, error)
}

// Options configure a Server. Every field but Revocations, Notices,
// Metrics, Health, Now, Logger and RotateWait is required.
type Options struct {
	// Token is the bearer token every /v1/ request must carry.
	Token       string
	Metadata    Metadata
	Faults      *fault.Injector
	Profiles    Profiles
	Attacher    Attacher
	Tracker     *Tracker
	Hub         *Hub
	Revocations Revocations
	// Notices, when set, serves /v1/notices.
	Notices Notices
	// Auditor, when set, serves GET /v1/audit.
	Auditor Auditor

	// Metrics and Health are served, without authentication, at /metrics
	// and /healthz.
	Metrics, Health http.Handler

	Now    func() time.Time
	Logger *slog.Logger
	// RotateWait bounds how long POST …/rotate?wait=true waits for the new
	// generation. Default 30s.
	RotateWait time.Duration
}

// Server is the control API's http.Handler. Create it with New.
type Server struct {
	opts  Options
	token []byte
	now   func() time.Time
	log   *slog.Logger
	// router is built on the first request: a server of many instances
	// has a control API for each, and most are never asked (the router's
	// compiled routes are about 90 KB).
	routerOnce sync.Once
	router     *mux.Router

	optionsMu sync.Mutex // serialises read-modify-write of the metadata options
}

var _ http.Handler = (*Server)(nil)

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	switch {
	case len(opts.Token) < MinTokenLen:
		return nil, fmt.Errorf("admin: Options.Token must be at least %d characters", MinTokenLen)
	case opts.Metadata == nil, opts.Faults == nil, opts.Profiles == nil, opts.Attacher == nil, opts.Tracker == nil, opts.Hub == nil:
		return nil, errors.New("admin: Options.Metadata, Faults, Profiles, Attacher, Tracker and Hub are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RotateWait <= 0 {
		opts.RotateWait = 30 * time.Second
	}
	return &Server{opts: opts, token: []byte(opts.Token), now: opts.Now, log: opts.Logger}, nil
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	// Profile ARNs travel URL-escaped in the path (%2F for "/").
	r.UseEncodedPath()
	if s.opts.Metrics != nil {
		r.Handle("/metrics", s.opts.Metrics).Methods(http.MethodGet)
	}
	if s.opts.Health != nil {
		r.Handle("/healthz", s.opts.Health).Methods(http.MethodGet)
	}
	v1 := r.PathPrefix("/v1/").Subrouter()
	v1.Use(s.authenticate)
	v1.Handle("/options", methods{"GET": s.getOptions, "PATCH": s.patchOptions})
	v1.Handle("/faults", methods{"GET": s.listFaults, "POST": s.addFault, "DELETE": s.clearFaults})
	v1.Handle("/faults/{id}", methods{"GET": s.getFault, "DELETE": s.removeFault})
	v1.Handle("/scenarios", methods{"GET": s.listScenarios})
	v1.Handle("/scenarios/{name}", methods{"GET": s.getScenario, "PUT": s.putScenario})
	v1.Handle("/scenarios/{name}/start", methods{"POST": s.startScenario})
	v1.Handle("/scenarios/{name}/stop", methods{"POST": s.stopScenario})
	v1.Handle("/profiles", methods{"GET": s.listProfiles})
	v1.Handle("/profiles/{profile}", methods{"GET": s.getProfile})
	v1.Handle("/profiles/{profile}/rotate", methods{"POST": s.rotate})
	v1.Handle("/profiles/{profile}/freeze", methods{"PUT": s.freeze(true), "DELETE": s.freeze(false)})
	v1.Handle("/profiles/{profile}/generations", methods{"GET": s.profileGenerations})
	v1.Handle("/generations", methods{"GET": s.generations})
	v1.Handle("/attachment", methods{"GET": s.getAttachment, "PUT": s.attach, "DELETE": s.detach})
	v1.Handle("/events", methods{"GET": s.events})
	s.noticeRoutes(v1)
	s.auditRoutes(v1)
	s.uiRoutes(r, v1) // ui.go: the dashboard
	s.demoRoutes(v1)
	v1.NotFoundHandler = s.authenticate(http.HandlerFunc(notFound))
	r.NotFoundHandler = http.HandlerFunc(notFound)
	return r
}

// methods dispatches one path's requests by method and answers 405, with
// Allow, to the others.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	sort.Strings(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
}

// ServeHTTP answers one control request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.routerOnce.Do(func() { s.router = s.routes() })
	s.router.ServeHTTP(w, r)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint %s; see docs/admin-api.md", r.URL.Path))
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.token) == 1
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			if r.ContentLength != 0 {
				// Answer now and drop the connection rather than let
				// net/http read (up to 256 KiB of) a body nobody asked for
				// before it writes the 401: a dripped body would hold it.
				w.Header().Set("Connection", "close")
			}
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="imdsemu"`)
	writeError(w, http.StatusUnauthorized,
		"missing or wrong bearer token: send \"Authorization: Bearer TOKEN\" with the token from admin.token in the data directory")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorBody{Error: clip(msg)})
}

// maxMessage bounds an error message, whose echo of a rejected value
// (a name, a path, a field) could otherwise make a small request's 400 as
// large as the request.
const maxMessage = 1024

// clip cuts s to at most maxMessage bytes, on a rune boundary, saying how
// much was cut.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

// writeInvalid answers 400 with every field error of err.
func writeInvalid(w http.ResponseWriter, what string, err error) {
	body := ErrorBody{}
	var msgs []string
	for _, e := range unjoin(err) {
		var fe *fault.FieldError
		if errors.As(e, &fe) {
			body.Fields = append(body.Fields, FieldError{Field: clip(fe.Field), Message: clip(fe.Msg)})
		}
		msgs = append(msgs, e.Error())
	}
	body.Error = clip(what + ": " + strings.Join(msgs, "; "))
	writeJSON(w, http.StatusBadRequest, body)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// writeErr maps an adapter's error to a status.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.log.ErrorContext(r.Context(), "admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// decode reads exactly one JSON value into v, refusing unknown fields, and
// answers 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: "+jsonMessage(err))
		return false
	}
	return true
}

// jsonMessage phrases a decoding error for a person.
func jsonMessage(err error) string {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		big *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return "empty; send a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too soon"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("got a JSON %s, want an object", typ.Value)
		}
		return fmt.Sprintf("field %q: got a JSON %s, want %s", typ.Field, typ.Value, typeName(typ.Type.Kind().String()))
	case errors.As(err, &big):
		return fmt.Sprintf("larger than %d bytes", big.Limit)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return msg
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return kind
}

// pathVar returns the unescaped mux variable.
func pathVar(r *http.Request, name string) string {
	v := mux.Vars(r)[name]
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

func (s *Server) publish(change string, detail any) {
	s.opts.Hub.Publish(Event{Type: EventOptionsChanged, At: s.now(), Change: change, Detail: detail})
}

// Options.

func (s *Server) getOptions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Metadata.MetadataOptions())
}

func (s *Server) patchOptions(w http.ResponseWriter, r *http.Request) {
	var p MetadataPatch
	if !decode(w, r, &p) {
		return
	}
	s.optionsMu.Lock()
	defer s.optionsMu.Unlock()
	cur := s.opts.Metadata.MetadataOptions()
	next := p.apply(cur)
	if err := next.Validate(); err != nil {
		writeInvalid(w, "invalid options", err)
		return
	}
	if next == cur {
		writeJSON(w, http.StatusOK, cur)
		return
	}
	if err := s.opts.Metadata.SetMetadataOptions(next); err != nil {
		s.writeErr(w, r, err)
		return
	}
	got := s.opts.Metadata.MetadataOptions()
	s.log.Info("metadata options changed", "options", fmt.Sprintf("%+v", got))
	s.publish("options", got)
	writeJSON(w, http.StatusOK, got)
}

// Faults.

func (s *Server) listFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, FaultList{Faults: s.opts.Faults.Rules()})
}

func (s *Server) getFault(w http.ResponseWriter, r *http.Request) {
	id := pathVar(r, "id")
	st, ok := s.opts.Faults.Rule(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no active fault rule %q", id))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) addFault(w http.ResponseWriter, r *http.Request) {
	var rule fault.Rule
	if !decode(w, r, &rule) {
		return
	}
	if rule.ID != "" {
		writeError(w, http.StatusBadRequest, "bad request body: id is assigned by the server; leave it out")
		return
	}
	st, err := s.opts.Faults.Add(rule)
	if err != nil {
		if errors.Is(err, fault.ErrClosed) {
			writeError(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		writeInvalid(w, "invalid fault rule", err)
		return
	}
	s.publish("fault_added", st)
	w.Header().Set("Location", "/v1/faults/"+st.ID)
	writeJSON(w, http.StatusCreated, st)
}

func (s *Server) removeFault(w http.ResponseWriter, r *http.Request) {
	id := pathVar(r, "id")
	if err := s.opts.Faults.Remove(id); err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no active fault rule %q", id))
		return
	}
	s.publish("fault_removed", FaultRemoved{ID: id})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) {
	n := s.opts.Faults.Clear()
	s.publish("faults_cleared", Removed{Removed: n})
	writeJSON(w, http.StatusOK, Removed{Removed: n})
}

// Scenarios.

func (s *Server) listScenarios(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ScenarioList{Scenarios: s.opts.Faults.Scenarios()})
}

func (s *Server) getScenario(w http.ResponseWriter, r *http.Request) {
	name := pathVar(r, "name")
	st, err := s.opts.Faults.Scenario(name)
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no scenario %q", name))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) putScenario(w http.ResponseWriter, r *http.Request) {
	name := pathVar(r, "name")
	var sc fault.Scenario
	if !decode(w, r, &sc) {
		return
	}
	if sc.Name != "" && sc.Name != name {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad request body: name %q differs from the path's %q; leave it out", sc.Name, name))
		return
	}
	sc.Name = name
	for _, st := range sc.Steps {
		if st.Fault != nil && st.Fault.ID != "" {
			writeError(w, http.StatusBadRequest, "bad request body: rule ids are assigned by the server; leave them out")
			return
		}
	}
	if err := s.opts.Faults.DefineScenario(sc); err != nil {
		writeInvalid(w, "invalid scenario", err)
		return
	}
	st, _ := s.opts.Faults.Scenario(name)
	s.publish("scenario_defined", ScenarioChange{Name: name})
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) startScenario(w http.ResponseWriter, r *http.Request) {
	name := pathVar(r, "name")
	st, err := s.opts.Faults.StartScenario(name)
	switch {
	case errors.Is(err, fault.ErrUnknownScenario):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no scenario %q; define it in the config file or with PUT /v1/scenarios/%s", name, name))
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.publish("scenario_started", ScenarioChange{Name: name})
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) stopScenario(w http.ResponseWriter, r *http.Request) {
	name := pathVar(r, "name")
	err := s.opts.Faults.StopScenario(name)
	switch {
	case errors.Is(err, fault.ErrUnknownScenario):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no scenario %q", name))
		return
	case errors.Is(err, fault.ErrNotRunning):
		writeError(w, http.StatusConflict, fmt.Sprintf("scenario %q is not running", name))
		return
	case err != nil:
		s.writeErr(w, r, err)
		return
	}
	st, _ := s.opts.Faults.Scenario(name)
	s.publish("scenario_stopped", ScenarioChange{Name: name})
	writeJSON(w, http.StatusOK, st)
}
