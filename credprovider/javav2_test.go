package credprovider

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func newV2(f *fakeIMDS, async bool) *JavaV2 {
	return NewJavaV2(func(o *JavaV2Options) {
		o.Async, o.Client, o.Endpoint, o.Jitter = async, f, "http://imds.test/", zeroJitter
	})
}

// Row "refresh window", Java v2: prefetchTime = now + max(½ of the time
// left, 5 min) (InstanceProfileCredentialsProvider.prefetchTime), jittered
// by CachedSupplier.jitteredPrefetchValueSupplier (pinned to 0 here);
// staleTime = expiration − 1 s; with OneCallerBlocks one caller refreshes
// at the prefetch time.
func TestJavaV2_RefreshWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := newFakeIMDS("ASIAONE", start.Add(time.Hour))
		p := newV2(f, false)
		defer p.Close()
		get(t, p)
		f.serve("ASIATWO", start.Add(2*time.Hour))
		sleep(30*time.Minute - time.Second)
		if k, out := get(t, p); k != "ASIAONE" || out.Blocked {
			t.Fatalf("before the prefetch time: %s %+v", k, out)
		}
		sleep(time.Second) // now + ½ × 60 min
		if k, out := get(t, p); k != "ASIATWO" || out.Source != SourceFetch || !out.Blocked {
			t.Fatalf("at the prefetch time: %s %+v, want this caller to fetch ASIATWO", k, out)
		}
		// ASIATWO has 90 min left: prefetch in 45 min. With 8 min left the
		// floor of 5 min applies: prefetch 5 min later, stale at 7:59.
		f.serve("ASIATHREE", start.Add(83*time.Minute)) // fetched at 75 min
		sleep(45 * time.Minute)
		if k, _ := get(t, p); k != "ASIATHREE" {
			t.Fatalf("at 45 min: %s, want ASIATHREE", k)
		}
		f.serve("ASIAFOUR", start.Add(3*time.Hour))
		sleep(5*time.Minute - time.Second)
		if k, _ := get(t, p); k != "ASIATHREE" {
			t.Fatalf("4:59 after a fetch with 8 min left: %s, want ASIATHREE", k)
		}
		sleep(time.Second)
		if k, _ := get(t, p); k != "ASIAFOUR" {
			t.Fatalf("5 min after a fetch with 8 min left: %s, want ASIAFOUR", k)
		}
	})
}

// Row "async", Java v2: with asyncCredentialUpdateEnabled(true) NonBlocking
// schedules a background refresh at max(prefetch, now + 60 s) (jitter 0)
// and callers never wait for it; OneCallerBlocks, the default, has callers
// past the prefetch time that lose the race return the cached value.
func TestJavaV2_Async(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := newFakeIMDS("ASIAONE", start.Add(time.Hour))
		p := newV2(f, true)
		defer p.Close()
		get(t, p)
		f.serve("ASIATWO", start.Add(2*time.Hour))
		f.requests()
		sleep(30 * time.Minute)
		synctest.Wait()
		if r := f.requests(); len(r) != 3 {
			t.Fatalf("at the prefetch time the background made %q, want one fetch (PUT, 2 GETs)", r)
		}
		if k, out := get(t, p); k != "ASIATWO" || out.Blocked || out.Source != SourceCache {
			t.Fatalf("after the background refresh: %s %+v, want ASIATWO from the cache", k, out)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := newFakeIMDS("ASIAONE", start.Add(time.Hour))
		p := newV2(f, false)
		defer p.Close()
		get(t, p)
		sleep(30 * time.Minute)
		p.prefetchng.Store(true) // another caller is refreshing
		if k, out := get(t, p); k != "ASIAONE" || out.Blocked {
			t.Fatalf("sync, another caller refreshing: %s %+v, want the cached ASIAONE at once", k, out)
		}
		p.prefetchng.Store(false)
	})
}

