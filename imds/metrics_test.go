package imds_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/imdsemu/imdsemu/imds"
)

func TestServer_Metrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(o *imds.Options) { o.Registerer = reg })
	tok := f.token(t, "60")
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole, hdrToken, tok)
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole+"/", hdrToken, tok)
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/another-role", hdrToken, tok)
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/")
	f.do(t, "GET", "/latest/meta-data/secret-place", hdrToken, tok)
	f.do(t, "GET", "/latest/meta-data/instance-id", hdrToken, "forged")
	f.do(t, "POST", "/latest/meta-data/instance-id")
	f.do(t, "PUT", "/latest/api/token")
	f.srv.SetEndpointDisabled(true)
	f.do(t, "GET", "/latest/meta-data/instance-id")
	f.clock.Advance(50 * time.Minute)

	want := `
# HELP imdsemu_imds_credentials_age_seconds Seconds since the served role credentials were last updated. Absent while no role is attached.
# TYPE imdsemu_imds_credentials_age_seconds gauge
imdsemu_imds_credentials_age_seconds 3600
# HELP imdsemu_imds_credentials_remaining_seconds Seconds until the served role credentials expire (negative once expired). Absent while no role is attached.
# TYPE imdsemu_imds_credentials_remaining_seconds gauge
imdsemu_imds_credentials_remaining_seconds 18600
# HELP imdsemu_imds_requests_total Metadata requests by route template, IMDS version (v1: no token, v2: valid token, none: token requests, bad tokens, endpoint disabled, throttled; ecs: the ECS container credentials endpoint, route ecs) and status code.
# TYPE imdsemu_imds_requests_total counter
imdsemu_imds_requests_total{code="200",route="/latest/api/token",version="none"} 1
imdsemu_imds_requests_total{code="200",route="/latest/meta-data/iam/security-credentials",version="v1"} 1
imdsemu_imds_requests_total{code="200",route="/latest/meta-data/iam/security-credentials/{role}",version="v2"} 2
imdsemu_imds_requests_total{code="400",route="/latest/api/token",version="none"} 1
imdsemu_imds_requests_total{code="401",route="/latest/meta-data/instance-id",version="none"} 1
imdsemu_imds_requests_total{code="403",route="/latest/meta-data/instance-id",version="none"} 1
imdsemu_imds_requests_total{code="404",route="/latest/meta-data/iam/security-credentials/{role}",version="v2"} 1
imdsemu_imds_requests_total{code="404",route="unmatched",version="v2"} 1
imdsemu_imds_requests_total{code="405",route="/latest/meta-data/instance-id",version="v1"} 1
# HELP imdsemu_imds_tokens_issued_total IMDSv2 session tokens issued.
# TYPE imdsemu_imds_tokens_issued_total counter
imdsemu_imds_tokens_issued_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// Nothing secret or unbounded in any label.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, bad := range []string{testRole, "another-role", "secret-place", tok, testSecretAccessKey, testSessionToken, testAccessKeyID} {
					if strings.Contains(l.GetValue(), bad) {
						t.Errorf("%s label %s=%q contains %q", mf.GetName(), l.GetName(), l.GetValue(), bad)
					}
				}
			}
		}
	}

	// No role: the credential gauges are absent rather than made up.
	f.src.set(nil)
	if n, err := testutil.GatherAndCount(reg, "imdsemu_imds_credentials_remaining_seconds", "imdsemu_imds_credentials_age_seconds"); err != nil || n != 0 {
		t.Errorf("credential gauges with no role: %d series (err %v), want 0", n, err)
	}
}

func TestServer_MetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	newFixture(t, func(o *imds.Options) { o.Registerer = reg })
	src := &source{} // no role attached
	if _, err := imds.New(imds.Options{Credentials: src, TokenKey: testKey, Registerer: reg}); err == nil {
		t.Error("second New on the same registry = nil error, want a registration error")
	}
}

func TestServer_Logs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, func(o *imds.Options) { o.Logger = log })
	tok := f.token(t, "60")
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole, hdrToken, tok)
	f.do(t, "GET", "/latest/meta-data/iam/info", hdrToken, tamper(tok, len(tok)-10))
	f.do(t, "GET", "/latest/meta-data/iam/security-credentials/")
	// Attachment and Credentials redact themselves if logged whole.
	log.Info("attachment", "att", testAttachment())

	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("log has %d lines, want 5 (4 requests, 1 attachment):\n%s", len(lines), out)
	}
	for _, want := range []string{
		`level=DEBUG msg="imds request" method=PUT route=/latest/api/token status=200 version=none remote_addr=192.0.2.1:1234`,
		`method=GET route=/latest/meta-data/iam/security-credentials/{role} status=200 version=v2`,
		`route=/latest/meta-data/iam/info status=401 version=none remote_addr=192.0.2.1:1234 reason="token signature invalid"`,
		`route=/latest/meta-data/iam/security-credentials status=200 version=v1`,
		`att.credentials.access_key_id=` + testAccessKeyID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{tok, testSecretAccessKey, testSessionToken} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains secret %q:\n%s", secret, out)
		}
	}
}

// tamper changes the character at i to another base64url character.
func tamper(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestServer_MetricsFidelity: throttled requests count as 429 and the ECS
// endpoint under route and version "ecs".
func TestServer_MetricsFidelity(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(o *imds.Options) {
		o.Registerer = reg
		o.Throttle = imds.Throttle{RPS: 1, Burst: 1}
	})
	f.do(t, "GET", "/latest/meta-data/instance-id")
	f.do(t, "GET", "/latest/meta-data/instance-id")
	h := ecsHandler(t, f)
	for _, auth := range []string{testECSToken, "", "wrong-token-wrong-token"} {
		r := httptest.NewRequest("GET", "/v2/credentials/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `
# HELP imdsemu_imds_requests_total Metadata requests by route template, IMDS version (v1: no token, v2: valid token, none: token requests, bad tokens, endpoint disabled, throttled; ecs: the ECS container credentials endpoint, route ecs) and status code.
# TYPE imdsemu_imds_requests_total counter
imdsemu_imds_requests_total{code="200",route="/latest/meta-data/instance-id",version="v1"} 1
imdsemu_imds_requests_total{code="200",route="ecs",version="ecs"} 1
imdsemu_imds_requests_total{code="401",route="ecs",version="ecs"} 1
imdsemu_imds_requests_total{code="403",route="ecs",version="ecs"} 1
imdsemu_imds_requests_total{code="429",route="/latest/meta-data/instance-id",version="none"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "imdsemu_imds_requests_total"); err != nil {
		t.Error(err)
	}
}

// TestMetrics_Shared: servers sharing one Metrics expose what servers with
// metrics of their own, each on a registerer that adds its instance_id,
// expose.
func TestMetrics_Shared(t *testing.T) {
	shared, own := prometheus.NewRegistry(), prometheus.NewRegistry()
	m, err := imds.NewMetrics(shared, "instance_id")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"i-0123456789abcdef1", "i-0123456789abcdef2"} {
		for _, sharing := range []bool{true, false} {
			f := newFixture(t, func(o *imds.Options) {
				o.Instance.ID = id
				if sharing {
					o.Metrics = m
				} else {
					o.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"instance_id": id}, own)
				}
			})
			tok := f.token(t, "60")
			f.do(t, "GET", "/latest/meta-data/iam/security-credentials/"+testRole, hdrToken, tok)
			f.do(t, "GET", "/latest/meta-data/instance-id")
			f.do(t, "GET", "/latest/meta-data/nothing-here")
		}
	}
	want, err := own.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := shared.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var wantText, gotText bytes.Buffer
	for _, f := range []struct {
		mfs []*dto.MetricFamily
		buf *bytes.Buffer
	}{{want, &wantText}, {got, &gotText}} {
		for _, mf := range f.mfs {
			for _, m := range mf.GetMetric() {
				if c := m.GetCounter(); c != nil {
					c.CreatedTimestamp = nil // when the series was made: not the same in both
				}
			}
			f.buf.WriteString(mf.String() + "\n")
		}
	}
	if gotText.String() != wantText.String() || len(got) != 4 {
		t.Errorf("shared metrics:\n%s\nwant (%d families):\n%s", gotText.String(), len(want), wantText.String())
	}

	one, err := imds.NewMetrics(prometheus.NewRegistry(), "")
	if err != nil {
		t.Fatal(err)
	}
	newFixture(t, func(o *imds.Options) { o.Metrics = one })
	if _, err := imds.New(imds.Options{Credentials: &source{}, TokenKey: testKey, Metrics: one}); err == nil {
		t.Error("a second server on Metrics without an instance label: nil error")
	}
	if _, err := imds.New(imds.Options{Credentials: &source{}, TokenKey: testKey, Metrics: m, Registerer: own}); err == nil {
		t.Error("Registerer and Metrics both given: nil error")
	}
}

// With an instance label, a server's token series is made with its first
// token (an instance of a large fleet never asked for one has none); a
// server of its own has its series at 0 from the start.
func TestMetrics_TokenSeriesOnFirstToken(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := imds.NewMetrics(reg, "instance_id")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *imds.Options) { o.Metrics = m })
	if n, err := testutil.GatherAndCount(reg, "imdsemu_imds_tokens_issued_total"); err != nil || n != 0 {
		t.Errorf("token series before any token: %d, %v; want none", n, err)
	}
	f.token(t, "60")
	f.token(t, "60")
	want := `
# HELP imdsemu_imds_tokens_issued_total IMDSv2 session tokens issued.
# TYPE imdsemu_imds_tokens_issued_total counter
imdsemu_imds_tokens_issued_total{instance_id="i-0123456789abcdef0"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "imdsemu_imds_tokens_issued_total"); err != nil {
		t.Error(err)
	}
	one := prometheus.NewRegistry()
	newFixture(t, func(o *imds.Options) { o.Registerer = one })
	if n, err := testutil.GatherAndCount(one, "imdsemu_imds_tokens_issued_total"); err != nil || n != 1 {
		t.Errorf("one server's token series before any token: %d, %v; want it at 0", n, err)
	}
}
