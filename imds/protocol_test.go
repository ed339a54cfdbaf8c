package imds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/imds"
)

// recorder collects ServedEvents.
type recorder struct {
	mu     sync.Mutex
	events []imds.ServedEvent
}

func (r *recorder) record(ev imds.ServedEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) list() []imds.ServedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]imds.ServedEvent(nil), r.events...)
}

const wantExtended = `{
  "Code" : "Success",
  "LastUpdated" : "2025-06-01T11:50:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAEXAMPLE000000001",
  "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token" : "IQoJb3JpZ2luX2VjEXAMPLE+session/token==",
  "Expiration" : "2025-06-01T18:00:00Z",
  "AccountId" : "123456789012"
}`

func TestServer_TokenTTLHeaderOnGET(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, "60")
	cases := []struct {
		name    string
		advance time.Duration
		path    string
		headers []string
		code    int
		ttl     string
	}{
		{"fresh", 0, "/latest/meta-data/instance-id", []string{hdrToken, tok}, 200, "60"},
		{"rounded up", 10500 * time.Millisecond, "/latest/meta-data/instance-id", []string{hdrToken, tok}, 200, "50"},
		{"on a 404", 0, "/latest/meta-data/nope", []string{hdrToken, tok}, 404, "50"},
		{"on a credential document", 0, "/latest/meta-data/iam/security-credentials/" + testRole, []string{hdrToken, tok}, 200, "50"},
		{"last second", 49 * time.Second, "/latest/meta-data/instance-id", []string{hdrToken, tok}, 200, "1"},
		{"no token: none", 0, "/latest/meta-data/instance-id", nil, 200, ""},
		{"expired: none", time.Second, "/latest/meta-data/instance-id", []string{hdrToken, tok}, 401, ""},
	}
	for _, tc := range cases {
		f.clock.Advance(tc.advance)
		w := f.do(t, "GET", tc.path, tc.headers...)
		if w.Code != tc.code {
			t.Errorf("%s: GET %s = %d, want %d", tc.name, tc.path, w.Code, tc.code)
		}
		if got := w.Header().Get(hdrTTL); got != tc.ttl {
			t.Errorf("%s: %s = %q, want %q", tc.name, hdrTTL, got, tc.ttl)
		}
	}
}

func TestServer_TokenPUTClosesConnection(t *testing.T) {
	f := newFixture(t, nil)
	for _, h := range [][]string{
		{hdrTTL, "60"},
		{hdrTTL, "0"},
		{hdrTTL, "60", "X-Forwarded-For", "10.0.0.9"},
	} {
		if got := f.do(t, "PUT", "/latest/api/token", h...).Header().Get("Connection"); got != "close" {
			t.Errorf("PUT %q: Connection = %q, want close", h, got)
		}
	}
	if got := f.do(t, "GET", "/latest/meta-data/instance-id").Header().Get("Connection"); got != "" {
		t.Errorf("GET: Connection = %q, want none", got)
	}
}

// TestServer_HeadEverywhere: HEAD answers like GET on every path, without a body.
func TestServer_HeadEverywhere(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) {
		o.ExtendedCredentials = true
		o.InstanceMetadataTags = true
		o.Instance = imds.Instance{Tags: map[string]string{"Name": "web"}, UserData: []byte("#!/bin/sh\n")}
		o.IdentityCredentials = func(context.Context) (credential.Value, bool) { return testAttachment().Credentials, true }
	})
	tok := f.token(t, "60")
	paths := []string{
		"/latest/user-data", "/latest/meta-data/tags/instance/Name",
		"/latest/meta-data/iam/security-credentials-extended/" + testRole,
		"/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance",
	}
	for _, tc := range pathCases {
		paths = append(paths, tc.path)
	}
	for _, p := range paths {
		get := f.do(t, "GET", p, hdrToken, tok)
		head := f.do(t, "HEAD", p, hdrToken, tok)
		if head.Code != get.Code || head.Body.Len() != 0 {
			t.Errorf("HEAD %s = %d with %d bytes, want %d as GET and no body", p, head.Code, head.Body.Len(), get.Code)
		}
		if diff := cmp.Diff(get.Header(), head.Header()); diff != "" {
			t.Errorf("HEAD %s headers differ from GET (-GET +HEAD):\n%s", p, diff)
		}
	}
}

