package imds

import (
	"crypto/hmac"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
)

// Route templates. They are the route label of imdsemu_imds_requests_total
// (the fixed leaves and listings of the instance's tree are labelled with
// their own paths). Paths are matched with one trailing slash removed, so
// each template also answers with a slash after it.
const (
	routeToken             = "/latest/api/token"
	routeTokenOtherVersion = "/{version}/api/token" // never "latest", which routeToken takes
	routeLatest            = "/latest"
	routeUserData          = "/latest/user-data"
	routeMetaData          = "/latest/meta-data"
	routeTags              = "/latest/meta-data/tags"
	routeTagsInstance      = "/latest/meta-data/tags/instance"
	routeTag               = "/latest/meta-data/tags/instance/{key}"
	routeIAM               = "/latest/meta-data/iam"
	routeIAMInfo           = "/latest/meta-data/iam/info"
	routeCredentialsList   = "/latest/meta-data/iam/security-credentials"
	routeCredentials       = "/latest/meta-data/iam/security-credentials/{role}"
	routeExtendedList      = "/latest/meta-data/iam/security-credentials-extended"
	routeExtended          = "/latest/meta-data/iam/security-credentials-extended/{role}"
	routeIdentityCreds     = "/latest/meta-data/identity-credentials"
	routeIdentityEC2       = "/latest/meta-data/identity-credentials/ec2"
	routeIdentityInfo      = "/latest/meta-data/identity-credentials/ec2/info"
	routeIdentityCredsList = "/latest/meta-data/identity-credentials/ec2/security-credentials"
	routeIdentityCredsDoc  = "/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance"
	routeIdentity          = "/latest/dynamic/instance-identity"
	routeIdentityDocument  = "/latest/dynamic/instance-identity/document"
	routeIdentityPKCS7     = "/latest/dynamic/instance-identity/pkcs7"
	routeIdentityRSA2048   = "/latest/dynamic/instance-identity/rsa2048"
	routeIdentitySignature = "/latest/dynamic/instance-identity/signature"
	// routeUnmatched labels requests that match no route.
	routeUnmatched = "unmatched"
	// routeECS labels requests to [Server.ECSHandler].
	routeECS = "ecs"
)

// endpoint kinds decide which checks run before the handler.
type kind uint8

const (
	kindMetadata  kind = iota // GET/HEAD, token mode applies
	kindToken                 // PUT /latest/api/token
	kindOldToken              // PUT /{version}/api/token
	kindUnmatched             // no route: token mode applies, then 404
)

// serveFunc writes a response for s and returns its status. version is the
// request's IMDS version label (v1 or v2).
type serveFunc func(s *Server, w http.ResponseWriter, r *http.Request, version string) int

// endpoint is one route's handler. It belongs to a [Routes] and holds
// nothing of any one server: the server is an argument.
type endpoint struct {
	id    int // index of the route's request counters in a server's metrics
	route string
	kind  kind
	serve serveFunc
	// present, when set, reports whether the route exists on s at all;
	// where it does not, the path is unmatched.
	present func(s *Server) bool
}

// Routes is the metadata tree's route table: which endpoint answers each
// path. It holds nothing of any one instance, so every [Server] of a
// process can share one ([Options.Routes]); a server's own fixed leaves
// and listings (which depend on its [Instance]: its MAC's interface, its
// devices, the optional categories) are found in its rendered documents
// when no route matches. A Routes is safe for concurrent use; its table is
// immutable.
//
// The servers sharing a Routes and a TokenKey also share the MAC states
// that sign and verify their tokens (each token stays bound to its
// instance), so that with many instances a request finds them warm. A
// server also shares its metadata, defaults applied, with the server made
// before it when the two instances differ only in their ID, tags and user
// data (launched in the same second, unless PendingTime is given): a
// fleet made one instance after the other keeps one copy of what its
// instances have in common.
type Routes struct {
	// exact holds the routes without variables; lastVar those whose one
	// variable is their last segment, by the prefix before it.
	exact, lastVar map[string]*endpoint
	oldToken       *endpoint // routeTokenOtherVersion, matched by hand
	static         *endpoint // a fixed leaf or listing of the server's instance
	notFound       *endpoint
	n              int // endpoints, with ids 0 to n-1

	// tokens is the token key of the last server made with the table,
	// inst its metadata (Server.inst).
	tokens atomic.Pointer[tokenKey]
	inst   atomic.Pointer[Instance]
}

