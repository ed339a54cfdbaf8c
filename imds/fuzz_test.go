package imds_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/imdsemu/imdsemu/imds"
)

// FuzzServer_Request sends arbitrary paths and methods through the whole
// server (fast-path lookups and mux): it must not panic, must answer with a
// status the server documents, and must always say Server: EC2ws.
func FuzzServer_Request(f *testing.F) {
	for _, p := range []string{
		"/latest/meta-data/iam/security-credentials/web-role", "/latest/meta-data/tags/instance/Name",
		"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/mac", "/latest/api/token", "/x/api/token",
		"/latest/user-data/", "//", "/latest/meta-data/iam/security-credentials-extended/a/b", "/%2e%2e/",
	} {
		f.Add("GET", p)
		f.Add("PUT", p)
	}
	fx := newFixture(f, func(o *imds.Options) {
		o.ExtendedCredentials = true
		o.InstanceMetadataTags = true
		o.Instance = imds.Instance{Tags: map[string]string{"Name": "web"}, UserData: []byte("x")}
	})
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, err := http.NewRequest("GET", "http://imds.test/", nil)
		if err != nil {
			t.Skip()
		}
		r.Method, r.URL.Path = method, path
		r.Header.Set(hdrTTL, "60")
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		if !allowed[w.Code] || w.Header().Get("Server") != "EC2ws" {
			t.Errorf("%q %q = %d, Server %q", method, path, w.Code, w.Header().Get("Server"))
		}
	})
}
