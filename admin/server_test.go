package admin

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// endpoints is every /v1 route with a body it accepts.
var endpoints = []struct{ method, path, body string }{
	{"GET", "/v1/options", ""},
	{"PATCH", "/v1/options", `{"http-tokens":"required"}`},
	{"GET", "/v1/faults", ""},
	{"POST", "/v1/faults", `{"action":"reset"}`},
	{"DELETE", "/v1/faults", ""},
	{"GET", "/v1/faults/1", ""},
	{"DELETE", "/v1/faults/1", ""},
	{"GET", "/v1/scenarios", ""},
	{"GET", "/v1/scenarios/flaky-start", ""},
	{"PUT", "/v1/scenarios/x", `{"steps":[{"at":"0s","clear":true}]}`},
	{"POST", "/v1/scenarios/flaky-start/start", ""},
	{"POST", "/v1/scenarios/flaky-start/stop", ""},
	{"GET", "/v1/profiles", ""},
	{"GET", "/v1/profiles/web", ""},
	{"POST", "/v1/profiles/web/rotate", ""},
	{"PUT", "/v1/profiles/web/freeze", ""},
	{"DELETE", "/v1/profiles/web/freeze", ""},
	{"GET", "/v1/profiles/web/generations", ""},
	{"GET", "/v1/generations", ""},
	{"GET", "/v1/attachment", ""},
	{"PUT", "/v1/attachment", `{"role":"other-role"}`},
	{"DELETE", "/v1/attachment", ""},
	{"GET", "/v1/events", ""},
	{"GET", "/v1/no-such-thing", ""},
	{"POST", "/v1/options", ""}, // wrong method
}

