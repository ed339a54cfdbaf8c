package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUI_Assets(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, want string }{
		{"/ui/", `<svg id="timeline"`},
		{"/ui/app.js", "EventSource"},
		{"/ui/style.css", "#timeline"},
	} {
		rec := e.do("GET", tc.path, "", "-")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s = %d, body has %q: %v", tc.path, rec.Code, tc.want, strings.Contains(rec.Body.String(), tc.want))
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	if rec := e.do("GET", "/ui", "", "-"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("GET /ui = %d to %q, want 301 to /ui/", rec.Code, rec.Header().Get("Location"))
	}
	if rec := e.do("POST", "/ui/", "", "-"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/ = %d, want 405", rec.Code)
	}
}

// TestUI_ReadOnlyFromLoopback: the dashboard's read-only API needs no
// token from a loopback client naming a loopback host; otherwise it does.
func TestUI_ReadOnlyFromLoopback(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		remote, host, auth string
		want               int
	}{
		{"127.0.0.1:5000", "127.0.0.1:1340", "-", 200},
		{"[::1]:5000", "[::1]:1340", "-", 200},
		{"127.0.0.1:5000", "localhost:1340", "-", 200},
		{"127.0.0.1:5000", "evil.example:1340", "-", 401}, // DNS rebinding
		{"192.0.2.7:5000", "127.0.0.1:1340", "-", 401},
		{"192.0.2.7:5000", "imdsemu.internal:1340", "", 200},
		{"192.0.2.7:5000", "imdsemu.internal:1340", "Bearer wrong-token-wrong-token", 401},
	} {
		for _, path := range []string{"/ui/api/state", "/ui/api/generations"} {
			req := httptest.NewRequest("GET", path, nil)
			req.RemoteAddr, req.Host = tc.remote, tc.host
			switch tc.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+testToken)
			case "-":
			default:
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("GET %s from %s to %s (auth %q) = %d, want %d: %s", path, tc.remote, tc.host, tc.auth, rec.Code, tc.want, rec.Body)
			}
		}
	}
	// The state the controls show.
	req := httptest.NewRequest("GET", "/ui/api/state", nil)
	req.RemoteAddr, req.Host = "127.0.0.1:5000", "127.0.0.1:1340"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	var st UIState
	decodeBody(t, rec, &st)
	if st.Options.HTTPTokens != "optional" || len(st.Scenarios) != 1 || st.Attachment.Role != "web-role" || st.Revoke {
		t.Errorf("state = %+v", st)
	}
}

func TestUI_LabItems(t *testing.T) {
	e := newEnv(t)
	sub, err := e.hub.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, tc := range []struct{ body, auth string }{
		{`{"items":[{"type":"row","lane":"a"}]}`, "-"},
		{`{"items":[]}`, ""},
		{`{"items":[{"type":"row"},{"type":"secret"}]}`, ""},
		{`{"items":[{"type":"row"},42]}`, ""},
		{`{"items":[{"type":"row"}],"extra":1}`, ""},
	} {
		rec := e.do("POST", "/v1/lab", tc.body, tc.auth)
		if rec.Code/100 != 4 {
			t.Errorf("POST /v1/lab %s = %d, want 4xx", tc.body, rec.Code)
		}
	}
	select {
	case ev := <-sub.C:
		t.Fatalf("a refused request published %+v", ev)
	default:
	}
	rec := e.do("POST", "/v1/lab", `{"items":[{"type":"lanes","lanes":[{"name":"profile"}]},{"type":"row","lane":"profile","check":"ok"}]}`, "")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST /v1/lab = %d: %s", rec.Code, rec.Body)
	}
	for _, want := range []string{"lanes", "row"} {
		ev := <-sub.C
		if ev.Type != EventLab || ev.Change != want {
			t.Errorf("event %+v, want lab %s", ev, want)
		}
		b, _ := json.Marshal(ev)
		if !strings.Contains(string(b), `"detail":{"type":"`+want+`"`) {
			t.Errorf("event JSON %s does not carry the item", b)
		}
	}
}

// fakeRevoker is a store that records revocations.
type fakeRevoker struct {
	mu  sync.Mutex
	rev map[string]time.Time
}

func (f *fakeRevoker) RevokedBefore(ctx context.Context, role string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev[role], nil
}

func (f *fakeRevoker) Revoke(ctx context.Context, role string, before time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rev[role] = before
	return nil
}

func TestUI_Revoke(t *testing.T) {
	e := newEnv(t)
	if rec := e.do("POST", "/v1/revocations", `{"role":"arn:aws:iam::123456789012:role/web-role"}`, ""); rec.Code != http.StatusNotFound {
		t.Errorf("POST /v1/revocations without a Revoker = %d, want 404", rec.Code)
	}
	rv := &fakeRevoker{rev: map[string]time.Time{}}
	o := e.srv.opts
	o.Revocations = rv
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	do := func(body, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/revocations", strings.NewReader(body))
		if auth != "-" {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	const role = "arn:aws:iam::123456789012:role/web-role"
	for _, tc := range []struct {
		body, auth string
		want       int
	}{
		{`{"role":"` + role + `"}`, "-", 401},
		{`{"role":"web-role"}`, "", 400},
		{`{}`, "", 400},
	} {
		if rec := do(tc.body, tc.auth); rec.Code != tc.want {
			t.Errorf("POST /v1/revocations %s = %d, want %d", tc.body, rec.Code, tc.want)
		}
	}
	if len(rv.rev) != 0 {
		t.Fatalf("a refused request revoked %v", rv.rev)
	}
	if rec := do(`{"role":"`+role+`"}`, ""); rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/revocations = %d: %s", rec.Code, rec.Body)
	}
	if !rv.rev[role].Equal(testNow.UTC()) {
		t.Errorf("revoked %v, want %s before %v", rv.rev, role, testNow)
	}
}