func TestServer_MethodNotAllowedOnNewPaths(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) {
		o.ExtendedCredentials = true
		o.InstanceMetadataTags = true
		o.Instance = imds.Instance{Tags: map[string]string{"Name": "web"}, UserData: []byte("x")}
	})
	for _, p := range []string{
		"/latest/user-data", "/latest/meta-data/tags/instance/Name", "/latest/meta-data/mac",
		"/latest/meta-data/iam/security-credentials-extended/" + testRole,
		"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/mac",
		"/latest/dynamic/instance-identity/pkcs7",
	} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			w := f.do(t, m, p)
			if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", m, p, w.Code, w.Header().Get("Allow"), "GET, HEAD")
			}
		}
	}
}

func TestServer_ExtendedCredentials(t *testing.T) {
	list := "/latest/meta-data/iam/security-credentials-extended/"
	doc := list + testRole
	f := newFixture(t, func(o *imds.Options) { o.ExtendedCredentials = true })
	check := func(step string, on bool) {
		t.Helper()
		if got := f.srv.Options().ExtendedCredentials; got != on {
			t.Errorf("%s: Options().ExtendedCredentials = %t, want %t", step, got, on)
		}
		for _, p := range []string{list, strings.TrimSuffix(list, "/"), doc, doc + "/"} {
			w := f.do(t, "GET", p)
			want, body := 404, ""
			if on {
				want, body = 200, testRole
				if strings.HasPrefix(p, doc) {
					body = wantExtended
				}
			}
			if w.Code != want {
				t.Errorf("%s: GET %s = %d, want %d", step, p, w.Code, want)
				continue
			}
			if on && w.Body.String() != body {
				t.Errorf("%s: GET %s body:\n%s\nwant:\n%s", step, p, w.Body.String(), body)
			}
			if !on {
				checkErrorPage(t, w)
			}
		}
		// The legacy path is unaffected.
		if w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole); w.Body.String() != wantCredentials {
			t.Errorf("%s: legacy document changed:\n%s", step, w.Body.String())
		}
		if w := f.do(t, "GET", list+"other-role"); w.Code != 404 {
			t.Errorf("%s: GET %sother-role = %d, want 404", step, list, w.Code)
		}
	}
	check("on", true)
	f.srv.SetExtendedCredentials(false)
	check("switched off", false)
	f.srv.SetExtendedCredentials(true)
	check("switched on", true)

	// The account is the instance profile's.
	a := testAttachment()
	a.ProfileARN = "arn:aws:iam::210987654321:instance-profile/web"
	f.src.set(&a)
	if w := f.do(t, "GET", doc); !strings.Contains(w.Body.String(), `"AccountId" : "210987654321"`) {
		t.Errorf("extended document for another account's profile:\n%s", w.Body.String())
	}
	f.src.set(nil)
	for _, p := range []string{list, doc} {
		if w := f.do(t, "GET", p); w.Code != 404 {
			t.Errorf("no role: GET %s = %d, want 404", p, w.Code)
		}
	}
	// Off by default in the library (the CLI turns it on).
	if newFixture(t, nil).srv.Options().ExtendedCredentials {
		t.Error("zero Options: ExtendedCredentials on, want off")
	}
}