func TestServer_AuthRequired(t *testing.T) {
	for _, ep := range endpoints {
		for _, auth := range []string{"-", "Bearer wrong-token-0123456789", "Basic " + testToken, "Bearer", testToken, "Bearer " + testToken + "x"} {
			t.Run(ep.method+" "+ep.path+" "+auth, func(t *testing.T) {
				e := newEnv(t)
				before := e.state(t)
				rec := e.do(ep.method, ep.path, ep.body, auth)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401", rec.Code)
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="imdsemu"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				var body ErrorBody
				decodeBody(t, rec, &body)
				if !strings.Contains(body.Error, "bearer token") {
					t.Errorf("error = %q, want it to explain the bearer token", body.Error)
				}
				if strings.Contains(rec.Body.String(), testToken) {
					t.Errorf("the 401 body contains the token")
				}
				if after := e.state(t); after != before {
					t.Errorf("an unauthenticated request changed state:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	}
}

func TestServer_MetricsAndHealthAreOpen(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{"/metrics": "# metrics\n", "/healthz": "ok\n"} {
		rec := e.do("GET", path, "", "-")
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("GET %s without a token = %d %q, want 200 %q", path, rec.Code, rec.Body, want)
		}
	}
	if rec := e.do("GET", "/nope", "", "-"); rec.Code != 404 {
		t.Errorf("GET /nope = %d, want 404", rec.Code)
	}
}

func TestServer_MethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	for path, allow := range map[string]string{
		"/v1/options":                  "GET, PATCH",
		"/v1/faults":                   "DELETE, GET, POST",
		"/v1/profiles/web/freeze":      "DELETE, PUT",
		"/v1/scenarios/x/start":        "POST",
		"/v1/attachment":               "DELETE, GET, PUT",
		"/v1/profiles/web/generations": "GET",
	} {
		rec := e.do("POST", path, "{}", "")
		if allow == "POST" || strings.Contains(allow, "POST") {
			rec = e.do("PATCH", path, "{}", "")
		}
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != allow {
			t.Errorf("%s: %d, Allow %q; want 405, Allow %q", path, rec.Code, rec.Header().Get("Allow"), allow)
		}
	}
}

func TestServer_Options(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/v1/options", "", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	want := `{
  "http-tokens": "optional",
  "http-endpoint": "enabled",
  "hop-limit": 1,
  "extended-credentials": true,
  "instance-metadata-tags": false,
  "throttle": {
    "rps": 0,
    "burst": 0
  }
}
`
	if rec.Body.String() != want {
		t.Errorf("GET /v1/options =\n%s\nwant\n%s", rec.Body, want)
	}
	rec = e.do("PATCH", "/v1/options", `{"http-tokens":"required","hop-limit":3,"throttle":{"rps":5.5,"burst":10},"instance-metadata-tags":true}`, "")
	if rec.Code != 200 {
		t.Fatalf("PATCH = %d %s", rec.Code, rec.Body)
	}
	got := e.meta.MetadataOptions()
	wantOpts := MetadataOptions{HTTPTokens: "required", HTTPEndpoint: "enabled", HopLimit: 3, ExtendedCredentials: true, InstanceMetadataTags: true, Throttle: Throttle{RPS: 5.5, Burst: 10}}
	if got != wantOpts {
		t.Errorf("options after PATCH = %+v, want %+v", got, wantOpts)
	}
	var body MetadataOptions
	decodeBody(t, rec, &body)
	if body != wantOpts {
		t.Errorf("PATCH answered %+v, want %+v", body, wantOpts)
	}
	// An empty patch changes nothing and succeeds.
	if rec := e.do("PATCH", "/v1/options", `{}`, ""); rec.Code != 200 {
		t.Errorf("empty PATCH = %d", rec.Code)
	}
}

func TestServer_Faults(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", "/v1/faults", `{"action":"status","status":403,"path":"/latest/api/token","method":"put","times":3,"for":"30s","probability":0.5,"name":"fallback"}`, "")
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST = %d %s", rec.Code, rec.Body)
	}
	var st fault.Status
	decodeBody(t, rec, &st)
	if st.ID == "" || rec.Header().Get("Location") != "/v1/faults/"+st.ID {
		t.Errorf("id %q, Location %q", st.ID, rec.Header().Get("Location"))
	}
	if st.Method != "PUT" || st.Status != 403 || st.Times != 3 || time.Duration(st.For) != 30*time.Second || *st.Probability != 0.5 {
		t.Errorf("rule = %+v", st.Rule)
	}
	if st.Ends == nil || !st.Ends.Equal(testNow.Add(30*time.Second)) {
		t.Errorf("ends = %v, want now+30s", st.Ends)
	}
	e.do("POST", "/v1/faults", `{"action":"latency","delay":"2s"}`, "")

	rec = e.do("GET", "/v1/faults", "", "")
	var list struct{ Faults []fault.Status }
	decodeBody(t, rec, &list)
	if rec.Code != 200 || len(list.Faults) != 2 || list.Faults[0].ID != st.ID {
		t.Fatalf("GET /v1/faults = %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/v1/faults/"+st.ID, "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name": "fallback"`) {
		t.Errorf("GET one = %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("DELETE", "/v1/faults/"+st.ID, "", ""); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("DELETE one = %d %q", rec.Code, rec.Body)
	}
	if rec := e.do("DELETE", "/v1/faults", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"removed": 1`) {
		t.Errorf("DELETE all = %d %s", rec.Code, rec.Body)
	}
	if len(e.faults.Rules()) != 0 {
		t.Errorf("rules left: %v", e.faults.Rules())
	}
	if rec := e.do("GET", "/v1/faults", "", ""); !strings.Contains(rec.Body.String(), `"faults": []`) {
		t.Errorf("empty list = %s, want an empty array", rec.Body)
	}
}

func TestServer_Scenarios(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/v1/scenarios", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name": "flaky-start"`) {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("POST", "/v1/scenarios/flaky-start/start", "", "")
	var st fault.ScenarioStatus
	decodeBody(t, rec, &st)
	if rec.Code != 200 || !st.Running || st.StepsDone != 1 {
		t.Fatalf("start = %d %s", rec.Code, rec.Body)
	}
	if rules := e.faults.Rules(); len(rules) != 1 || rules[0].Scenario != "flaky-start" {
		t.Errorf("rules after start = %+v", rules)
	}
	if rec := e.do("GET", "/v1/scenarios/flaky-start", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"running": true`) {
		t.Errorf("get = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("POST", "/v1/scenarios/flaky-start/stop", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"running": false`) {
		t.Errorf("stop = %d %s", rec.Code, rec.Body)
	}
	if len(e.faults.Rules()) != 0 {
		t.Errorf("rules after stop: %v", e.faults.Rules())
	}
	rec = e.do("PUT", "/v1/scenarios/outage", `{"steps":[{"at":"0s","fault":{"action":"refuse","for":"5s"}},{"at":10,"clear":true}]}`, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name": "outage"`) {
		t.Errorf("put = %d %s", rec.Code, rec.Body)
	}
	if _, err := e.faults.Scenario("outage"); err != nil {
		t.Errorf("scenario not defined: %v", err)
	}
}

func TestServer_Profiles(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/v1/profiles", "", "")
	if rec.Code != 200 || strings.Count(rec.Body.String(), `"arn"`) != 3 {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
	for key, want := range map[string]string{
		"web":                       instanceARN,
		"WEB":                       instanceARN,
		url.PathEscape(otherARN):    otherARN,
		url.PathEscape(dupARN):      dupARN,
		url.PathEscape(instanceARN): instanceARN,
		strings.ReplaceAll(url.PathEscape(otherARN), "%2F", "%2f"): otherARN,
	} {
		rec := e.do("GET", "/v1/profiles/"+key, "", "")
		var p Profile
		decodeBody(t, rec, &p)
		if rec.Code != 200 || p.ARN != want {
			t.Errorf("GET /v1/profiles/%s = %d %s, want %s", key, rec.Code, rec.Body, want)
		}
	}

	rec = e.do("POST", "/v1/profiles/web/rotate", "", "")
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), "rotation requested") {
		t.Errorf("rotate = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("POST", "/v1/profiles/web/rotate?wait=true", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"seq": 2`) || !strings.Contains(rec.Body.String(), `"access_key_id": "ASIATEST000000000002"`) {
		t.Errorf("rotate?wait = %d %s", rec.Code, rec.Body)
	}

	rec = e.do("PUT", "/v1/profiles/web/freeze", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"frozen": true`) {
		t.Errorf("freeze = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("POST", "/v1/profiles/web/rotate", "", "")
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "unfreeze it first") {
		t.Errorf("rotate while frozen = %d %s, want 409", rec.Code, rec.Body)
	}
	rec = e.do("DELETE", "/v1/profiles/web/freeze", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"frozen": false`) {
		t.Errorf("unfreeze = %d %s", rec.Code, rec.Body)
	}
}

func TestServer_Generations(t *testing.T) {
	e := newEnv(t)
	exp := testNow.Add(time.Hour)
	e.tracker.Record(Event{Type: EventIssued, At: testNow, Profile: instanceARN, Role: "arn:aws:iam::123456789012:role/web-role", Seq: 1, AccessKeyID: "ASIAONE", Expires: &exp})
	e.tracker.Record(Event{Type: EventServed, At: testNow, AccessKeyID: "ASIAONE", Client: "10.0.0.1", Version: "v2"})
	e.tracker.Record(Event{Type: EventIssued, At: testNow, Profile: otherARN, Seq: 1, AccessKeyID: "ASIATWO"})

	rec := e.do("GET", "/v1/generations", "", "")
	var all struct{ Generations []GenerationInfo }
	decodeBody(t, rec, &all)
	if rec.Code != 200 || len(all.Generations) != 2 {
		t.Fatalf("all = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("GET", "/v1/profiles/web/generations", "", "")
	var one struct{ Generations []GenerationInfo }
	decodeBody(t, rec, &one)
	if rec.Code != 200 || len(one.Generations) != 1 {
		t.Fatalf("web = %d %s", rec.Code, rec.Body)
	}
	g := one.Generations[0]
	if g.AccessKeyID != "ASIAONE" || g.Status != StatusCurrent || g.Served != 1 || len(g.Clients) != 1 || g.Clients[0].Versions["v2"] != 1 {
		t.Errorf("generation = %+v", g)
	}
	if strings.Contains(rec.Body.String(), "Secret") || strings.Contains(rec.Body.String(), "Token") {
		t.Errorf("generations carry a secret-looking field: %s", rec.Body)
	}
}

func TestServer_Attachment(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/v1/attachment", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"role": "web-role"`) {
		t.Fatalf("get = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("PUT", "/v1/attachment", `{"role":"other-role"}`, "")
	if rec.Code != 200 || e.attacher.Attachment().Role != "other-role" {
		t.Errorf("attach = %d %s", rec.Code, rec.Body)
	}
	rec = e.do("DELETE", "/v1/attachment", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"role": ""`) || e.attacher.Attachment().Role != "" {
		t.Errorf("detach = %d %s", rec.Code, rec.Body)
	}
}

// TestServer_BadInputChangesNothing sends every kind of bad request and
// checks the status, that the message helps, and that nothing changed.
func TestServer_BadInputChangesNothing(t *testing.T) {
	cases := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"options unknown field", "PATCH", "/v1/options", `{"http-token":"required"}`, 400, `unknown field "http-token"`},
		{"options bad JSON", "PATCH", "/v1/options", `{"http-tokens":`, 400, "ends too soon"},
		{"options syntax", "PATCH", "/v1/options", `{"http-tokens" "required"}`, 400, "invalid JSON at byte"},
		{"options empty body", "PATCH", "/v1/options", ``, 400, "empty"},
		{"options trailing data", "PATCH", "/v1/options", `{"hop-limit":2} {}`, 400, "after the JSON value"},
		{"options not an object", "PATCH", "/v1/options", `[1]`, 400, "want an object"},
		{"options wrong type", "PATCH", "/v1/options", `{"hop-limit":"two"}`, 400, `field "hop-limit": got a JSON string, want a number`},
		{"options bad tokens", "PATCH", "/v1/options", `{"http-tokens":"sometimes"}`, 400, `http-tokens: must be "optional" or "required"`},
		{"options bad endpoint", "PATCH", "/v1/options", `{"http-endpoint":"off"}`, 400, "http-endpoint"},
		{"options hop limit 0", "PATCH", "/v1/options", `{"hop-limit":0}`, 400, "hop-limit: must be from 1 to 64"},
		{"options hop limit 65", "PATCH", "/v1/options", `{"hop-limit":65}`, 400, "hop-limit: must be from 1 to 64"},
		{"options negative rps", "PATCH", "/v1/options", `{"throttle":{"rps":-1,"burst":1}}`, 400, "throttle.rps"},
		{"options rps without burst", "PATCH", "/v1/options", `{"throttle":{"rps":1}}`, 400, "throttle.burst"},
		{"options throttle unknown field", "PATCH", "/v1/options", `{"throttle":{"rate":1}}`, 400, `unknown field "rate"`},
		{"options one bad of two", "PATCH", "/v1/options", `{"http-tokens":"required","hop-limit":99}`, 400, "hop-limit"},
		{"fault unknown action", "POST", "/v1/faults", `{"action":"explode"}`, 400, `unknown action "explode"`},
		{"fault status range", "POST", "/v1/faults", `{"action":"status","status":700}`, 400, "from 100 to 599"},
		{"fault negative delay", "POST", "/v1/faults", `{"action":"latency","delay":"-1s"}`, 400, "delay: must not be negative"},
		{"fault probability", "POST", "/v1/faults", `{"action":"reset","probability":2}`, 400, "probability"},
		{"fault bad cidr", "POST", "/v1/faults", `{"action":"reset","client":"10.0.0.0/40"}`, 400, "client"},
		{"fault every beyond first", "POST", "/v1/faults", `{"action":"reset","first":1,"every":2}`, 400, "never fire"},
		{"fault unknown field", "POST", "/v1/faults", `{"action":"reset","tiems":3}`, 400, `unknown field "tiems"`},
		{"fault with id", "POST", "/v1/faults", `{"id":"7","action":"reset"}`, 400, "id is assigned by the server"},
		{"fault bad duration", "POST", "/v1/faults", `{"action":"latency","delay":"soon"}`, 400, "duration"},
		{"fault bad JSON", "POST", "/v1/faults", `{action:reset}`, 400, "invalid JSON"},
		{"fault unknown id get", "GET", "/v1/faults/99", ``, 404, `no active fault rule "99"`},
		{"fault unknown id delete", "DELETE", "/v1/faults/99", ``, 404, `no active fault rule "99"`},
		{"scenario unknown get", "GET", "/v1/scenarios/nope", ``, 404, `no scenario "nope"`},
		{"scenario unknown start", "POST", "/v1/scenarios/nope/start", ``, 404, `no scenario "nope"`},
		{"scenario unknown stop", "POST", "/v1/scenarios/nope/stop", ``, 404, `no scenario "nope"`},
		{"scenario not running", "POST", "/v1/scenarios/flaky-start/stop", ``, 409, "is not running"},
		{"scenario bad step", "PUT", "/v1/scenarios/x", `{"steps":[{"at":"1s","fault":{"action":"status","status":1000}}]}`, 400, "steps[0].fault.status"},
		{"scenario no steps", "PUT", "/v1/scenarios/x", `{"steps":[]}`, 400, "at least one step"},
		{"scenario name mismatch", "PUT", "/v1/scenarios/x", `{"name":"y","steps":[{"clear":true}]}`, 400, "differs"},
		{"scenario bad name", "PUT", "/v1/scenarios/has%20space", `{"steps":[{"clear":true}]}`, 400, "name"},
		{"scenario unknown field", "PUT", "/v1/scenarios/x", `{"steps":[{"clear":true,"after":"1s"}]}`, 400, `unknown field "after"`},
		{"profile unknown", "GET", "/v1/profiles/nope", ``, 404, `no instance profile "nope"`},
		{"profile unknown rotate", "POST", "/v1/profiles/nope/rotate", ``, 404, "no instance profile"},
		{"profile unknown freeze", "PUT", "/v1/profiles/nope/freeze", ``, 404, "no instance profile"},
		{"profile unknown unfreeze", "DELETE", "/v1/profiles/nope/freeze", ``, 404, "no instance profile"},
		{"profile unknown generations", "GET", "/v1/profiles/nope/generations", ``, 404, "no instance profile"},
		{"profile ambiguous", "GET", "/v1/profiles/worker", ``, 400, "several accounts"},
		{"rotate bad wait", "POST", "/v1/profiles/web/rotate?wait=maybe", ``, 400, "wait must be true or false"},
		{"attach unknown role", "PUT", "/v1/attachment", `{"role":"nope"}`, 404, `no role "nope"`},
		{"attach no role", "PUT", "/v1/attachment", `{}`, 400, "role: is required"},
		{"attach unknown field", "PUT", "/v1/attachment", `{"role":"other-role","profile":"x"}`, 400, `unknown field "profile"`},
		{"events unknown type", "GET", "/v1/events?type=served,bogus", ``, 400, `unknown event type "bogus"`},
		{"unknown endpoint", "GET", "/v1/nope", ``, 404, "no such endpoint"},
		{"wrong method", "POST", "/v1/options", ``, 405, "not allowed"},
		{"huge body", "POST", "/v1/faults", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 400, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.do("POST", "/v1/faults", `{"action":"reset","path":"/x"}`, "") // some state to keep
			before := e.state(t)
			rec := e.do(tc.method, tc.path, tc.body, "")
			if rec.Code != tc.code {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tc.code, rec.Body)
			}
			var body ErrorBody
			decodeBody(t, rec, &body)
			if !strings.Contains(body.Error, tc.msg) {
				t.Errorf("error = %q, want it to contain %q", body.Error, tc.msg)
			}
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
			if after := e.state(t); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestServer_ValidationFields(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", "/v1/faults", `{"action":"latency","delay":"-1s","probability":0}`, "")
	var body ErrorBody
	decodeBody(t, rec, &body)
	fields := map[string]bool{}
	for _, f := range body.Fields {
		fields[f.Field] = true
	}
	if !fields["delay"] || !fields["probability"] {
		t.Errorf("fields = %+v, want delay and probability", body.Fields)
	}
}

func TestNew_Rejects(t *testing.T) {
	e := newEnv(t)
	good := e.srv.opts
	for name, mod := range map[string]func(*Options){
		"short token": func(o *Options) { o.Token = "short" },
		"no metadata": func(o *Options) { o.Metadata = nil },
		"no faults":   func(o *Options) { o.Faults = nil },
		"no hub":      func(o *Options) { o.Hub = nil },
	} {
		o := good
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.token")
	tok, created, err := LoadOrCreateToken(path, nil)
	if err != nil || !created || len(tok) != TokenLen {
		t.Fatalf("first LoadOrCreateToken = %d chars, created %v, %v; want %d chars, created", len(tok), created, err, TokenLen)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	tok2, created, err := LoadOrCreateToken(path, nil)
	if err != nil || created || tok2 != tok {
		t.Errorf("second LoadOrCreateToken: same %v, created %v, %v; want the same token, not created", tok2 == tok, created, err)
	}
	if strings.ContainsAny(tok, "\n +/=") {
		t.Errorf("token has characters that do not paste into a header cleanly")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateToken(path, nil); err == nil {
		t.Errorf("a world-readable token file was accepted")
	}
}
