package imds_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/imds"
)

const (
	hdrTTL   = "X-aws-ec2-metadata-token-ttl-seconds"
	hdrToken = "X-aws-ec2-metadata-token"
)

// The error page real IMDS sends with 401 (343 bytes in a capture).
const page401 = `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>401 - Unauthorized</title>
 </head>
 <body>
  <h1>401 - Unauthorized</h1>
 </body>
</html>
`

func TestServer_TokenTTL(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		code    int
		echo    string
	}{
		{"missing", nil, 400, ""},
		{"empty", []string{hdrTTL, ""}, 400, ""},
		{"zero", []string{hdrTTL, "0"}, 400, ""},
		{"negative", []string{hdrTTL, "-5"}, 400, ""},
		{"above max", []string{hdrTTL, "21601"}, 400, ""},
		{"far above max", []string{hdrTTL, "30000"}, 400, ""},
		{"not a number", []string{hdrTTL, "abc"}, 400, ""},
		{"plus sign", []string{hdrTTL, "+5"}, 400, ""},
		{"fraction", []string{hdrTTL, "1.5"}, 400, ""},
		{"overflow", []string{hdrTTL, "99999999999999999999"}, 400, ""},
		{"min", []string{hdrTTL, "1"}, 200, "1"},
		{"go sdk", []string{hdrTTL, "300"}, 200, "300"},
		{"max", []string{hdrTTL, "21600"}, 200, "21600"},
		{"lower-case header name", []string{"x-aws-ec2-metadata-token-ttl-seconds", "60"}, 200, "60"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			w := f.do(t, http.MethodPut, "/latest/api/token", tc.headers...)
			if w.Code != tc.code {
				t.Fatalf("PUT token %q = %d, want %d", tc.headers, w.Code, tc.code)
			}
			if tc.code != 200 {
				if got := w.Header().Get("Content-Type"); got != "text/html" {
					t.Errorf("Content-Type = %q, want text/html", got)
				}
				if !strings.Contains(w.Body.String(), "<title>400 - Bad Request</title>") {
					t.Errorf("body = %q, want the 400 page", w.Body.String())
				}
				return
			}
			if got := w.Header().Get(hdrTTL); got != tc.echo {
				t.Errorf("echoed TTL = %q, want %q", got, tc.echo)
			}
			if got := w.Header().Get("Content-Type"); got != "text/plain" {
				t.Errorf("Content-Type = %q, want text/plain", got)
			}
			tok := w.Body.String()
			if tok == "" || strings.ContainsAny(tok, "\r\n \t") {
				t.Errorf("token = %q, want a non-empty token without whitespace", tok)
			}
			if got, want := w.Header().Get("Content-Length"), fmt.Sprint(len(tok)); got != want {
				t.Errorf("Content-Length = %q, want %q", got, want)
			}
			if w := f.do(t, "GET", "/latest/meta-data/instance-id", hdrToken, tok); w.Code != 200 {
				t.Errorf("GET with the new token = %d, want 200", w.Code)
			}
		})
	}
}

func TestServer_TokenExpiry(t *testing.T) {
	cases := []struct {
		ttl     string
		advance time.Duration
		code    int
	}{
		{"1", 0, 200},
		{"1", 999 * time.Millisecond, 200},
		{"1", time.Second, 401},
		{"1", time.Hour, 401},
		{"21600", 21600*time.Second - time.Millisecond, 200},
		{"21600", 21600 * time.Second, 401},
	}
	for _, mode := range []imds.Mode{imds.ModeOptional, imds.ModeRequired} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/ttl=%s/after=%v", mode, tc.ttl, tc.advance), func(t *testing.T) {
				f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = mode })
				tok := f.token(t, tc.ttl)
				f.clock.Advance(tc.advance)
				w := f.do(t, "GET", "/latest/meta-data/instance-id", hdrToken, tok)
				if w.Code != tc.code {
					t.Errorf("GET %v after a %ss token = %d, want %d", tc.advance, tc.ttl, w.Code, tc.code)
				}
			})
		}
	}
}

func TestServer_TokenEndpoint(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		path    string
		headers []string
		code    int
		allow   string
		ctype   string
	}{
		{"GET", "GET", "/latest/api/token", nil, 405, "OPTIONS, PUT", "text/plain"},
		{"POST", "POST", "/latest/api/token", []string{hdrTTL, "60"}, 405, "OPTIONS, PUT", "text/plain"},
		{"DELETE", "DELETE", "/latest/api/token", nil, 405, "OPTIONS, PUT", "text/plain"},
		{"OPTIONS", "OPTIONS", "/latest/api/token", nil, 200, "OPTIONS, PUT", "text/plain"},
		{"trailing slash", "PUT", "/latest/api/token/", []string{hdrTTL, "60"}, 200, "", "text/plain"},
		{"X-Forwarded-For", "PUT", "/latest/api/token", []string{hdrTTL, "60", "X-Forwarded-For", "1.2.3.4"}, 403, "", "text/plain"},
		{"X-Forwarded-For before TTL check", "PUT", "/latest/api/token", []string{"X-Forwarded-For", "1.2.3.4"}, 403, "", "text/plain"},
		{"versioned path", "PUT", "/2021-03-23/api/token", []string{hdrTTL, "60"}, 403, "", "text/plain"},
		{"versioned path GET", "GET", "/2021-03-23/api/token", nil, 404, "", "text/html"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			w := f.do(t, tc.method, tc.path, tc.headers...)
			if w.Code != tc.code {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, w.Code, tc.code)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if tc.code != 200 && tc.ctype == "text/plain" && w.Body.Len() != 0 {
				t.Errorf("body = %q, want empty", w.Body.String())
			}
		})
	}
}