func TestServer_InstanceTags(t *testing.T) {
	tags := map[string]string{"Name": "web-1", "env": "prod", "team:owner@x": "a b/c"}
	f := newFixture(t, func(o *imds.Options) { o.Instance = imds.Instance{Tags: tags} })
	tags["Name"] = "changed after New" // New copied the map
	cases := []struct {
		path, body string
	}{
		{"/latest/meta-data/tags/", "instance/"},
		{"/latest/meta-data/tags", "instance/"},
		{"/latest/meta-data/tags/instance/", "Name\nenv\nteam:owner@x"},
		{"/latest/meta-data/tags/instance", "Name\nenv\nteam:owner@x"},
		{"/latest/meta-data/tags/instance/Name", "web-1"},
		{"/latest/meta-data/tags/instance/Name/", "web-1"},
		{"/latest/meta-data/tags/instance/team:owner@x", "a b/c"},
		{"/latest/meta-data/tags/instance/name", ""},
		{"/latest/meta-data/tags/instance/missing", ""},
	}
	for _, on := range []bool{false, true, false} {
		f.srv.SetInstanceMetadataTags(on)
		if got := f.srv.Options().InstanceMetadataTags; got != on {
			t.Errorf("Options().InstanceMetadataTags = %t, want %t", got, on)
		}
		listing := f.do(t, "GET", "/latest/meta-data/").Body.String()
		if got := strings.HasSuffix(listing, "\ntags/"); got != on {
			t.Errorf("tags=%t: meta-data listing %q lists tags/ = %t", on, listing, got)
		}
		for _, tc := range cases {
			w := f.do(t, "GET", tc.path)
			wantCode := 200
			if !on || tc.body == "" {
				wantCode = 404
			}
			if w.Code != wantCode || (wantCode == 200 && w.Body.String() != tc.body) {
				t.Errorf("tags=%t: GET %s = %d %q, want %d %q", on, tc.path, w.Code, w.Body.String(), wantCode, tc.body)
			}
		}
	}
}

func TestServer_UserData(t *testing.T) {
	data := []byte("#!/bin/bash\necho hi\x00\xff\n")
	f := newFixture(t, func(o *imds.Options) { o.Instance = imds.Instance{UserData: data} })
	data[0] = 'X' // New copied the slice
	for _, p := range []string{"/latest/user-data", "/latest/user-data/"} {
		w := f.do(t, "GET", p)
		if w.Code != 200 || w.Body.String() != "#!/bin/bash\necho hi\x00\xff\n" {
			t.Errorf("GET %s = %d %q, want 200 and the user data", p, w.Code, w.Body.String())
		}
		if got := w.Header().Get("Content-Type"); got != "application/octet-stream" {
			t.Errorf("GET %s Content-Type = %q, want application/octet-stream", p, got)
		}
	}
	if got := f.do(t, "GET", "/latest/").Body.String(); got != "dynamic\nmeta-data\nuser-data" {
		t.Errorf("/latest/ = %q, want user-data listed", got)
	}
	none := newFixture(t, nil)
	if w := none.do(t, "GET", "/latest/user-data"); w.Code != 404 {
		t.Errorf("no user data: GET = %d, want 404", w.Code)
	}
}

func TestServer_PublicIPv4(t *testing.T) {
	for _, tc := range []struct {
		region, ip, host string
	}{
		{"us-east-1", "203.0.113.7", "ec2-203-0-113-7.compute-1.amazonaws.com"},
		{"eu-west-1", "198.51.100.20", "ec2-198-51-100-20.eu-west-1.compute.amazonaws.com"},
	} {
		f := newFixture(t, func(o *imds.Options) { o.Instance = imds.Instance{Region: tc.region, PublicIPv4: tc.ip} })
		for p, want := range map[string]string{
			"/latest/meta-data/public-ipv4":                                               tc.ip,
			"/latest/meta-data/public-hostname":                                           tc.host,
			"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/public-ipv4s":    tc.ip,
			"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/public-hostname": tc.host,
		} {
			if w := f.do(t, "GET", p); w.Code != 200 || w.Body.String() != want {
				t.Errorf("GET %s = %d %q, want 200 %q", p, w.Code, w.Body.String(), want)
			}
		}
		if l := f.do(t, "GET", "/latest/meta-data/").Body.String(); !strings.Contains(l, "\npublic-hostname\npublic-ipv4") {
			t.Errorf("meta-data listing %q lacks the public entries", l)
		}
	}
}

