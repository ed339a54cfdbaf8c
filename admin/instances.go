package admin

import (
	"context"
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

// InstanceSpec is the body of POST /v1/instances: an instance to add
// while the server runs. Account "" is the default instance's; Type,
// Region and the rest of the metadata take the usual defaults.
type InstanceSpec struct {
	ID       string            `json:"id"`
	Account  string            `json:"account,omitempty"`
	Profile  string            `json:"profile,omitempty"`
	Sources  []string          `json:"sources,omitempty"`
	Type     string            `json:"type,omitempty"`
	Region   string            `json:"region,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	UserData string            `json:"user-data,omitempty"`
}

// InstanceEditor adds, changes and removes instances while the server
// runs; an Instances that implements it makes POST /v1/instances,
// PATCH /v1/instances/ID ({"sources": […]}) and DELETE /v1/instances/ID
// work. Errors of kind ErrInvalid, ErrNotFound and ErrConflict answer
// 400, 404 and 409.
type InstanceEditor interface {
	AddInstance(ctx context.Context, spec InstanceSpec) (InstanceInfo, error)
	SetSources(id string, sources []string) (InstanceInfo, error)
	RemoveInstance(ctx context.Context, id string) (InstanceInfo, error)
}

// WithInstances puts the control API of several instances behind s, the
// control API of the default (or only) instance, which keeps serving
// every path it serves:
//
//	GET /v1/instances            the instances (InstanceInfo)
//	GET /v1/instances/ID         one of them
//	… /v1/instances/ID/PATH      /v1/PATH of instance ID's control API,
//	                             e.g. PUT /v1/instances/ID/attachment
//	POST /v1/instances           add an instance (InstanceSpec)
//	PATCH /v1/instances/ID       change its sources
//	DELETE /v1/instances/ID      remove it
//
// (the last three when set implements InstanceEditor).
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
	if sub == "" && r.Method != http.MethodGet {
		h.edit(w, r, id)
		return
	}
	if id == "" || sub == "" {
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

// edit serves POST /v1/instances, PATCH and DELETE /v1/instances/ID.
func (h *instancesHandler) edit(w http.ResponseWriter, r *http.Request, id string) {
	ed, ok := h.set.(InstanceEditor)
	allow := http.MethodGet
	switch {
	case !ok:
	case id == "":
		allow += ", " + http.MethodPost
	default:
		allow += ", " + http.MethodPatch + ", " + http.MethodDelete
	}
	var (
		in  InstanceInfo
		err error
	)
	switch {
	case ok && id == "" && r.Method == http.MethodPost:
		var spec InstanceSpec
		if !decode(w, r, &spec) {
			return
		}
		in, err = ed.AddInstance(r.Context(), spec)
	case ok && id != "" && r.Method == http.MethodPatch:
		var body struct {
			Sources []string `json:"sources"`
		}
		if !decode(w, r, &body) {
			return
		}
		in, err = ed.SetSources(id, body.Sources)
	case ok && id != "" && r.Method == http.MethodDelete:
		in, err = ed.RemoveInstance(r.Context(), id)
	default:
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "use "+allow)
		return
	}
	if err != nil {
		h.s.writeErr(w, r, err)
		return
	}
	change := map[string]string{http.MethodPost: "instance added", http.MethodPatch: "instance changed", http.MethodDelete: "instance removed"}[r.Method]
	h.s.log.Info(change, "instance", in.ID)
	h.s.publish(strings.ReplaceAll(change, " ", "-"), in)
	code := http.StatusOK
	if r.Method == http.MethodPost {
		code = http.StatusCreated
	}
	writeJSON(w, code, in)
}