// tokens of every kind a client might send.
type tokenKind string

const (
	tokNone    tokenKind = "none"
	tokValid   tokenKind = "valid"
	tokGarbage tokenKind = "garbage"
	tokEmpty   tokenKind = "empty"
	tokExpired tokenKind = "expired"
	tokForged  tokenKind = "other key"
	tokOtherID tokenKind = "same key, other instance"
	tokTagFlip tokenKind = "tampered tag"
	tokPayload tokenKind = "tampered payload"
)

var allTokenKinds = []tokenKind{tokNone, tokValid, tokGarbage, tokEmpty, tokExpired, tokForged, tokOtherID, tokTagFlip, tokPayload}

// tokens returns a token of each kind for f. It moves f's clock forward by
// two seconds to expire a 1-second token.
func tokens(t *testing.T, f *fixture) map[tokenKind]string {
	t.Helper()
	expired := f.token(t, "1")
	f.clock.Advance(2 * time.Second)
	valid := f.token(t, "21600")

	other, err := imds.New(imds.Options{Credentials: f.src, TokenKey: bytes.Repeat([]byte{'x'}, 32), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := serve(t, other, "PUT", "/latest/api/token", hdrTTL, "21600")
	forged := w.Body.String()
	// Another instance of the same server (several instances, one key):
	// its tokens are its own, as EC2's are.
	sibling, err := imds.New(imds.Options{Credentials: f.src, TokenKey: testKey, Now: f.clock.Now, Instance: imds.Instance{ID: "i-0fedcba9876543210"}})
	if err != nil {
		t.Fatal(err)
	}
	otherID := serve(t, sibling, "PUT", "/latest/api/token", hdrTTL, "21600").Body.String()

	dot := strings.IndexByte(valid, '.')
	return map[tokenKind]string{
		tokValid:   valid,
		tokGarbage: "nope",
		tokEmpty:   "",
		tokExpired: expired,
		tokForged:  forged,
		tokOtherID: otherID,
		tokTagFlip: tamper(valid, dot+5),
		tokPayload: tamper(valid, dot-5),
	}
}

func TestServer_Modes(t *testing.T) {
	type want struct{ get, put int }
	expect := func(mode imds.Mode, disabled bool, k tokenKind) want {
		switch {
		case disabled:
			return want{403, 403}
		case k == tokValid, k == tokNone && mode == imds.ModeOptional:
			return want{200, 200}
		default:
			return want{401, 200}
		}
	}
	for _, mode := range []imds.Mode{imds.ModeOptional, imds.ModeRequired} {
		for _, disabled := range []bool{false, true} {
			for _, k := range allTokenKinds {
				name := fmt.Sprintf("%s/disabled=%t/token=%s", mode, disabled, k)
				t.Run(name, func(t *testing.T) {
					f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = mode })
					toks := tokens(t, f)
					f.srv.SetEndpointDisabled(disabled)
					var h []string
					if k != tokNone {
						h = []string{hdrToken, toks[k]}
					}
					want := expect(mode, disabled, k)
					for _, path := range []string{
						"/latest/meta-data/instance-id",
						"/latest/meta-data/iam/security-credentials/",
						"/latest/meta-data/iam/security-credentials/" + testRole,
					} {
						w := f.do(t, "GET", path, h...)
						if w.Code != want.get {
							t.Errorf("GET %s = %d, want %d", path, w.Code, want.get)
						}
						checkErrorPage(t, w)
					}
					w := f.do(t, "PUT", "/latest/api/token", append([]string{hdrTTL, "60"}, h...)...)
					if w.Code != want.put {
						t.Errorf("PUT /latest/api/token = %d, want %d", w.Code, want.put)
					}
					checkErrorPage(t, w)
					if want.get == 401 {
						w := f.do(t, "GET", "/latest/meta-data/instance-id", h...)
						if got := w.Body.String(); got != page401 {
							t.Errorf("401 body = %q, want %q", got, page401)
						}
					}
				})
			}
		}
	}
}

