package imds_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/imds"
)

// The rendered document and the header values are kept between requests:
// every change of credentials, legacy or extended, must still show at once,
// including a change back to credentials served before.
func TestServer_DocumentFollowsEveryGeneration(t *testing.T) {
	f := newFixture(t, func(o *imds.Options) { o.ExtendedCredentials = true })
	first := testAttachment()
	second := testAttachment()
	second.Credentials.AccessKeyID = "ASIAEXAMPLE000000002"
	second.Credentials.Expires = second.Credentials.Expires.Add(time.Hour)
	tok := f.token(t, "21600")
	for i, a := range []imds.Attachment{first, second, first, second} {
		f.src.set(&a)
		for _, path := range []string{"/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials-extended/"} {
			w := f.do(t, "GET", path+testRole, hdrToken, tok)
			body := w.Body.String()
			wantKey := `"AccessKeyId" : "` + a.Credentials.AccessKeyID + `"`
			wantExp := `"Expiration" : "` + a.Credentials.Expires.UTC().Format("2006-01-02T15:04:05Z") + `"`
			if w.Code != 200 || !strings.Contains(body, wantKey) || !strings.Contains(body, wantExp) {
				t.Errorf("step %d GET %s = %d, want 200 with %s and %s", i, path, w.Code, wantKey, wantExp)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(body)) {
				t.Errorf("step %d GET %s: Content-Length %s, body %d bytes", i, path, got, len(body))
			}
			if strings.Contains(path, "extended") != strings.Contains(body, "AccountId") {
				t.Errorf("step %d GET %s: AccountId present = %v", i, path, strings.Contains(body, "AccountId"))
			}
		}
	}
	// The remaining-TTL header follows the clock.
	for _, want := range []string{"21600", "21599", "21000"} {
		switch want {
		case "21599":
			f.clock.Advance(time.Second)
		case "21000":
			f.clock.Advance(599 * time.Second)
		}
		w := f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole, hdrToken, tok)
		if got := w.Header().Get(hdrTTL); got != want {
			t.Errorf("remaining TTL = %q, want %q", got, want)
		}
	}
	// The TTL header of token PUTs follows each request's TTL.
	for _, ttl := range []string{"60", "21600", "60"} {
		w := f.do(t, "PUT", "/latest/api/token", hdrTTL, ttl)
		if got := w.Header().Get(hdrTTL); w.Code != 200 || got != ttl {
			t.Errorf("PUT ttl %s = %d, header %q", ttl, w.Code, got)
		}
	}
}
