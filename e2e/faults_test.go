package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fault actions against the real aws-sdk-go-v2 default credential
// chain (config.LoadDefaultConfig with only AWS_EC2_METADATA_SERVICE_ENDPOINT
// set), each showing the SDK behaviour the fault exists to provoke. Version
// facts quoted below are from aws-sdk-go-v2 v1.48.0, feature/ec2/imds
// v1.20.9 and credentials v1.21.0, the versions in go.mod.

const rolePath = "/latest/meta-data/iam/security-credentials/imdsemu-demo"

// TestFaults_TokenForbiddenFallsBackToIMDSv1: a 403 on the token PUT makes
// the Go SDK give up on tokens for good (feature/ec2/imds token_provider.go)
// and fetch the credentials with token-less IMDSv1 requests. The rule is
// added with the CLI.
func TestFaults_TokenForbiddenFallsBackToIMDSv1(t *testing.T) {
	e := startEmulator(t)
	out, err := e.cli(t, "fault", "add", "--action", "status", "--status", "403", "--path", "/latest/api/token", "--method", "PUT")
	if err != nil || !strings.Contains(out, "added: status 403 method=PUT path=/latest/api/token") {
		t.Fatalf("imdsemu fault add: %v\n%s", err, out)
	}
	creds, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if n := e.metric(t, `imdsemu_faults_fired_total{action="status"}`); n != 1 {
		t.Errorf("token PUTs refused = %v, want 1: the SDK stops asking after a 403", n)
	}
	if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n != 2 {
		t.Errorf("token-less requests = %v, want 2 (the role listing and the document)", n)
	}
	if n := e.metric(t, "imdsemu_imds_tokens_issued_total"); n != 0 {
		t.Errorf("tokens issued = %v, want 0", n)
	}
	g := e.generations(t)[0]
	if g.AccessKeyID != creds.AccessKeyID || len(g.Clients) != 1 || g.Clients[0].Versions["v1"] != 1 || g.Clients[0].Versions["v2"] != 0 {
		t.Errorf("generation %+v: want the SDK's key fetched once over v1", g)
	}
	out, err = e.cli(t, "fault", "list")
	if err != nil || !strings.Contains(out, "status 403") {
		t.Errorf("fault list: %v\n%s", err, out)
	}
}

// TestFaults_RetryOnServerErrors: 500 and 429 on the credential document
// are retried (standard retryer, 3 attempts; 429 since aws v1.48.0), so two
// failures are invisible to the caller.
func TestFaults_RetryOnServerErrors(t *testing.T) {
	for _, status := range []string{"500", "429"} {
		t.Run(status, func(t *testing.T) {
			e := startEmulator(t)
			e.addFault(t, `{"action":"status","status":`+status+`,"path":"`+rolePath+`","times":2}`)
			if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
				t.Fatalf("Retrieve after two %s answers: %v", status, err)
			}
			if n := e.metric(t, `imdsemu_faults_fired_total{action="status"}`); n != 2 {
				t.Errorf("%s answers = %v, want 2", status, n)
			}
			if g := e.generations(t)[0]; g.Served != 1 {
				t.Errorf("documents served = %d, want 1 (the third attempt)", g.Served)
			}
		})
	}
}

// TestFaults_UnauthorizedRefreshesToken: a 401 on a GET made with a token
// makes the SDK drop its cached token, PUT for a new one and retry.
func TestFaults_UnauthorizedRefreshesToken(t *testing.T) {
	e := startEmulator(t)
	e.addFault(t, `{"action":"status","status":401,"path":"`+rolePath+`","version":"v2","times":1}`)
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if n := e.metric(t, "imdsemu_imds_tokens_issued_total"); n != 2 {
		t.Errorf("tokens issued = %v, want 2: the SDK re-PUTs after the 401", n)
	}
	if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n != 0 {
		t.Errorf("token-less requests = %v, want 0", n)
	}
}