func TestServer_IdentityCredentials(t *testing.T) {
	var mu sync.Mutex
	var present bool
	calls := 0
	c := credential.Value{
		AccessKeyID: "ASIAIDENTITY00000001", SecretAccessKey: "identitysecret", SessionToken: "identity-token",
		Issued: t0.Add(-time.Minute), Expires: t0.Add(time.Hour),
	}
	events := &recorder{}
	f := newFixture(t, func(o *imds.Options) {
		o.OnCredentialsServed = events.record
		o.IdentityCredentials = func(context.Context) (credential.Value, bool) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return c, present
		}
	})
	set := func(v bool) { mu.Lock(); present = v; mu.Unlock() }
	base := "/latest/meta-data/identity-credentials"
	cases := []struct{ path, body string }{
		{base + "/", "ec2/"},
		{base + "/ec2/", "info\nsecurity-credentials/"},
		{base + "/ec2/info", "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2025-06-01T11:59:00Z\",\n  \"AccountId\" : \"123456789012\"\n}"},
		{base + "/ec2/security-credentials/", "ec2-instance"},
		{base + "/ec2/security-credentials/ec2-instance", `{
  "Code" : "Success",
  "LastUpdated" : "2025-06-01T11:59:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAIDENTITY00000001",
  "SecretAccessKey" : "identitysecret",
  "Token" : "identity-token",
  "Expiration" : "2025-06-01T13:00:00Z"
}`},
	}
	// The listings need no generation: they are served whether or not
	// one is minted (ok=false: its mint failed), and ask for none.
	listings := map[string]bool{base + "/": true, base + "/ec2/": true, base + "/ec2/security-credentials/": true}
	for _, on := range []bool{false, true} {
		set(on)
		if l := f.do(t, "GET", "/latest/meta-data/").Body.String(); !strings.Contains(l, "identity-credentials/") {
			t.Errorf("present=%t: meta-data listing %q lacks identity-credentials/", on, l)
		}
		for _, tc := range cases {
			mu.Lock()
			before := calls
			mu.Unlock()
			w := f.do(t, "GET", tc.path)
			mu.Lock()
			asked := calls > before
			mu.Unlock()
			if asked == listings[tc.path] {
				t.Errorf("GET %s asked for the credentials: %t", tc.path, asked)
			}
			if !on && !listings[tc.path] {
				if w.Code != 404 {
					t.Errorf("absent: GET %s = %d, want 404", tc.path, w.Code)
				}
				continue
			}
			if w.Code != 200 || w.Body.String() != tc.body {
				t.Errorf("GET %s = %d:\n%s\nwant 200:\n%s", tc.path, w.Code, w.Body.String(), tc.body)
			}
		}
		if w := f.do(t, "GET", base+"/ec2/security-credentials/other"); w.Code != 404 {
			t.Errorf("GET …/security-credentials/other = %d, want 404", w.Code)
		}
	}
	if ev := events.list(); len(ev) != 0 {
		t.Errorf("identity credentials reported as served: %+v", ev)
	}
	// Without the option there are none, and the role's are unaffected.
	g := newFixture(t, nil)
	if w := g.do(t, "GET", base+"/ec2/security-credentials/ec2-instance"); w.Code != 404 {
		t.Errorf("no IdentityCredentials: GET = %d, want 404", w.Code)
	}
}

const wantErrorDocument = `{
  "Code" : "AssumeRoleUnauthorizedAccess",
  "Message" : "EC2 cannot assume the role web-role. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.",
  "LastUpdated" : "2025-06-01T11:50:00Z"
}`

func TestServer_ErrorDocument(t *testing.T) {
	events := &recorder{}
	f := newFixture(t, func(o *imds.Options) {
		o.ExtendedCredentials = true
		o.OnCredentialsServed = events.record
	})
	a := testAttachment()
	a.Error = &imds.ErrorDocument{
		Code:    "AssumeRoleUnauthorizedAccess",
		Message: "EC2 cannot assume the role web-role. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.",
		Since:   t0.Add(-10 * time.Minute),
	}
	// Credentials are ignored while an error document stands in for them.
	a.Credentials = credential.Value{AccessKeyID: "ASIASHOULDNOTAPPEAR0", SecretAccessKey: "nope"}
	f.src.set(&a)
	for _, p := range []string{
		"/latest/meta-data/iam/security-credentials/" + testRole,
		"/latest/meta-data/iam/security-credentials-extended/" + testRole,
	} {
		w := f.do(t, "GET", p)
		if w.Code != 200 || w.Body.String() != wantErrorDocument {
			t.Errorf("GET %s = %d:\n%s\nwant 200:\n%s", p, w.Code, w.Body.String(), wantErrorDocument)
		}
		var doc map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc) != 3 {
			t.Errorf("error document is not a 3-key JSON object: %v %v", doc, err)
		}
	}
	// The role is still listed and iam/info still answers: EC2 has the
	// profile, it just cannot get the role's credentials.
	if w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"); w.Body.String() != testRole {
		t.Errorf("listing = %q, want %q", w.Body.String(), testRole)
	}
	if ev := events.list(); len(ev) != 0 {
		t.Errorf("error documents reported as served credentials: %+v", ev)
	}
}