// checkErrorPage checks that 401, 403 and 404 carry the XHTML page.
func checkErrorPage(t *testing.T, w interface {
	Header() http.Header
	Result() *http.Response
}) {
	t.Helper()
	r := w.Result()
	switch r.StatusCode {
	case 401, 403, 404:
	default:
		return
	}
	if got := r.Header.Get("Content-Type"); got != "text/html" {
		t.Errorf("%d Content-Type = %q, want text/html", r.StatusCode, got)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	title := fmt.Sprintf("<title>%d - %s</title>", r.StatusCode, http.StatusText(r.StatusCode))
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="iso-8859-1"?>`) || !strings.Contains(b.String(), title) {
		t.Errorf("%d body = %q, want the XHTML page with %s", r.StatusCode, b.String(), title)
	}
}

func TestServer_ErrorPageSize(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
	w := f.do(t, "GET", "/latest/meta-data/")
	if w.Code != 401 || w.Body.String() != page401 || len(page401) != 343 {
		t.Errorf("required, no token: %d %q (%d bytes), want 401 %q (343 bytes)", w.Code, w.Body.String(), w.Body.Len(), page401)
	}
	if got := w.Header().Get("Content-Length"); got != "343" {
		t.Errorf("Content-Length = %q, want 343", got)
	}
}

const wantCredentials = `{
  "Code" : "Success",
  "LastUpdated" : "2025-06-01T11:50:00Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAEXAMPLE000000001",
  "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token" : "IQoJb3JpZ2luX2VjEXAMPLE+session/token==",
  "Expiration" : "2025-06-01T18:00:00Z"
}`

const wantIAMInfo = `{
  "Code" : "Success",
  "LastUpdated" : "2025-06-01T11:50:00Z",
  "InstanceProfileArn" : "arn:aws:iam::123456789012:instance-profile/web",
  "InstanceProfileId" : "AIPAEXAMPLE000000001"
}`

const wantIdentityDocument = `{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-east-1a",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-0123456789abcdef0",
  "instanceId" : "i-0123456789abcdef0",
  "instanceType" : "t3.micro",
  "kernelId" : null,
  "pendingTime" : "2025-06-01T12:00:00Z",
  "privateIp" : "10.0.0.1",
  "ramdiskId" : null,
  "region" : "us-east-1",
  "version" : "2017-09-30"
}`

// wantMetaData is the meta-data listing of the default instance with a
// role attached: the categories of the EC2 User Guide's example listing
// ("Get the top-level metadata items") a Nitro instance always has.
const wantMetaData = "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\niam/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nmetrics/\nnetwork/\nplacement/\nprofile\nreservation-id\nsecurity-groups\nservices/\nsystem"

// pathCases are GETs with the test attachment and default instance.
// body "" with code 404 means the 404 page.
var pathCases = []struct {
	path string
	code int
	body string
}{
	// Listings: directories end in "/", no newline after the last entry,
	// with or without the directory's own trailing slash.
	{"/latest/", 200, "dynamic\nmeta-data"},
	{"/latest", 200, "dynamic\nmeta-data"},
	{"/latest/meta-data/", 200, wantMetaData},
	{"/latest/meta-data", 200, wantMetaData},
	{"/latest/meta-data/placement/", 200, "availability-zone\navailability-zone-id\nregion"},
	{"/latest/meta-data/placement", 200, "availability-zone\navailability-zone-id\nregion"},
	{"/latest/meta-data/iam/", 200, "info\nsecurity-credentials/"},
	{"/latest/meta-data/iam", 200, "info\nsecurity-credentials/"},
	{"/latest/meta-data/iam/security-credentials/", 200, testRole},
	{"/latest/meta-data/iam/security-credentials", 200, testRole},
	{"/latest/dynamic/", 200, "fws/\ninstance-identity/"},
	{"/latest/dynamic", 200, "fws/\ninstance-identity/"},
	{"/latest/dynamic/instance-identity/", 200, "document"},

	// Leaves, and leaves asked with a trailing slash (botocore).
	{"/latest/meta-data/instance-id", 200, "i-0123456789abcdef0"},
	{"/latest/meta-data/instance-id/", 200, "i-0123456789abcdef0"},
	{"/latest/meta-data/instance-type", 200, "t3.micro"},
	{"/latest/meta-data/ami-id", 200, "ami-0123456789abcdef0"},
	{"/latest/meta-data/hostname", 200, "ip-10-0-0-1.ec2.internal"},
	{"/latest/meta-data/local-hostname", 200, "ip-10-0-0-1.ec2.internal"},
	{"/latest/meta-data/local-ipv4", 200, "10.0.0.1"},
	{"/latest/meta-data/placement/availability-zone", 200, "us-east-1a"},
	{"/latest/meta-data/placement/availability-zone/", 200, "us-east-1a"},
	{"/latest/meta-data/placement/region", 200, "us-east-1"},
	{"/latest/meta-data/placement/region/", 200, "us-east-1"},
	{"/latest/meta-data/placement/availability-zone-id", 200, "use1-az1"},
	{"/latest/meta-data/mac", 200, "0e:00:0a:00:00:01"},
	{"/latest/meta-data/network/", 200, "interfaces/"},
	{"/latest/meta-data/network/interfaces/", 200, "macs/"},
	{"/latest/meta-data/network/interfaces/macs/", 200, "0e:00:0a:00:00:01/"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/", 200, "device-number\ninterface-id\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\nsecurity-group-ids\nsecurity-groups\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id\nvpc-ipv4-cidr-block\nvpc-ipv4-cidr-blocks"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/device-number", 200, "0"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/interface-id", 200, "eni-0123456789abcdef0"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/local-hostname", 200, "ip-10-0-0-1.ec2.internal"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/local-ipv4s", 200, "10.0.0.1"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/mac", 200, "0e:00:0a:00:00:01"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/owner-id", 200, "123456789012"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/subnet-id", 200, "subnet-0123456789abcdef0"},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/vpc-id", 200, "vpc-0123456789abcdef0"},
	{"/latest/meta-data/iam/info", 200, wantIAMInfo},
	{"/latest/meta-data/iam/info/", 200, wantIAMInfo},

	// Repeated slashes are one (AWS's ec2-metadata asks for
	// latest//meta-data/reservation-id), and every dated version serves
	// latest's tree.
	{"/latest//meta-data/reservation-id", 200, "r-0123456789abcdef0"},
	{"/latest/meta-data//instance-id", 200, "i-0123456789abcdef0"},
	{"/latest/meta-data/instance-id//", 200, "i-0123456789abcdef0"},
	{"/2021-03-23/meta-data/instance-id", 200, "i-0123456789abcdef0"},
	{"/1.0/meta-data/instance-id", 200, "i-0123456789abcdef0"},
	{"/2022-09-24/", 200, "dynamic\nmeta-data"},
	{"/2016-09-02/meta-data/iam/security-credentials/" + testRole, 200, wantCredentials},
	{"/latest/meta-data/iam/security-credentials/" + testRole, 200, wantCredentials},
	{"/latest/meta-data/iam/security-credentials/" + testRole + "/", 200, wantCredentials},
	{"/latest/dynamic/instance-identity/document", 200, wantIdentityDocument},
	{"/latest/dynamic/instance-identity/document/", 200, wantIdentityDocument},

	// Not found.
	{"/latest/meta-data/does-not-exist", 404, ""},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:02/", 404, ""},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:02/mac", 404, ""},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/public-ipv4s", 404, ""},
	{"/latest/meta-data/network/interfaces/macs/0e:00:0a:00:00:01/nope", 404, ""},
	{"/latest/meta-data/public-ipv4", 404, ""},
	{"/latest/meta-data/public-hostname", 404, ""},
	{"/latest/meta-data/tags/", 404, ""},
	{"/latest/meta-data/tags/instance/", 404, ""},
	{"/latest/meta-data/identity-credentials/", 404, ""},
	{"/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance", 404, ""},
	{"/latest/meta-data/iam/security-credentials/other-role", 404, ""},
	{"/latest/meta-data/iam/security-credentials/WEB-ROLE", 404, ""},
	{"/latest/meta-data/iam/security-credentials/" + testRole + "/extra", 404, ""},
	{"/latest/meta-data/iam/security-credentials-extended/", 404, ""},
	{"/latest/meta-data/iam/security-credentials-extended", 404, ""},
	{"/latest/meta-data/iam/security-credentials-extended/" + testRole, 404, ""},
	{"/latest/meta-data/../meta-data/instance-id", 404, ""},
	{"/latest/user-data", 404, ""},
	{"/2099-01-01/meta-data/instance-id", 404, ""},
	{"/LATEST/meta-data/instance-id", 404, ""},
	{"/latest/dynamic/instance-identity/pkcs7", 404, ""},
}

func TestServer_Paths(t *testing.T) {
	for _, withToken := range []bool{false, true} {
		f := newFixture(t, nil)
		var h []string
		if withToken {
			h = []string{hdrToken, f.token(t, "21600")}
		}
		for _, tc := range pathCases {
			t.Run(fmt.Sprintf("token=%t%s", withToken, tc.path), func(t *testing.T) {
				w := f.do(t, "GET", tc.path, h...)
				if w.Code != tc.code {
					t.Fatalf("GET %s = %d, want %d", tc.path, w.Code, tc.code)
				}
				if tc.code != 200 {
					checkErrorPage(t, w)
					return
				}
				if got := w.Body.String(); got != tc.body {
					t.Errorf("GET %s body = %q, want %q", tc.path, got, tc.body)
				}
				if got := w.Header().Get("Content-Type"); got != "text/plain" {
					t.Errorf("GET %s Content-Type = %q, want text/plain", tc.path, got)
				}
				if got, want := w.Header().Get("Content-Length"), fmt.Sprint(len(tc.body)); got != want {
					t.Errorf("GET %s Content-Length = %q, want %q", tc.path, got, want)
				}
			})
		}
	}
}

func TestServer_CredentialsDocument(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole)
	body := w.Body.String()
	if body != wantCredentials {
		t.Fatalf("credentials document:\n%s\nwant:\n%s", body, wantCredentials)
	}
	// Key order, on the raw bytes.
	keys := []string{`"Code"`, `"LastUpdated"`, `"Type"`, `"AccessKeyId"`, `"SecretAccessKey"`, `"Token"`, `"Expiration"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(body, k)
		if i <= last {
			t.Errorf("key %s at %d, want after %d (order %v)", k, i, last, keys)
		}
		last = i
	}
	var doc map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("credentials document is not JSON: %v", err)
	}
	if len(doc) != len(keys) {
		t.Errorf("credentials document has %d keys, want %d", len(doc), len(keys))
	}

	// Values that need escaping still make valid JSON, and times are UTC.
	a := testAttachment()
	a.Credentials.SessionToken = "quote\" backslash\\ newline\n tab\t unicode é <>&"
	a.Credentials.Expires = time.Date(2030, 1, 2, 3, 4, 5, 999_000_000, time.FixedZone("X", 5*3600))
	f.src.set(&a)
	w = f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole)
	var got struct{ Token, Expiration string }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("document with escapes is not JSON: %v\n%s", err, w.Body.String())
	}
	if got.Token != a.Credentials.SessionToken {
		t.Errorf("Token differs from the source's (%d bytes, want %d)", len(got.Token), len(a.Credentials.SessionToken))
	}
	if want := "2030-01-01T22:04:05Z"; got.Expiration != want {
		t.Errorf("Expiration = %q, want %q", got.Expiration, want)
	}
}