// instance returns in without its ID, tags and user data: the last one
// made, if it is the same, else a copy of its own, which becomes the last.
// The two Instances are compared whole (reflect.DeepEqual), so a nil list
// and an empty one differ: that only makes a copy more.
func (t *Routes) instance(in Instance) *Instance {
	in.ID, in.Tags, in.UserData = "", nil, nil
	if last := t.inst.Load(); last != nil && reflect.DeepEqual(*last, in) {
		return last
	}
	p := &in
	t.inst.Store(p)
	return p
}

// tokenKey returns the shared state of the token key key: the last one
// made, if it is the same key, else a new one, which becomes the last.
func (t *Routes) tokenKey(key []byte) *tokenKey {
	k := deriveTokenKey(key)
	if tk := t.tokens.Load(); tk != nil && hmac.Equal(tk.k, k) {
		return tk
	}
	tk := newTokenKey(k)
	t.tokens.Store(tk)
	return tk
}

// NewRoutes builds the route table. Build one and give it to every Server
// of a process: a server built without one builds its own.
func NewRoutes() *Routes {
	t := &Routes{exact: map[string]*endpoint{}, lastVar: map[string]*endpoint{}}
	t.oldToken = t.add(routeTokenOtherVersion, kindOldToken, nil)
	t.static = t.add("", kindMetadata, (*Server).serveStatic)
	t.notFound = t.add(routeUnmatched, kindUnmatched, nil)
	t.handle(routeToken, kindToken, nil)
	t.credentialRoutes()
	t.metadataRoutes()
	return t
}

// add makes an endpoint with the next id.
func (t *Routes) add(route string, k kind, serve serveFunc) *endpoint {
	e := &endpoint{id: t.n, route: route, kind: k, serve: serve}
	t.n++
	return e
}

// handle adds a route without variables or with one as its last segment
// (matched as "the rest, not empty, without a slash").
func (t *Routes) handle(route string, k kind, serve serveFunc) *endpoint {
	e := t.add(route, k, serve)
	i := strings.LastIndexByte(route, '/')
	switch {
	case !strings.Contains(route, "{"):
		t.exact[route] = e
	case strings.IndexByte(route, '{') == i+1 && strings.HasSuffix(route, "}"):
		t.lastVar[route[:i+1]] = e
	default:
		panic("imds: route " + route + " has a variable before its last segment")
	}
	return e
}

// metadata adds a kindMetadata route.
func (t *Routes) metadata(route string, serve serveFunc) *endpoint {
	return t.handle(route, kindMetadata, serve)
}

// fixed adds a route serving body, the same for every server.
func (t *Routes) fixed(route string, body []byte) *endpoint {
	return t.metadata(route, func(_ *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		return writeText(w, r, body)
	})
}

// optional adds a route serving body(s), or 404 when that is empty.
func (t *Routes) optional(route string, body func(s *Server) []byte) *endpoint {
	return t.metadata(route, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		b := body(s)
		if len(b) == 0 {
			return writeError(w, r, http.StatusNotFound)
		}
		return writeText(w, r, b)
	})
}

// resolve finds the request's endpoint: a route without variables, one
// with its variable last, a versioned token path, then the fixed leaves
// and listings of s's instance.
func (s *Server) resolve(r *http.Request) *endpoint {
	t := s.routes
	p := r.URL.Path
	e, ok := t.exact[p]
	if !ok {
		if i := strings.LastIndexByte(p, '/'); i >= 0 && i < len(p)-1 {
			e, ok = t.lastVar[p[:i+1]]
		}
	}
	switch {
	case ok && (e.present == nil || e.present(s)):
		return e
	case ok:
		return t.notFound
	case isOldTokenPath(p):
		return t.oldToken
	}
	if _, ok := s.docs().static[p]; ok {
		return t.static
	}
	return t.notFound
}

// isOldTokenPath reports whether p is /{version}/api/token: one segment,
// not empty, before /api/token.
func isOldTokenPath(p string) bool {
	const suffix = "/api/token"
	v, ok := strings.CutSuffix(p, suffix)
	return ok && len(v) > 1 && v[0] == '/' && strings.IndexByte(v[1:], '/') < 0
}

// endpoints lists every route's endpoint but the fixed leaves', for the
// tests that compare the table with a router.
func (t *Routes) endpoints() []*endpoint {
	out := []*endpoint{t.oldToken, t.notFound}
	for _, m := range []map[string]*endpoint{t.exact, t.lastVar} {
		for _, e := range m {
			out = append(out, e)
		}
	}
	return out
}