func TestServer_CredentialsServedEvents(t *testing.T) {
	events := &recorder{}
	f := newFixture(t, func(o *imds.Options) {
		o.ExtendedCredentials = true
		o.OnCredentialsServed = events.record
	})
	tok := f.token(t, "60")
	doc := "/latest/meta-data/iam/security-credentials/" + testRole
	ext := "/latest/meta-data/iam/security-credentials-extended/" + testRole
	f.do(t, "GET", doc)
	f.clock.Advance(time.Second)
	f.do(t, "GET", ext+"/", hdrToken, tok)
	f.do(t, "HEAD", doc)                                          // no body: not served
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/") // a listing
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/other")
	f.do(t, "GET", "/latest/meta-data/iam/info")
	want := []imds.ServedEvent{
		{Role: testRole, AccessKeyID: testAccessKeyID, RemoteAddr: "192.0.2.1:1234", Version: "v1", Path: doc, At: t0},
		{Role: testRole, AccessKeyID: testAccessKeyID, RemoteAddr: "192.0.2.1:1234", Version: "v2", Path: ext, At: t0.Add(time.Second)},
	}
	if diff := cmp.Diff(want, events.list()); diff != "" {
		t.Errorf("served events (-want +got):\n%s", diff)
	}
}

func TestServer_Throttle(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.Throttle = imds.Throttle{RPS: 2, Burst: 3} })
	get := func(client string) int {
		t.Helper()
		r := httptestRequest("GET", "/latest/meta-data/instance-id", client)
		w := serveRequest(t, f.srv, r)
		if w.Code == 429 {
			checkErrorPageTitle(t, w.Body.String(), "429 - Too Many Requests")
		}
		return w.Code
	}
	a, b := "198.51.100.1:1000", "198.51.100.2:1000"
	for i := range 3 {
		if c := get(a); c != 200 {
			t.Fatalf("request %d within the burst = %d, want 200", i+1, c)
		}
	}
	if c := get(a); c != 429 {
		t.Errorf("request over the burst = %d, want 429", c)
	}
	if c := get("198.51.100.1:2000"); c != 429 {
		t.Errorf("same IP, other port = %d, want 429 (buckets are per IP)", c)
	}
	if c := get(b); c != 200 {
		t.Errorf("another client = %d, want 200", c)
	}
	f.clock.Advance(500 * time.Millisecond) // one token at 2/s
	if c := get(a); c != 200 {
		t.Errorf("after 0.5 s = %d, want 200", c)
	}
	if c := get(a); c != 429 {
		t.Errorf("second request after 0.5 s = %d, want 429", c)
	}
	// Token PUTs count too.
	w := serveRequest(t, f.srv, withHeader(httptestRequest("PUT", "/latest/api/token", a), hdrTTL, "60"))
	if w.Code != 429 {
		t.Errorf("token PUT over the limit = %d, want 429", w.Code)
	}
	if got, want := f.srv.Options().Throttle, (imds.Throttle{RPS: 2, Burst: 3}); got != want {
		t.Errorf("Options().Throttle = %+v, want %+v", got, want)
	}

	f.srv.SetThrottle(0, 10)
	if got := f.srv.Options().Throttle; got != (imds.Throttle{}) {
		t.Errorf("after SetThrottle(0, 10): Options().Throttle = %+v, want zero", got)
	}
	for range 20 {
		if c := get(a); c != 200 {
			t.Fatalf("throttle off: GET = %d, want 200", c)
		}
	}
	// A burst below 1 is the rate rounded up; NaN and +Inf turn it off.
	f.srv.SetThrottle(2.5, 0)
	if got := f.srv.Options().Throttle; got != (imds.Throttle{RPS: 2.5, Burst: 3}) {
		t.Errorf("SetThrottle(2.5, 0): Options().Throttle = %+v, want {2.5 3}", got)
	}
	for _, rps := range []float64{math.NaN(), math.Inf(1), -1} {
		f.srv.SetThrottle(rps, 1)
		if got := f.srv.Options().Throttle; got != (imds.Throttle{}) {
			t.Errorf("SetThrottle(%v, 1): Options().Throttle = %+v, want off", rps, got)
		}
	}
}