func TestServer_CredentialsFollowSource(t *testing.T) {
	f := newFixture(t, nil)
	a := testAttachment()
	a.Role = "rotated-role"
	a.Credentials.AccessKeyID = "ASIAEXAMPLE000000002"
	f.src.set(&a)
	if w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"); w.Body.String() != "rotated-role" {
		t.Errorf("listing = %q, want %q", w.Body.String(), "rotated-role")
	}
	if w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole); w.Code != 404 {
		t.Errorf("old role = %d, want 404", w.Code)
	}
	w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/rotated-role")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"AccessKeyId" : "ASIAEXAMPLE000000002"`) {
		t.Errorf("new role = %d %q, want 200 with the new key", w.Code, w.Body.String())
	}
}

func TestServer_NoRole(t *testing.T) {
	for name, att := range map[string]*imds.Attachment{"not attached": nil, "empty role": {ProfileARN: "arn:aws:iam::123456789012:instance-profile/x"}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.src.set(att)
			tok := f.token(t, "60")
			for _, h := range [][]string{nil, {hdrToken, tok}} {
				w := f.do(t, "GET", "/latest/meta-data/", h...)
				want := "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/\nhostname\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nmetrics/\nnetwork/\nplacement/\nprofile\nreservation-id\nsecurity-groups\nservices/\nsystem"
				if w.Code != 200 || w.Body.String() != want {
					t.Errorf("GET /latest/meta-data/ = %d %q, want 200 %q", w.Code, w.Body.String(), want)
				}
				for _, p := range []string{
					"/latest/meta-data/iam",
					"/latest/meta-data/iam/",
					"/latest/meta-data/iam/info",
					"/latest/meta-data/iam/security-credentials",
					"/latest/meta-data/iam/security-credentials/",
					"/latest/meta-data/iam/security-credentials/" + testRole,
					"/latest/meta-data/iam/security-credentials/anything",
					"/latest/meta-data/iam/security-credentials-extended/",
				} {
					w := f.do(t, "GET", p, h...)
					if w.Code != 404 {
						t.Errorf("GET %s = %d, want 404", p, w.Code)
					}
					checkErrorPage(t, w)
				}
			}
		})
	}
}

