package imds

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestRoutes_MatchesMux: the shared route table and a server's fixed
// leaves choose the same endpoint for every path as a mux router of every
// route of that server would, for every route and for paths made to fall
// between them.
func TestRoutes_MatchesMux(t *testing.T) {
	routes := NewRoutes()
	for _, in := range []Instance{
		{MAC: "0e:00:0a:00:00:01"},
		{AutoScaling: true, PublicIPv4: "203.0.113.7", PublicKey: "ssh-ed25519 AAAA x", KeyName: "k", EBS: []string{"sdb"}, KernelID: "aki-0123"},
	} {
		s, err := New(Options{Credentials: noRole{}, TokenKey: fuzzKey, Instance: in, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		full := fullRouter(s)
		var paths []string
		_ = full.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			tmpl, _ := r.GetPathTemplate()
			for _, v := range []string{"x", "web-role", "a:b@c", "0e:00:0a:00:00:01", "latest", "2021-03-23", "device-number"} {
				p := tmpl
				for strings.Contains(p, "{") {
					i, j := strings.IndexByte(p, '{'), strings.IndexByte(p, '}')
					p = p[:i] + v + p[j+1:]
				}
				paths = append(paths, p, p+"/x", p+"//", p+"/", strings.TrimSuffix(p, "/"+v)+"/")
			}
			return nil
		})
		paths = append(paths, "/", "", "/latest/meta-data/iam/security-credentials//x", "/x/api/token", "/x/y/api/token", "//api/token",
			"/latest/meta-data/iam/security-credentials/a/b", "/LATEST/meta-data", "/latest/meta-data/tags/instance/",
			"/latest/meta-data/autoscaling", "/latest/meta-data/autoscaling/target-lifecycle-state", "/latest/meta-data/kernel-id")
		for _, p := range paths {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path = p
			want := routes.notFound
			var m mux.RouteMatch
			if full.Match(r, &m) {
				want = m.Handler.(routeHandler).e
			}
			if got := s.resolve(r); got != want {
				t.Errorf("%s: path %q: the table chooses %s, mux chooses %s", in.MAC, p, got.route, want.route)
			}
		}
		if len(paths) < 300 {
			t.Errorf("%d paths tried; want at least 300", len(paths))
		}
	}
}

// routeHandler makes an endpoint a mux handler.
type routeHandler struct{ e *endpoint }

func (routeHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// fullRouter is a mux router of every route s has: the table's present on
// s, and s's fixed leaves and listings.
func fullRouter(s *Server) *mux.Router {
	r := mux.NewRouter()
	r.SkipClean(true)
	t := s.routes
	// mux tries routes in order: /latest/api/token before /{version}/api/token.
	for _, e := range t.endpoints() {
		if e.kind != kindUnmatched && e.kind != kindOldToken && (e.present == nil || e.present(s)) {
			r.Handle(e.route, routeHandler{e})
		}
	}
	for p := range s.docs().static {
		r.Handle(p, routeHandler{t.static})
	}
	r.Handle(t.oldToken.route, routeHandler{t.oldToken})
	return r
}

// noRole is a CredentialSource with no role attached.
type noRole struct{}

func (noRole) Current() (Attachment, bool) { return Attachment{}, false }
