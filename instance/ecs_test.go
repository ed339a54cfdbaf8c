package instance_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/instance"
)

func TestECSByRole(t *testing.T) {
	const token = "0123456789abcdef-token"
	byRole := func(role string) (http.Handler, bool) {
		if role == "web" {
			return named("web"), true
		}
		return nil, false
	}
	serve := func(h http.Handler, path, auth string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	noDefault := instance.ECSByRole(token, byRole, nil)
	withDefault := instance.ECSByRole(token, byRole, named("default"))
	for _, tc := range []struct {
		name       string
		h          http.Handler
		path, auth string
		code       int
		body       string
	}{
		// The role's handler checks the token itself.
		{"role", noDefault, "/role/web", "", 200, "web"},
		{"unknown role", noDefault, "/role/db", token, 404, `no instance's profile holds role \"db\"`},
		{"unknown role, no token", noDefault, "/role/db", "", 401, "missing"},
		{"unknown role, wrong token", noDefault, "/role/db", "x", 403, "does not match"},
		{"other path, no default", noDefault, "/v2/credentials/x", token, 404, "no default instance"},
		{"other path", withDefault, "/v2/credentials/x", "", 200, "default"},
		{"unknown role, no token, default", withDefault, "/role/db", "", 200, "default"},
		{"empty role", noDefault, "/role/", token, 404, "holds role"},
	} {
		if code, body := serve(tc.h, tc.path, tc.auth); code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.code, tc.body)
		}
	}
}
