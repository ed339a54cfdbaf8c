package admin

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imdsemu/imdsemu/fault"
)

// The dashboard (docs/dashboard.md): plain HTML, CSS and JavaScript
// embedded in the binary and served at /ui/, and the read-only JSON it
// reads at /ui/api/. Changes go through the /v1/ API with the bearer token
// the page asks for.

//go:embed ui
var uiFiles embed.FS

// EventLab carries what a provider lab run pointed at this server
// published with POST /v1/lab: Change is the item's type ("lanes", "row",
// "event", "summary" or "done") and Detail the item as the lab wrote it.
const EventLab = "lab"

// labItemTypes are the item types POST /v1/lab accepts.
var labItemTypes = map[string]bool{"lanes": true, "row": true, "event": true, "summary": true, "done": true}

// maxLabItems bounds the items of one POST /v1/lab.
const maxLabItems = 512

// Revoker revokes a role's sessions issued before notBefore. When the
// server's Revocations also implement it (the store does), POST
// /v1/revocations is served.
type Revoker interface {
	Revoke(ctx context.Context, roleARN string, notBefore time.Time) error
}

// uiRoutes serves the dashboard and its read-only API on r, and the lab
// and revocation endpoints on v1.
func (s *Server) uiRoutes(r, v1 *mux.Router) {
	static, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/ui/", http.FileServer(http.FS(static)))
	r.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	r.Handle("/ui/api/state", s.readOnly(methods{"GET": s.uiState}))
	r.Handle("/ui/api/generations", s.readOnly(methods{"GET": s.generations}))
	r.Handle("/ui/api/events", s.readOnly(methods{"GET": s.events}))
	r.PathPrefix("/ui/").Handler(methods{"GET": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}})
	v1.Handle("/lab", methods{"POST": s.postLab})
	if _, ok := s.opts.Revocations.(Revoker); ok {
		v1.Handle("/revocations", methods{"POST": s.revoke})
	}
}

// readOnly lets a request through with the bearer token, or without it
// from a loopback client that named a loopback host (so that a page of
// another site, through DNS rebinding, cannot read the state).
func (s *Server) readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authorized(r) || (isLoopback(r.RemoteAddr) && loopbackHost(r.Host)) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="imdsemu"`)
		writeError(w, http.StatusUnauthorized,
			"the dashboard's read-only views need no token only from loopback (127.0.0.1, ::1, localhost); from elsewhere send \"Authorization: Bearer TOKEN\" or use an SSH tunnel")
	})
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// UIState is the answer of GET /ui/api/state: what the dashboard's
// controls show.
type UIState struct {
	Now        time.Time              `json:"now"`
	Options    MetadataOptions        `json:"options"`
	Faults     []fault.Status         `json:"faults"`
	Scenarios  []fault.ScenarioStatus `json:"scenarios"`
	Profiles   []Profile              `json:"profiles"`
	Attachment Attachment             `json:"attachment"`
	Notices    []Notice               `json:"notices"`
	Revoke     bool                   `json:"revoke"` // POST /v1/revocations is served
	EventTypes []string               `json:"event_types"`
}

func (s *Server) uiState(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.Profiles.Profiles(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	st := UIState{
		Now: s.now(), Options: s.opts.Metadata.MetadataOptions(), Faults: s.opts.Faults.Rules(),
		Scenarios: s.opts.Faults.Scenarios(), Profiles: ps, Attachment: s.opts.Attacher.Attachment(),
		Notices: []Notice{}, EventTypes: EventTypes(),
	}
	if s.opts.Notices != nil {
		st.Notices = append(st.Notices, s.opts.Notices.Notices()...)
	}
	_, st.Revoke = s.opts.Revocations.(Revoker)
	writeJSON(w, http.StatusOK, st)
}

// labBody is the body of POST /v1/lab.
type labBody struct {
	Items []json.RawMessage `json:"items"`
}

// postLab re-broadcasts a lab run's items (lanes, rows, scenario events,
// summaries) as "lab" events, for the dashboard. Every item is checked
// before any is published.
func (s *Server) postLab(w http.ResponseWriter, r *http.Request) {
	var body labBody
	if !decode(w, r, &body) {
		return
	}
	if len(body.Items) == 0 || len(body.Items) > maxLabItems {
		writeInvalid(w, "invalid lab items", &fault.FieldError{Field: "items", Msg: fmt.Sprintf("must hold 1 to %d items, got %d", maxLabItems, len(body.Items))})
		return
	}
	types := make([]string, len(body.Items))
	for i, raw := range body.Items {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || !labItemTypes[head.Type] {
			writeInvalid(w, "invalid lab items", &fault.FieldError{Field: fmt.Sprintf("items[%d].type", i),
				Msg: "must be an object whose type is lanes, row, event, summary or done"})
			return
		}
		types[i] = head.Type
	}
	now := s.now()
	for i, raw := range body.Items {
		s.opts.Hub.Publish(Event{Type: EventLab, At: now, Change: types[i], Detail: raw})
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"published": len(body.Items)})
}

// revoke revokes a role's sessions issued before now, as "imdsemu revoke"
// does, and streams it as an options_changed event ("revoked").
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Role string `json:"role"`
	}
	if !decode(w, r, &body) {
		return
	}
	if !strings.HasPrefix(body.Role, "arn:") || !strings.Contains(body.Role, ":role/") {
		writeInvalid(w, "invalid revocation", &fault.FieldError{Field: "role", Msg: fmt.Sprintf("must be a role ARN (arn:aws:iam::ACCOUNT:role/NAME), got %q", body.Role)})
		return
	}
	now := s.now().UTC()
	if err := s.opts.Revocations.(Revoker).Revoke(r.Context(), body.Role, now); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.log.Info("role sessions revoked", "role", body.Role, "before", now)
	detail := map[string]any{"role": body.Role, "before": now}
	s.publish("revoked", detail)
	writeJSON(w, http.StatusOK, detail)
}
