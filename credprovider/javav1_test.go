package credprovider

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func newV1(f *fakeIMDS, rel JavaV1Release, async bool) *JavaV1 {
	return NewJavaV1(func(o *JavaV1Options) {
		o.Release, o.Async, o.Client, o.Endpoint, o.Jitter = rel, async, f, "http://imds.test/", zeroJitter
	})
}

// get retrieves once and fails the test on an error.
func get(t *testing.T, p Observed) (string, Outcome) {
	t.Helper()
	c, out, err := p.RetrieveOutcome(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	return c.AccessKeyID, out
}

// Row "refresh window", Java v1: BaseCredentialsFetcher.needsToLoadCredentials
// refreshes within EXPIRATION_THRESHOLD (15 min) of expiry and after
// REFRESH_THRESHOLD (1 h) since the last attempt.
func TestJavaV1_RefreshWindow(t *testing.T) {
	for _, rel := range JavaV1Releases {
		t.Run(string(rel), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				f := newFakeIMDS("ASIAONE", start.Add(time.Hour))
				p := newV1(f, rel, false)
				defer p.Close()
				if k, out := get(t, p); k != "ASIAONE" || out.Source != SourceFetch || !out.Blocked {
					t.Fatalf("first call: %s %+v, want a blocking fetch of ASIAONE", k, out)
				}
				f.serve("ASIATWO", start.Add(3*time.Hour))
				sleep(45*time.Minute - time.Second) // 15 min + 1 s before expiry
				if k, out := get(t, p); k != "ASIAONE" || out.Source != SourceCache || out.Blocked {
					t.Fatalf("15 min + 1 s before expiry: %s %+v, want ASIAONE from the cache", k, out)
				}
				sleep(2 * time.Second) // 14 min 59 s before expiry
				if k, out := get(t, p); k != "ASIATWO" || out.Source != SourceFetch {
					t.Fatalf("inside 15 min of expiry: %s %+v, want a fetch of ASIATWO", k, out)
				}
				// ASIATWO expires 3 h after start; the last attempt was at
				// 45 min: the 1 h threshold comes first, at 1 h 45 min.
				f.serve("ASIATHREE", start.Add(6*time.Hour))
				sleep(time.Hour - time.Second)
				if k, _ := get(t, p); k != "ASIATWO" {
					t.Fatalf("59 min 59 s after the last attempt: %s, want ASIATWO", k)
				}
				sleep(2 * time.Second)
				if k, _ := get(t, p); k != "ASIATHREE" {
					t.Fatalf("1 h after the last attempt: %s, want ASIATHREE", k)
				}
			})
		})
	}
}

// Row "async", Java v1: InstanceProfileCredentialsProvider(true) runs
// getCredentials every ASYNC_REFRESH_INTERVAL_TIME_MINUTES (1) once a caller
// has (shouldRefresh); a caller that finds the credentials due between two
// runs still refreshes itself, synchronously.
func TestJavaV1_Async(t *testing.T) {
	for _, rel := range JavaV1Releases {
		t.Run(string(rel), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				f := newFakeIMDS("ASIAONE", start.Add(15*time.Minute+30*time.Second))
				p := newV1(f, rel, true)
				defer p.Close()
				synctest.Wait()
				if r := f.requests(); len(r) != 0 {
					t.Fatalf("before any caller the thread fetched: %v", r)
				}
				get(t, p) // due again 30 s later
				f.serve("ASIATWO", start.Add(15*time.Minute+50*time.Second))
				sleep(40 * time.Second)
				if k, out := get(t, p); k != "ASIATWO" || out.Source != SourceFetch || !out.Blocked {
					t.Fatalf("due between two thread runs: %s %+v, want the caller to fetch ASIATWO", k, out)
				}
				// ASIATWO is due at 50 s: the thread's next run, at 1 min,
				// refreshes in the background.
				f.serve("ASIATHREE", start.Add(time.Hour))
				f.requests()
				sleep(30 * time.Second)
				synctest.Wait()
				if r := f.requests(); len(r) == 0 {
					t.Fatal("the thread did not fetch at its 1-minute run")
				}
				if k, out := get(t, p); k != "ASIATHREE" || out.Blocked {
					t.Fatalf("after the thread's run: %s %+v, want ASIATHREE without blocking", k, out)
				}
			})
		})
	}
}

// Row "IMDS down", Java v1 1.11: BaseCredentialsFetcher.handleError
// (2019) rethrows every SdkClientException, so a due refresh that cannot
// reach IMDS fails the call although the cached credentials are valid.
func TestJavaV1_11_IMDSDownThrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeIMDS("ASIAONE", time.Now().Add(20*time.Minute))
		p := newV1(f, JavaV1_11, false)
		defer p.Close()
		get(t, p)
		f.setDown(true)
		sleep(6 * time.Minute) // due (14 min left), still valid
		if _, err := p.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("due refresh with IMDS down: err %v, want the connection error", err)
		}
	})
}

// Row "IMDS down", Java v1 2024: allowExpiredCredentials keeps the cached
// credentials (handleError only logs) and the finally block sets the next
// attempt 50-70 s out, past expiry too.
func TestJavaV1_2024_IMDSDownServesCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := newFakeIMDS("ASIAONE", start.Add(20*time.Minute))
		p := newV1(f, JavaV1_12_2024, false)
		defer p.Close()
		get(t, p)
		f.setDown(true)
		f.requests()
		sleep(6 * time.Minute)
		if k, out := get(t, p); k != "ASIAONE" || out.Source != SourceStale {
			t.Fatalf("due refresh with IMDS down: %s %+v, want cached ASIAONE marked stale", k, out)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("one failed attempt made %d requests, want 1 (no retries)", n)
		}
		sleep(49 * time.Second) // jitter pinned to 0: next attempt at +50 s
		get(t, p)
		if r := f.requests(); len(r) != 0 {
			t.Fatalf("49 s after a failure: %v, want no attempt", r)
		}
		sleep(time.Second)
		get(t, p)
		if r := f.requests(); len(r) != 1 {
			t.Fatalf("50 s after a failure: %v, want one attempt", r)
		}
		sleep(20 * time.Minute) // long expired
		if k, out := get(t, p); k != "ASIAONE" || out.Source != SourceStale {
			t.Fatalf("expired with IMDS down: %s %+v, want the expired ASIAONE", k, out)
		}
	})
}