// TestServer_ThrottleManyClients: the table of clients stays bounded by
// forgetting idle clients (whose buckets have refilled), and a busy client
// keeps its empty bucket through that.
func TestServer_ThrottleManyClients(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.Throttle = imds.Throttle{RPS: 1, Burst: 1} })
	get := func(addr string) int {
		return serveRequest(t, f.srv, httptestRequest("GET", "/latest/meta-data/instance-id", addr)).Code
	}
	client := func(i int) string { return fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255) }
	for i := range 3000 {
		f.clock.Advance(time.Millisecond)
		if c := get(client(i)); c != 200 {
			t.Fatalf("client %d first request = %d, want 200", i, c)
		}
	}
	f.clock.Advance(time.Second) // the 3000 are idle now
	busy := "203.0.113.9:1"
	if c := get(busy); c != 200 {
		t.Fatalf("busy client = %d, want 200", c)
	}
	for i := 3000; i < 6000; i++ { // past maxThrottleClients
		if c := get(client(i)); c != 200 {
			t.Fatalf("client %d first request = %d, want 200", i, c)
		}
	}
	if c := get(busy); c != 429 {
		t.Errorf("busy client after 6000 others = %d, want 429 (its empty bucket kept)", c)
	}
}

func TestServer_SetHopLimit(t *testing.T) {
	f := newFixture(t, nil)
	if got := f.srv.Options().HopLimit; got != 1 {
		t.Errorf("default HopLimit = %d, want 1", got)
	}
	for _, n := range []int{0, -1, 65, 255} {
		if err := f.srv.SetHopLimit(n); err == nil {
			t.Errorf("SetHopLimit(%d) = nil, want an error", n)
		}
	}
	for _, n := range []int{1, 2, 64} {
		if err := f.srv.SetHopLimit(n); err != nil {
			t.Errorf("SetHopLimit(%d) = %v", n, err)
		}
		if got := f.srv.Options().HopLimit; got != n {
			t.Errorf("after SetHopLimit(%d): Options().HopLimit = %d", n, got)
		}
	}
}

func TestNew_ValidationFidelity(t *testing.T) {
	src := &source{} // no role attached
	cases := []struct {
		name string
		mut  func(*imds.Options)
		ok   bool
	}{
		{"hop limit 64", func(o *imds.Options) { o.HopLimit = 64 }, true},
		{"hop limit 65", func(o *imds.Options) { o.HopLimit = 65 }, false},
		{"hop limit negative", func(o *imds.Options) { o.HopLimit = -1 }, false},
		{"throttle NaN", func(o *imds.Options) { o.Throttle.RPS = math.NaN() }, false},
		{"throttle negative burst", func(o *imds.Options) { o.Throttle = imds.Throttle{RPS: 1, Burst: -1} }, false},
		{"tag key with slash", func(o *imds.Options) { o.Instance.Tags = map[string]string{"a/b": "x"} }, false},
		{"tag key with space", func(o *imds.Options) { o.Instance.Tags = map[string]string{"a b": "x"} }, false},
		{"tag key _index", func(o *imds.Options) { o.Instance.Tags = map[string]string{"_index": "x"} }, false},
		{"tag key ..", func(o *imds.Options) { o.Instance.Tags = map[string]string{"..": "x"} }, false},
		{"tag value too long", func(o *imds.Options) { o.Instance.Tags = map[string]string{"k": strings.Repeat("v", 257)} }, false},
		{"tag ok", func(o *imds.Options) { o.Instance.Tags = map[string]string{"aws:cloudformation:stack-name": "x"} }, true},
		{"bad MAC", func(o *imds.Options) { o.Instance.MAC = "0e:00:0a" }, false},
		{"upper-case MAC", func(o *imds.Options) { o.Instance.MAC = "0E:AA:0A:00:00:01" }, true},
		{"bad public IP", func(o *imds.Options) { o.Instance.PublicIPv4 = "2001:db8::1" }, false},
		{"identity key without certificate", func(o *imds.Options) { o.IdentityKey = testIdentityKey(t) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := imds.Options{Credentials: src, TokenKey: testKey}
			tc.mut(&o)
			_, err := imds.New(o)
			if (err == nil) != tc.ok {
				t.Errorf("New(%s) error = %v, want ok=%t", tc.name, err, tc.ok)
			}
		})
	}
	f := newFixture(t, func(o *imds.Options) { o.Instance.MAC = "0E:AA:0A:00:00:01" })
	if got := f.do(t, "GET", "/latest/meta-data/mac").Body.String(); got != "0e:aa:0a:00:00:01" {
		t.Errorf("mac = %q, want it in lower case", got)
	}
}