func TestServer_MethodNotAllowed(t *testing.T) {
	paths := []string{
		"/latest/meta-data/",
		"/latest/meta-data/instance-id",
		"/latest/meta-data/iam/security-credentials/",
		"/latest/meta-data/iam/security-credentials/" + testRole,
		"/latest/dynamic/instance-identity/document",
	}
	for _, mode := range []imds.Mode{imds.ModeOptional, imds.ModeRequired} {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"} {
			for _, p := range paths {
				t.Run(fmt.Sprintf("%s/%s%s", mode, method, p), func(t *testing.T) {
					f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = mode })
					w := f.do(t, method, p, hdrTTL, "60")
					if w.Code != 405 {
						t.Fatalf("%s %s = %d, want 405", method, p, w.Code)
					}
					if got := w.Header().Get("Allow"); got != "GET, HEAD" {
						t.Errorf("Allow = %q, want %q", got, "GET, HEAD")
					}
				})
			}
		}
	}
	// Unknown paths stay 404 whatever the method.
	f := newFixture(t, nil)
	if w := f.do(t, "POST", "/latest/meta-data/nope"); w.Code != 404 {
		t.Errorf("POST unknown path = %d, want 404", w.Code)
	}
}

func TestServer_Head(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
	tok := f.token(t, "60")
	for _, p := range []string{
		"/latest/meta-data/instance-id",
		"/latest/meta-data/",
		"/latest/meta-data/iam/security-credentials/" + testRole,
		"/latest/meta-data/nope",
	} {
		get := f.do(t, "GET", p, hdrToken, tok)
		head := f.do(t, "HEAD", p, hdrToken, tok)
		if head.Code != get.Code {
			t.Errorf("HEAD %s = %d, want %d as GET", p, head.Code, get.Code)
		}
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s body = %q, want empty", p, head.Body.String())
		}
		if diff := cmp.Diff(get.Header(), head.Header()); diff != "" {
			t.Errorf("HEAD %s headers differ from GET (-GET +HEAD):\n%s", p, diff)
		}
	}
	if w := f.do(t, "HEAD", "/latest/meta-data/instance-id"); w.Code != 401 {
		t.Errorf("HEAD without token in required mode = %d, want 401", w.Code)
	}
}

