package imds_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/imds"
)

const testECSToken = "ecs-test-token-0123456789"

const wantECS = `{"AccessKeyId":"ASIAEXAMPLE000000001","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","Token":"IQoJb3JpZ2luX2VjEXAMPLE+session/token==","Expiration":"2025-06-01T18:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/web-role"}`

func ecsHandler(t *testing.T, f *fixture) http.Handler {
	t.Helper()
	h, err := f.srv.ECSHandler(testECSToken)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestECSHandler_Responses(t *testing.T) {
	events := &recorder{}
	f := newFixture(t, func(o *imds.Options) { o.OnCredentialsServed = events.record })
	h := ecsHandler(t, f)
	cases := []struct {
		name, method, path, auth string
		code                     int
		body                     string
	}{
		{"v2 path", "GET", "/v2/credentials/imdsemu", testECSToken, 200, wantECS},
		{"any path (FULL_URI)", "GET", "/creds", testECSToken, 200, wantECS},
		{"root", "GET", "/", testECSToken, 200, wantECS},
		{"no Authorization", "GET", "/v2/credentials/imdsemu", "", 401, `"code":"AccessDeniedException"`},
		{"wrong Authorization", "GET", "/v2/credentials/imdsemu", testECSToken + "x", 403, `"code":"AccessDeniedException"`},
		{"Bearer prefix", "GET", "/v2/credentials/imdsemu", "Bearer " + testECSToken, 403, `"code":"AccessDeniedException"`},
		{"POST", "POST", "/v2/credentials/imdsemu", testECSToken, 405, `"code":"MethodNotAllowed"`},
		{"HEAD", "HEAD", "/v2/credentials/imdsemu", testECSToken, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, w.Code, tc.code)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if tc.code == 200 && w.Body.String() != tc.body || tc.code != 200 && !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body = %s, want %s", w.Body.String(), tc.body)
			}
			if strings.Contains(w.Body.String(), testECSToken) {
				t.Error("the response contains the authorization token")
			}
		})
	}
	if got := len(events.list()); got != 3 {
		t.Errorf("served events = %d, want 3 (the three 200 GETs)", got)
	}
	if ev := events.list()[0]; ev.Version != "ecs" || ev.Role != testRole || ev.AccessKeyID != testAccessKeyID || ev.Path != "/v2/credentials/imdsemu" {
		t.Errorf("served event = %+v", ev)
	}

	// No role, and an error document.
	f.src.set(nil)
	w := serveRequest(t, withServer(h), withHeader(httptest.NewRequest("GET", "/v2/credentials/x", nil), "Authorization", testECSToken))
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"code":"NotFound"`) {
		t.Errorf("no role: %d %s, want 404 NotFound", w.Code, w.Body.String())
	}
	a := testAttachment()
	a.Error = &imds.ErrorDocument{Code: "AssumeRoleUnauthorizedAccess", Message: "EC2 cannot assume the role web-role."}
	f.src.set(&a)
	w = serveRequest(t, withServer(h), withHeader(httptest.NewRequest("GET", "/v2/credentials/x", nil), "Authorization", testECSToken))
	if w.Code != 400 || w.Body.String() != `{"code":"AssumeRoleUnauthorizedAccess","message":"EC2 cannot assume the role web-role."}` {
		t.Errorf("error document: %d %s", w.Code, w.Body.String())
	}
	// A RoleArn given by the source is served as is.
	a = testAttachment()
	a.RoleARN = "arn:aws:iam::123456789012:role/app/web-role"
	f.src.set(&a)
	w = serveRequest(t, withServer(h), withHeader(httptest.NewRequest("GET", "/v2/credentials/x", nil), "Authorization", testECSToken))
	if !strings.Contains(w.Body.String(), `"RoleArn":"arn:aws:iam::123456789012:role/app/web-role"`) {
		t.Errorf("RoleArn not taken from the attachment: %s", w.Body.String())
	}
}

// withServer adds the Server header serveRequest insists on; the ECS
// endpoint does not send EC2ws.
func withServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "EC2ws")
		h.ServeHTTP(w, r)
	})
}

func TestECSHandler_ShortToken(t *testing.T) {
	f := newFixture(t, nil)
	for _, tok := range []string{"", "short"} {
		if _, err := f.srv.ECSHandler(tok); err == nil {
			t.Errorf("ECSHandler(%q) = nil error, want one", tok)
		}
	}
}

// TestSDK_EndpointCreds drives the ECS endpoint with aws-sdk-go-v2's
// container credentials provider over loopback.
func TestSDK_EndpointCreds(t *testing.T) {
	f := newFixture(t, nil)
	ts := httptest.NewServer(ecsHandler(t, f))
	defer ts.Close()
	url := ts.URL + "/v2/credentials/imdsemu"
	ctx := context.Background()

	p := endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = testECSToken })
	creds, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if creds.AccessKeyID != testAccessKeyID || creds.SecretAccessKey != testSecretAccessKey || creds.SessionToken != testSessionToken {
		t.Errorf("Retrieve = %s, want the test credentials", creds.AccessKeyID)
	}
	if !creds.CanExpire || !creds.Expires.Equal(t0.Add(6*time.Hour)) || creds.Source != endpointcreds.ProviderName {
		t.Errorf("Retrieve CanExpire=%t Expires=%v Source=%q", creds.CanExpire, creds.Expires, creds.Source)
	}

	for _, tc := range []struct {
		token, code string
		status      int
	}{
		{"", "AccessDeniedException", 401},
		{"wrong-token-0123456789", "AccessDeniedException", 403},
	} {
		_, err := endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = tc.token }).Retrieve(ctx)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != tc.code {
			t.Errorf("token %q: Retrieve error = %v, want API error %s", tc.token, err, tc.code)
		}
		var st interface{ HTTPStatusCode() int }
		if errors.As(err, &st) && st.HTTPStatusCode() != tc.status {
			t.Errorf("token %q: status %d, want %d", tc.token, st.HTTPStatusCode(), tc.status)
		}
	}
	if diff := cmp.Diff(wantECS, string(mustGet(t, url, testECSToken))); diff != "" {
		t.Errorf("raw document (-want +got):\n%s", diff)
	}
}

func mustGet(t *testing.T, url, auth string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