func TestInstance_AvailabilityZoneID(t *testing.T) {
	cases := []struct{ region, az, want string }{
		{"us-east-1", "us-east-1a", "use1-az1"},
		{"us-east-1", "us-east-1c", "use1-az3"},
		{"eu-central-1", "eu-central-1b", "euc1-az2"},
		{"ap-southeast-2", "ap-southeast-2a", "apse2-az1"},
		{"us-gov-west-1", "us-gov-west-1a", "usgw1-az1"},
		{"ap-northeast-1", "ap-northeast-1d", "apne1-az4"},
	}
	for _, tc := range cases {
		f := newFixture(t, func(o *imds.Options) { o.Instance = imds.Instance{Region: tc.region, AvailabilityZone: tc.az} })
		if got := f.do(t, "GET", "/latest/meta-data/placement/availability-zone-id").Body.String(); got != tc.want {
			t.Errorf("zone id of %s = %q, want %q", tc.az, got, tc.want)
		}
	}
	f := newFixture(t, func(o *imds.Options) { o.Instance.AvailabilityZoneID = "use1-az6" })
	if got := f.do(t, "GET", "/latest/meta-data/placement/availability-zone-id").Body.String(); got != "use1-az6" {
		t.Errorf("configured zone id = %q, want use1-az6", got)
	}
}

func httptestRequest(method, path, remoteAddr string) *http.Request {
	r, _ := http.NewRequest(method, "http://imds.test"+path, nil)
	r.RemoteAddr = remoteAddr
	r.RequestURI = path
	return r
}

// serveRequest is serve for a request the caller built.
func serveRequest(t testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get("Server"); got != "EC2ws" {
		t.Errorf("%s %s: Server = %q, want EC2ws", r.Method, r.URL.Path, got)
	}
	return w
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

func checkErrorPageTitle(t *testing.T, body, title string) {
	t.Helper()
	if !strings.Contains(body, "<title>"+title+"</title>") {
		t.Errorf("body = %q, want the XHTML page titled %q", body, title)
	}
}

// TestServer_ThrottleSpray: a throttled client that sprays requests from
// more source addresses than the table holds, all within one instant so
// that no bucket refills, does not get a fresh bucket for its own address;
// the sprayed addresses past the table share one overflow bucket.
func TestServer_ThrottleSpray(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.Throttle = imds.Throttle{RPS: 1, Burst: 1} })
	get := func(addr string) int {
		return serveRequest(t, f.srv, httptestRequest("GET", "/latest/meta-data/instance-id", addr)).Code
	}
	attacker := "203.0.113.9:1"
	if c := get(attacker); c != 200 {
		t.Fatalf("first request = %d, want 200", c)
	}
	if c := get(attacker); c != 429 {
		t.Fatalf("second request = %d, want 429", c)
	}
	allowed := 0
	const spray = 2 * 4096
	for i := range spray {
		if get(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)) == 200 {
			allowed++
		}
	}
	if c := get(attacker); c != 429 {
		t.Errorf("throttled client after spraying %d addresses = %d, want 429 (its empty bucket kept)", spray, c)
	}
	// 4,095 sprayed addresses fit beside the attacker; the rest share one
	// bucket of one token.
	if want := 4096 - 1 + 1; allowed != want {
		t.Errorf("sprayed addresses allowed = %d, want %d", allowed, want)
	}
	f.clock.Advance(time.Second) // every bucket refills: the table can be pruned again
	if c := get("198.51.100.7:1"); c != 200 {
		t.Errorf("new client once the others are idle = %d, want 200", c)
	}
}