func TestServer_RuntimeSwitches(t *testing.T) {
	f := newFixture(t, nil)
	get := func() int { return f.do(t, "GET", "/latest/meta-data/instance-id").Code }
	steps := []struct {
		do   func() error
		mode imds.Mode
		off  bool
		code int
	}{
		{func() error { return nil }, imds.ModeOptional, false, 200},
		{func() error { return f.srv.SetHTTPTokens(imds.ModeRequired) }, imds.ModeRequired, false, 401},
		{func() error { f.srv.SetEndpointDisabled(true); return nil }, imds.ModeRequired, true, 403},
		{func() error { return f.srv.SetHTTPTokens("") }, imds.ModeOptional, true, 403},
		{func() error { f.srv.SetEndpointDisabled(false); return nil }, imds.ModeOptional, false, 200},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		o := f.srv.Options()
		if o.HTTPTokens != s.mode || o.EndpointDisabled != s.off {
			t.Errorf("step %d: Options() = {%q, %t}, want {%q, %t}", i, o.HTTPTokens, o.EndpointDisabled, s.mode, s.off)
		}
		if got := get(); got != s.code {
			t.Errorf("step %d: GET = %d, want %d", i, got, s.code)
		}
	}
	for _, bad := range []imds.Mode{"Required", "disabled", "v2"} {
		if err := f.srv.SetHTTPTokens(bad); err == nil {
			t.Errorf("SetHTTPTokens(%q) = nil, want an error", bad)
		}
	}
	if o := f.srv.Options(); o.HTTPTokens != imds.ModeOptional {
		t.Errorf("after bad SetHTTPTokens, mode = %q, want unchanged %q", o.HTTPTokens, imds.ModeOptional)
	}
}

// TestServer_Concurrent flips the switches and the attachment while
// requests run; it is for -race.
func TestServer_Concurrent(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.token(t, "21600")
	stop := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = f.srv.SetHTTPTokens([]imds.Mode{imds.ModeOptional, imds.ModeRequired}[i%2])
			f.srv.SetEndpointDisabled(i%3 == 0)
			a := testAttachment()
			f.src.set(&a)
			_ = f.srv.Options()
		}
	})
	var requesters sync.WaitGroup
	for range 8 {
		requesters.Go(func() {
			for i := range 300 {
				var h []string
				if i%2 == 0 {
					h = []string{hdrToken, tok}
				}
				w := serve(t, f.srv, "GET", "/latest/meta-data/iam/security-credentials/"+testRole, h...)
				switch w.Code {
				case 200, 401, 403:
				default:
					t.Errorf("GET = %d, want 200, 401 or 403", w.Code)
				}
			}
		})
	}
	requesters.Wait()
	close(stop)
	flipper.Wait()
}