// TestFaults_LatencyPastTimeout: the Go IMDS client waits 500 ms for
// response headers. A slow token PUT is a send error, which turns tokens
// off for the client's life (IMDSv1 from then on); a slow credential
// document fails the retrieval.
func TestFaults_LatencyPastTimeout(t *testing.T) {
	t.Run("token PUT", func(t *testing.T) {
		e := startEmulator(t)
		e.addFault(t, `{"action":"latency","delay":"2s","path":"/latest/api/token"}`)
		start := time.Now()
		if _, err := sdkConfigFastFail(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
			t.Fatalf("Retrieve: %v", err)
		}
		t.Logf("Retrieve took %v", time.Since(start).Round(time.Millisecond))
		if n := e.metric(t, `imdsemu_faults_fired_total{action="latency"}`); n < 1 {
			t.Errorf("latency fired %v times", n)
		}
		if n := e.metric(t, "imdsemu_imds_tokens_issued_total"); n != 0 {
			t.Errorf("tokens issued = %v, want 0: the SDK gave up before each answer", n)
		}
		if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n != 2 {
			t.Errorf("token-less requests = %v, want 2: the SDK fell back to IMDSv1", n)
		}
	})
	t.Run("credential document", func(t *testing.T) {
		e := startEmulator(t)
		e.addFault(t, `{"action":"latency","delay":"2s","path":"`+rolePath+`"}`)
		_, err := sdkConfigFastFail(t, e.endpoint).Credentials.Retrieve(context.Background())
		if err == nil {
			t.Fatal("Retrieve succeeded through a 2s delay")
		}
		if !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "deadline") {
			t.Errorf("Retrieve error = %v, want a timeout", err)
		}
		t.Logf("Retrieve: %v", err)
		if n := e.metric(t, `imdsemu_faults_fired_total{action="latency"}`); n != 3 {
			t.Errorf("delayed requests = %v, want 3 (the SDK's attempts)", n)
		}
	})
}

// TestFaults_MalformedDocument: every kind of broken credential document is
// an error for the SDK, and no credentials are returned.
func TestFaults_MalformedDocument(t *testing.T) {
	e := startEmulator(t)
	for _, body := range []string{"truncated", "wrong-types", "missing-code", "not-json"} {
		t.Run(body, func(t *testing.T) {
			id := e.addFault(t, `{"action":"malformed","body":"`+body+`"}`)
			defer e.removeFault(t, id)
			creds, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background())
			if err == nil {
				t.Fatalf("Retrieve of a %s document succeeded", body)
			}
			if creds.HasKeys() {
				t.Errorf("credentials returned with the error")
			}
			t.Logf("%s: %v", body, err)
		})
	}
}

// TestFaults_ExpiringSoonRefreshes: the SDK caches role credentials until
// their Expiration (no expiry window for EC2 role credentials), so a
// document that expires in 3 s is fetched again on the first call after.
func TestFaults_ExpiringSoonRefreshes(t *testing.T) {
	e := startEmulator(t)
	e.addFault(t, `{"action":"expiring","expires-in":"3s","times":1}`)
	cfg := sdkConfig(t, e.endpoint)
	ctx := context.Background()
	c1, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(c1.Expires); left <= 0 || left > 4*time.Second {
		t.Fatalf("first credentials expire in %v, want about 3s", left)
	}
	// Before the expiry the SDK answers from its cache.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	if g := e.generations(t)[0]; g.Served != 1 {
		t.Fatalf("served %d documents before the expiry, want 1", g.Served)
	}
	time.Sleep(time.Until(c1.Expires) + 100*time.Millisecond) // let the served Expiration pass
	c2, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := e.generations(t)[0]; g.Served != 2 {
		t.Errorf("served %d documents, want 2: the SDK refreshes on the first call after Expiration", g.Served)
	}
	if time.Until(c2.Expires) < 30*time.Minute {
		t.Errorf("refreshed credentials expire in %v, want the real (hours) expiry, capped at 1h by the SDK", time.Until(c2.Expires))
	}
}

// TestFaults_ExpiredDocument: credentials that are already expired are
// used, and fetched again on every call.
func TestFaults_ExpiredDocument(t *testing.T) {
	e := startEmulator(t)
	e.addFault(t, `{"action":"expired"}`)
	cfg := sdkConfig(t, e.endpoint)
	for i := 1; i <= 3; i++ {
		c, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("Retrieve %d: %v", i, err)
		}
		if !c.Expires.Before(time.Now()) {
			t.Errorf("Retrieve %d: Expires %v is not in the past", i, c.Expires)
		}
		if g := e.generations(t)[0]; g.Served != uint64(i) {
			t.Errorf("after call %d: %d documents served, want %d", i, g.Served, i)
		}
	}
}