// Row "already-expired document", Java v1 1.11: the document is stored,
// then getCredentials throws "The credentials received have been expired",
// and every call fetches again (it is within EXPIRATION_THRESHOLD).
func TestJavaV1_11_ExpiredDocumentThrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeIMDS("ASIAOLD", time.Now().Add(-time.Minute))
		p := newV1(f, JavaV1_11, false)
		defer p.Close()
		for range 2 {
			if _, err := p.Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "have been expired") {
				t.Fatalf("expired document: err %v, want \"have been expired\"", err)
			}
			if n := len(f.requests()); n != 4 {
				t.Fatalf("call made %d requests, want a fetch (4: two token PUTs, two GETs)", n)
			}
		}
	})
}

// Row "already-expired document", Java v1 2024: accepted and served
// (allowExpiredCredentials), the next attempt 50-70 s later.
func TestJavaV1_2024_ExpiredDocumentServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeIMDS("ASIAOLD", time.Now().Add(-time.Minute))
		p := newV1(f, JavaV1_12_2024, false)
		defer p.Close()
		if k, out := get(t, p); k != "ASIAOLD" || out.Source != SourceFetch {
			t.Fatalf("expired document: %s %+v, want it fetched and served", k, out)
		}
		f.requests()
		sleep(49 * time.Second)
		if k, out := get(t, p); k != "ASIAOLD" || out.Source != SourceStale || len(f.requests()) != 0 {
			t.Fatalf("49 s later: %s %+v, want the expired key from the cache, no request", k, out)
		}
		f.serve("ASIANEW", time.Now().Add(time.Hour))
		sleep(time.Second)
		if k, _ := get(t, p); k != "ASIANEW" {
			t.Fatalf("50 s later: %s, want the retry to fetch ASIANEW", k)
		}
	})
}

// Row "transport", Java v1: InstanceMetadataServiceResourceFetcher.readResource
// PUTs a token (TTL "21600") before every GET, retries nothing
// (CredentialsEndpointRetryPolicy.NO_RETRY), and isTokenUnsupported falls
// back to IMDSv1 per request on a status neither 400 nor 5xx or a socket
// timeout; ConnectionUtils: connect 2 s, read 5 s.
func TestJavaV1_Transport(t *testing.T) {
	ctx := context.Background()
	t.Run("token per request", func(t *testing.T) {
		f := newFakeIMDS("ASIAONE", time.Now().Add(time.Hour))
		if _, err := newV1(f, JavaV1_12_2024, false).Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
		want := []string{"PUT /latest/api/token ttl=21600", "GET v2 " + securityCredentialsPath,
			"PUT /latest/api/token ttl=21600", "GET v2 " + securityCredentialsPath + "web-role"}
		if got := f.requests(); !slices.Equal(got, want) {
			t.Fatalf("requests %q, want %q", got, want)
		}
	})
	for _, tc := range []struct {
		name     string
		status   int
		err      error
		fallback bool
	}{
		{"401", 401, nil, true}, {"403", 403, nil, true}, {"404", 404, nil, true}, {"405", 405, nil, true},
		{"timeout", 0, timeoutError{}, true},
		{"400", 400, nil, false}, {"500", 500, nil, false}, {"503", 503, nil, false},
		{"refused", 0, refusedError{}, false},
	} {
		t.Run("token "+tc.name, func(t *testing.T) {
			f := newFakeIMDS("ASIAONE", time.Now().Add(time.Hour))
			f.tokenStatus, f.tokenErr = tc.status, tc.err
			_, err := newV1(f, JavaV1_11, false).Retrieve(ctx)
			got := f.requests()
			if tc.fallback {
				if err != nil || len(got) != 4 || got[1] != "GET v1 "+securityCredentialsPath || got[3] != "GET v1 "+securityCredentialsPath+"web-role" {
					t.Fatalf("err %v, requests %q: want both GETs as IMDSv1 after a token PUT each", err, got)
				}
				return
			}
			if err == nil || len(got) != 1 {
				t.Fatalf("err %v, requests %q: want one failed PUT and no fallback", err, got)
			}
		})
	}
	t.Run("no retries", func(t *testing.T) {
		f := newFakeIMDS("ASIAONE", time.Now().Add(time.Hour))
		f.getStatus = 500
		if _, err := newV1(f, JavaV1_11, false).Retrieve(ctx); err == nil {
			t.Fatal("a 500 on the listing did not fail the fetch")
		}
		if got := f.requests(); len(got) != 2 {
			t.Fatalf("requests %q, want one PUT and one GET", got)
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		c := NewJavaHTTPClient(JavaV1ConnectTimeout, JavaV1ReadTimeout)
		tr := c.Transport.(interface{ Clone() *http.Transport }).Clone()
		if tr.ResponseHeaderTimeout != 5*time.Second || JavaV1ConnectTimeout != 2*time.Second {
			t.Fatalf("read %v connect %v, want 5 s and 2 s", tr.ResponseHeaderTimeout, JavaV1ConnectTimeout)
		}
	})
}