// Row "IMDS down", Java v2: a failed prefetch keeps the cached value
// (CachedSupplier.handleFetchFailure before the stale time); past it,
// StaleValueBehavior.ALLOW serves the stale value and pushes the stale time
// out by jitterTime(1 ms, min(100 ms × 2^(n−1), 10 s)).
func TestJavaV2_IMDSDownServesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		f := newFakeIMDS("ASIAONE", start.Add(20*time.Minute))
		p := newV2(f, false)
		defer p.Close()
		get(t, p)
		f.setDown(true)
		sleep(10 * time.Minute) // prefetch at 10 min
		if k, out := get(t, p); k != "ASIAONE" || !out.Blocked {
			t.Fatalf("failed prefetch: %s %+v, want the cached ASIAONE", k, out)
		}
		sleep(15 * time.Minute) // expired
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if k, out := get(t, p); k != "ASIAONE" || out.Source != SourceStale {
					t.Errorf("stale with IMDS down: %s %+v, want the stale ASIAONE", k, out)
				}
			})
		}
		wg.Wait()
		if n := p.failures.Load(); n < 1 {
			t.Fatalf("consecutive stale failures %d, want at least 1", n)
		}
	})
}

// Row "already-expired document", Java v2: prefetchTime is null for a past
// expiration and CachedSupplier.handleFetchedSuccess (ALLOW) moves the stale
// time to now + 1-10 min (jitter 0: 1 min); the value is served until then.
func TestJavaV2_ExpiredDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeIMDS("ASIAOLD", time.Now().Add(-time.Minute))
		p := newV2(f, false)
		defer p.Close()
		if k, out := get(t, p); k != "ASIAOLD" || out.Source != SourceFetch {
			t.Fatalf("expired document: %s %+v, want it accepted", k, out)
		}
		f.requests()
		sleep(time.Minute - time.Second)
		if k, out := get(t, p); k != "ASIAOLD" || out.Source != SourceStale || len(f.requests()) != 0 {
			t.Fatalf("59 s later: %s %+v, want the extended ASIAOLD, no request", k, out)
		}
		f.serve("ASIANEW", time.Now().Add(time.Hour))
		sleep(time.Second)
		if k, _ := get(t, p); k != "ASIANEW" {
			t.Fatalf("at the extended stale time: %s, want a blocking fetch of ASIANEW", k)
		}
	})
}

// Row "transport", Java v2: one token PUT per refresh (TTL "21600"), used
// for the listing and the document; getToken throws on a 400 and falls back
// to IMDSv1 on anything else, IO errors included.
func TestJavaV2_Transport(t *testing.T) {
	ctx := context.Background()
	f := newFakeIMDS("ASIAONE", time.Now().Add(time.Hour))
	if _, err := newV2(f, false).Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"PUT /latest/api/token ttl=21600", "GET v2 " + securityCredentialsPath, "GET v2 " + securityCredentialsPath + "web-role"}
	if got := f.requests(); !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	for _, tc := range []struct {
		name     string
		status   int
		err      error
		fallback bool
	}{
		{"403", 403, nil, true}, {"500", 500, nil, true}, {"refused", 0, refusedError{}, true}, {"400", 400, nil, false},
	} {
		f := newFakeIMDS("ASIAONE", time.Now().Add(time.Hour))
		f.tokenStatus, f.tokenErr = tc.status, tc.err
		_, err := newV2(f, false).Retrieve(ctx)
		got := f.requests()
		if tc.fallback != (err == nil) || (tc.fallback && got[1] != "GET v1 "+securityCredentialsPath) {
			t.Errorf("token %s: err %v, requests %q; fallback wanted: %v", tc.name, err, got, tc.fallback)
		}
	}
}

// The lab's fast path: Retrieve between refreshes.
func BenchmarkRetrieveBetweenRefreshes(b *testing.B) {
	ctx := context.Background()
	f := newFakeIMDS("ASIAONE", time.Now().Add(6*time.Hour))
	v1 := newV1(f, JavaV1_12_2024, true)
	defer v1.Close()
	v2 := newV2(f, true)
	defer v2.Close()
	for _, p := range []struct {
		name string
		p    Observed
	}{{"java-v1-async", v1}, {"java-v2-async", v2}} {
		if _, err := p.p.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.p.Retrieve(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