func TestNew_Validation(t *testing.T) {
	src := &source{} // no role attached
	cases := []struct {
		name string
		opts imds.Options
		ok   bool
	}{
		{"minimal", imds.Options{Credentials: src, TokenKey: testKey}, true},
		{"no credentials", imds.Options{TokenKey: testKey}, false},
		{"no key", imds.Options{Credentials: src}, false},
		{"short key", imds.Options{Credentials: src, TokenKey: testKey[:31]}, false},
		{"required", imds.Options{Credentials: src, TokenKey: testKey, HTTPTokens: imds.ModeRequired}, true},
		{"bad mode", imds.Options{Credentials: src, TokenKey: testKey, HTTPTokens: "REQUIRED"}, false},
		{"bad ip", imds.Options{Credentials: src, TokenKey: testKey, Instance: imds.Instance{LocalIPv4: "fd00::1"}}, false},
		{"bad az", imds.Options{Credentials: src, TokenKey: testKey, Instance: imds.Instance{AvailabilityZone: "a"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imds.New(tc.opts)
			if (err == nil) != tc.ok {
				t.Errorf("New(%s) error = %v, want ok=%t", tc.name, err, tc.ok)
			}
		})
	}
}

func TestServer_Options(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.EndpointDisabled = true })
	o := f.srv.Options()
	if o.TokenKey != nil {
		t.Error("Options().TokenKey is returned, want nil")
	}
	if o.HTTPTokens != imds.ModeOptional || !o.EndpointDisabled {
		t.Errorf("Options() modes = {%q, %t}, want {optional, true}", o.HTTPTokens, o.EndpointDisabled)
	}
	if o.Logger == nil || o.Rand == nil || o.Now == nil {
		t.Error("Options() lacks its defaults")
	}
	want := imds.Instance{
		ID: "i-0123456789abcdef0", Type: "t3.micro", AMIID: "ami-0123456789abcdef0",
		Hostname: "ip-10-0-0-1.ec2.internal", LocalIPv4: "10.0.0.1", Region: "us-east-1",
		AvailabilityZone: "us-east-1a", AccountID: "123456789012", PendingTime: t0, Architecture: "x86_64",
		AvailabilityZoneID: "use1-az1", MAC: "0e:00:0a:00:00:01", InterfaceID: "eni-0123456789abcdef0",
		SubnetID: "subnet-0123456789abcdef0", VPCID: "vpc-0123456789abcdef0",
		SubnetCIDR: "10.0.0.0/24", VPCCIDR: "10.0.0.0/16",
		SecurityGroups: []string{"default"}, SecurityGroupIDs: []string{"sg-0123456789abcdef0"},
		AMIManifestPath: "(unknown)", ReservationID: "r-0123456789abcdef0", LifeCycle: "on-demand",
		RootDevice: "/dev/xvda",
	}
	if diff := cmp.Diff(want, o.Instance); diff != "" {
		t.Errorf("default Instance (-want +got):\n%s", diff)
	}
}

func TestInstance_Defaults(t *testing.T) {
	cases := []struct {
		name                   string
		in                     imds.Instance
		region, az, host, ipv4 string
	}{
		{"zero", imds.Instance{}, "us-east-1", "us-east-1a", "ip-10-0-0-1.ec2.internal", "10.0.0.1"},
		{"region only", imds.Instance{Region: "eu-west-1"}, "eu-west-1", "eu-west-1a", "ip-10-0-0-1.eu-west-1.compute.internal", "10.0.0.1"},
		{"az only", imds.Instance{AvailabilityZone: "ap-southeast-2c"}, "ap-southeast-2", "ap-southeast-2c", "ip-10-0-0-1.ap-southeast-2.compute.internal", "10.0.0.1"},
		{"ip only", imds.Instance{LocalIPv4: "172.31.5.9"}, "us-east-1", "us-east-1a", "ip-172-31-5-9.ec2.internal", "172.31.5.9"},
		{"hostname kept", imds.Instance{Hostname: "box.example"}, "us-east-1", "us-east-1a", "box.example", "10.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *imds.Options) { o.Instance = tc.in })
			for p, want := range map[string]string{
				"/latest/meta-data/placement/region":            tc.region,
				"/latest/meta-data/placement/availability-zone": tc.az,
				"/latest/meta-data/hostname":                    tc.host,
				"/latest/meta-data/local-hostname":              tc.host,
				"/latest/meta-data/local-ipv4":                  tc.ipv4,
			} {
				if got := f.do(t, "GET", p).Body.String(); got != want {
					t.Errorf("GET %s = %q, want %q", p, got, want)
				}
			}
			var doc map[string]any
			if err := json.Unmarshal(f.do(t, "GET", "/latest/dynamic/instance-identity/document").Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["region"] != tc.region || doc["availabilityZone"] != tc.az || doc["privateIp"] != tc.ipv4 {
				t.Errorf("identity document region/az/ip = %v/%v/%v, want %s/%s/%s", doc["region"], doc["availabilityZone"], doc["privateIp"], tc.region, tc.az, tc.ipv4)
			}
		})
	}
}

