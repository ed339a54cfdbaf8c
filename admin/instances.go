package admin

import (
	"fmt"
	"net/http"
	"strings"
)

// InstanceInfo is one emulated instance as GET /v1/instances lists it:
// its id and account, its instance profile and role, and which metadata
// clients it serves (source addresses and blocks, its own listener, or
// every client no other instance serves).
type InstanceInfo struct {
	ID      string   `json:"id"`
	Account string   `json:"account"`
	Profile string   `json:"profile"`
	Role    string   `json:"role"` // "" when none
	Sources []string `json:"sources,omitempty"`
	Listen  string   `json:"listen,omitempty"`
	Default bool     `json:"default"`
}

// Instances are the instances one process emulates.
type Instances interface {
	// Instances lists them, by id.
	Instances() []InstanceInfo
	// Control is the control API of instance id (a Server made with New
	// for that instance), ok false when there is no such instance.
	Control(id string) (h http.Handler, ok bool)
}

// WithInstances puts the control API of several instances behind s, the
// control API of the default (or only) instance, which keeps serving
// every path it serves:
//
//	GET /v1/instances            the instances (InstanceInfo)
//	GET /v1/instances/ID         one of them
//	… /v1/instances/ID/PATH      /v1/PATH of instance ID's control API,
//	                             e.g. PUT /v1/instances/ID/attachment
//
// All behind the bearer token.
func (s *Server) WithInstances(set Instances) http.Handler {
	return &instancesHandler{s: s, set: set}
}

type instancesHandler struct {
	s   *Server
	set Instances
}

const instancesPath = "/v1/instances"

func (h *instancesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, instancesPath)
	if !ok || rest != "" && rest[0] != '/' {
		h.s.ServeHTTP(w, r)
		return
	}
	h.s.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, strings.TrimPrefix(rest, "/"))
	})).ServeHTTP(w, r)
}

func (h *instancesHandler) serve(w http.ResponseWriter, r *http.Request, rest string) {
	id, sub, _ := strings.Cut(rest, "/")
	if id == "" || sub == "" {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		list := h.set.Instances()
		if id == "" {
			writeJSON(w, http.StatusOK, map[string]any{"instances": list})
			return
		}
		for _, in := range list {
			if in.ID == id {
				writeJSON(w, http.StatusOK, in)
				return
			}
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no instance %q (GET /v1/instances lists them)", id))
		return
	}
	ctl, ok := h.set.Control(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no instance %q (GET /v1/instances lists them)", id))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v1/" + sub
	if raw := r.URL.RawPath; raw != "" {
		if i := strings.Index(raw, "/"+id+"/"); i >= 0 {
			r2.URL.RawPath = "/v1/" + raw[i+len(id)+2:]
		} else {
			r2.URL.RawPath = ""
		}
	}
	ctl.ServeHTTP(w, r2)
}
