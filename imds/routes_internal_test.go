package imds

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestRoutes_FastPathMatchesMux: the map lookups in ServeHTTP, and the
// router of the few routes they do not take, choose the same endpoint as a
// mux router of every route would, for every route and for paths made to
// fall between them.
func TestRoutes_FastPathMatchesMux(t *testing.T) {
	var src noRole
	s, err := New(Options{Credentials: src, TokenKey: fuzzKey, Instance: Instance{MAC: "0e:00:0a:00:00:01"}})
	if err != nil {
		t.Fatal(err)
	}
	full, _, _ := s.buildRoutes(true)
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
	paths = append(paths, "/", "", "/latest/meta-data/iam/security-credentials//x", "/x/api/token", "/x/y/api/token",
		"/latest/meta-data/iam/security-credentials/a/b", "/LATEST/meta-data", "/latest/meta-data/tags/instance/")
	fast := 0
	for _, p := range paths {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		want := s.notFound
		var m mux.RouteMatch
		if full.Match(r, &m) {
			want = m.Handler.(*endpoint)
		}
		if _, ok := s.exact[p]; ok {
			fast++
		} else if i := strings.LastIndexByte(p, '/'); i >= 0 && i < len(p)-1 {
			if _, ok := s.lastVar[p[:i+1]]; ok {
				fast++
			}
		}
		if got := s.resolve(r); got.route != want.route {
			t.Errorf("path %q: ServeHTTP chooses %s, mux chooses %s", p, got.route, want.route)
		}
	}
	var small int
	_ = s.router.Walk(func(*mux.Route, *mux.Router, []*mux.Route) error { small++; return nil })
	if small > 3 {
		t.Errorf("the router holds %d routes; want only those the maps cannot take (about 2)", small)
	}
	if len(paths) < 300 || fast < 200 {
		t.Errorf("%d paths tried, %d on the fast path; want at least 300 and 200", len(paths), fast)
	}
}

// noRole is a CredentialSource with no role attached.
type noRole struct{}

func (noRole) Current() (Attachment, bool) { return Attachment{}, false }