// TestFaults_OutageStaticStability: with credentials cached, an outage (the
// listener closed: connections refused) does not stop the SDK. When the
// cached credentials expire during it, the refresh fails and the SDK keeps
// returning them, extended 5–15 minutes (ec2rolecreds HandleFailToRefresh).
func TestFaults_OutageStaticStability(t *testing.T) {
	e := startEmulator(t)
	e.addFault(t, `{"action":"expiring","expires-in":"2s","times":1}`)
	cfg := sdkConfig(t, e.endpoint)
	ctx := context.Background()
	cached, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outage := e.addFault(t, `{"action":"refuse"}`)
	addr := strings.TrimSuffix(strings.TrimPrefix(e.endpoint, "http://"), "/")
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial during the outage = %v, want ECONNREFUSED", err)
	}
	time.Sleep(time.Until(cached.Expires) + 100*time.Millisecond) // let the cached credentials expire
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve during the outage after expiry: %v, want the cached credentials", err)
	}
	if got.AccessKeyID != cached.AccessKeyID {
		t.Errorf("got %s, want the cached %s", got.AccessKeyID, cached.AccessKeyID)
	}
	if left := time.Until(got.Expires); left < 4*time.Minute || left > 16*time.Minute {
		t.Errorf("extended expiry in %v, want 5-15 minutes", left)
	}
	if n := e.metric(t, `imdsemu_faults_fired_total{action="refuse"}`); n != 1 {
		t.Errorf("outages = %v, want 1", n)
	}
	// The outage ends: the same address answers again.
	if err := e.client(t).RemoveFault(context.Background(), outage); err != nil {
		t.Fatalf("remove the outage: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metadata address did not come back: %v", err)
		}
	}
	if code, _, _ := e.do(t, http.MethodGet, "/latest/meta-data/instance-id", nil); code != 200 {
		t.Errorf("after the outage: %d", code)
	}
}

// TestFaults_OutageForADuration: an outage with "for" ends by itself.
func TestFaults_OutageForADuration(t *testing.T) {
	e := startEmulator(t)
	out, err := e.cli(t, "fault", "add", "--action", "refuse", "--for", "3s")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(e.endpoint, "http://"), "/")
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial during the outage = %v, want ECONNREFUSED", err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outage did not end")
		}
	}
	if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
		t.Errorf("Retrieve after the outage: %v", err)
	}
}

// TestFaults_BlackholeAndReset: a blackholed request is never answered, so
// each attempt times out and the retrieval fails; a reset is a send error
// the SDK retries, so one reset is invisible.
func TestFaults_BlackholeAndReset(t *testing.T) {
	t.Run("blackhole", func(t *testing.T) {
		e := startEmulator(t)
		id := e.addFault(t, `{"action":"blackhole","path":"`+rolePath+`","for":"1m"}`)
		if _, err := sdkConfigFastFail(t, e.endpoint).Credentials.Retrieve(context.Background()); err == nil {
			t.Fatal("Retrieve succeeded through a blackhole")
		}
		if n := e.metric(t, `imdsemu_faults_fired_total{action="blackhole"}`); n != 3 {
			t.Errorf("blackholed requests = %v, want 3 (the SDK's attempts)", n)
		}
		e.removeFault(t, id)
		if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
			t.Errorf("Retrieve after removing the blackhole: %v", err)
		}
	})
	t.Run("reset once", func(t *testing.T) {
		e := startEmulator(t)
		e.addFault(t, `{"action":"reset","path":"`+rolePath+`","times":1}`)
		if _, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background()); err != nil {
			t.Fatalf("Retrieve after one reset: %v", err)
		}
		if n := e.metric(t, `imdsemu_faults_fired_total{action="reset"}`); n != 1 {
			t.Errorf("resets = %v, want 1", n)
		}
	})
	t.Run("reset always", func(t *testing.T) {
		e := startEmulator(t)
		e.addFault(t, `{"action":"reset","path":"`+rolePath+`"}`)
		_, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background())
		if err == nil || !strings.Contains(err.Error(), "reset") {
			t.Errorf("Retrieve = %v, want a connection reset error", err)
		}
		t.Logf("Retrieve: %v", err)
	})
}