func TestServer_IdentityDocumentKeys(t *testing.T) {
	f := newFixture(t, nil)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(f.do(t, "GET", "/latest/dynamic/instance-identity/document").Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{"accountId", "architecture", "availabilityZone", "billingProducts", "devpayProductCodes",
		"marketplaceProductCodes", "imageId", "instanceId", "instanceType", "kernelId", "pendingTime",
		"privateIp", "ramdiskId", "region", "version"}
	if len(doc) != len(want) {
		t.Errorf("identity document has %d keys, want %d", len(doc), len(want))
	}
	for _, k := range want {
		if _, ok := doc[k]; !ok {
			t.Errorf("identity document lacks %q", k)
		}
	}
	for _, k := range []string{"billingProducts", "devpayProductCodes", "marketplaceProductCodes", "kernelId", "ramdiskId"} {
		if string(doc[k]) != "null" {
			t.Errorf("%s = %s, want null", k, doc[k])
		}
	}
}

// TestServer_SharedRoutesTokensBound: servers sharing a route table and a
// token key (the instances of one process) share the MAC states, and each
// still refuses the others' tokens, as EC2's instances do; a server with
// another key on the same table changes neither.
func TestServer_SharedRoutesTokensBound(t *testing.T) {
	clk := newClock(t0)
	routes := imds.NewRoutes()
	src := &source{}
	a := testAttachment()
	src.set(&a)
	mk := func(id string, key []byte) *imds.Server {
		s, err := imds.New(imds.Options{Credentials: src, TokenKey: key, Now: clk.Now, Routes: routes,
			HTTPTokens: imds.ModeRequired, Instance: imds.Instance{ID: id}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	servers := []*imds.Server{
		mk("i-0000000000000000a", testKey),
		mk("i-0000000000000000b", testKey),
		mk("i-0000000000000000c", bytes.Repeat([]byte{'x'}, 32)),
		mk("i-0000000000000000d", testKey), // after another key: still the first's
	}
	toks := make([]string, len(servers))
	for i, s := range servers {
		w := serve(t, s, "PUT", "/latest/api/token", hdrTTL, "21600")
		if w.Code != 200 {
			t.Fatalf("server %d: token PUT = %d", i, w.Code)
		}
		toks[i] = w.Body.String()
	}
	for i, s := range servers {
		for j, tok := range toks {
			want := 401
			if i == j {
				want = 200
			}
			if got := serve(t, s, "GET", "/latest/meta-data/instance-id", hdrToken, tok).Code; got != want {
				t.Errorf("server %d, token of server %d: GET = %d, want %d", i, j, got, want)
			}
		}
	}
}

// TestServer_SharedRoutesOwnMetadata: servers made one after the other on
// one route table share what their metadata has in common, and each still
// serves its own: its ID, tags, user data and identity document, and
// Options returns the Instance a server made alone would.
func TestServer_SharedRoutesOwnMetadata(t *testing.T) {
	clk := newClock(t0)
	routes := imds.NewRoutes()
	src := &source{}
	a := testAttachment()
	src.set(&a)
	instances := []imds.Instance{
		{ID: "i-0000000000000000a"},
		{ID: "i-0000000000000000b", Tags: map[string]string{"Name": "b"}, UserData: []byte("#!/bin/sh\necho b\n")},
		{ID: "i-0000000000000000c"},
		{ID: "i-0000000000000000d", Type: "m5.large", LocalIPv4: "10.0.1.7"},
		{ID: "i-0000000000000000e", Tags: map[string]string{"Name": "e"}},
		{ID: "i-0000000000000000f", Type: "m5.large", LocalIPv4: "10.0.1.7", Region: "eu-west-1"},
	}
	mk := func(in imds.Instance, routes *imds.Routes) *imds.Server {
		t.Helper()
		s, err := imds.New(imds.Options{Credentials: src, TokenKey: testKey, Now: clk.Now, Routes: routes,
			Instance: in, InstanceMetadataTags: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var servers []*imds.Server
	for _, in := range instances {
		servers = append(servers, mk(in, routes))
	}
	paths := []string{
		"/latest", "/latest/user-data", "/latest/meta-data/instance-id", "/latest/meta-data/instance-type",
		"/latest/meta-data/hostname", "/latest/meta-data/tags/instance", "/latest/meta-data/tags/instance/Name",
		"/latest/dynamic/instance-identity/document", "/latest/meta-data/mac",
	}
	for i, s := range servers {
		alone := mk(instances[i], nil)
		if diff := cmp.Diff(alone.Options().Instance, s.Options().Instance); diff != "" {
			t.Errorf("server %d: Options().Instance (-alone +shared):\n%s", i, diff)
		}
		for _, p := range paths {
			want, got := serve(t, alone, "GET", p), serve(t, s, "GET", p)
			if got.Code != want.Code || got.Body.String() != want.Body.String() {
				t.Errorf("server %d: GET %s = %d %q, alone %d %q", i, p, got.Code, got.Body, want.Code, want.Body)
			}
		}
		in := s.Options().Instance
		if in.ID != instances[i].ID || !maps.Equal(in.Tags, instances[i].Tags) || !bytes.Equal(in.UserData, instances[i].UserData) {
			t.Errorf("server %d: Options().Instance ID, Tags, UserData = %q %v %q, want those given", i, in.ID, in.Tags, in.UserData)
		}
	}
}
