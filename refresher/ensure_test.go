package refresher

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsemu/imdsemu/credential"
)

// An entry kept on first use: nothing is minted until Ensure asks, the
// first generation is minted in Ensure's caller and returned, and Run
// rotates it from then on.
func TestScheduler_EnsureMintsOnFirstUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record})
		defer stop()
		synctest.Wait()
		if s.Current("identity") != nil || len(rec.kinds()) != 0 {
			t.Fatal("a generation before Ensure")
		}
		g, err := s.Ensure(t.Context(), "identity", iss)
		if err != nil || g == nil || g.Seq != 1 {
			t.Fatalf("Ensure = %+v, %v; want generation 1", g, err)
		}
		if cur := s.Current("identity"); cur != g {
			t.Errorf("Current = %+v, want Ensure's generation", cur)
		}
		rec.mu.Lock()
		if ev := rec.events[0]; ev.Kind != EventIssued || ev.Key != "identity" || ev.Due.IsZero() || ev.Credentials != g.Credentials.Public() {
			t.Errorf("event = %+v, want generation 1 issued", ev)
		}
		rec.mu.Unlock()
		again, err := s.Ensure(t.Context(), "identity", iss)
		iss.mu.Lock()
		calls := iss.calls
		iss.mu.Unlock()
		if err != nil || again != g || calls != 1 {
			t.Errorf("second Ensure = %+v, %v after %d mints; want the same generation, one mint", again, err, calls)
		}
		// Run keeps it from now on: rotated after the interval.
		time.Sleep(time.Hour)
		synctest.Wait()
		if g := s.Current("identity"); g == nil || g.Seq != 2 {
			t.Fatalf("after an hour Current = %+v, want generation 2", g)
		}
	})
}

// Concurrent first callers share one mint.
func TestScheduler_EnsureConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		iss := IssuerFunc(func(ctx context.Context, key string, life time.Duration) (credential.Value, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			<-release
			now := time.Now()
			return credential.Value{AccessKeyID: "ASIAENSURE", Issued: now, Expires: now.Add(life)}, nil
		})
		s, stop := start(t, Options{})
		defer stop()
		gens := make([]*Generation, 3)
		var wg sync.WaitGroup
		for i := range gens {
			wg.Go(func() {
				g, err := s.Ensure(t.Context(), "identity", iss)
				if err != nil {
					t.Error(err)
				}
				gens[i] = g
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if calls != 1 || gens[0] == nil || gens[0] != gens[1] || gens[1] != gens[2] {
			t.Errorf("%d mints, generations %v; want one, shared", calls, gens)
		}
	})
}

// A failed first mint fails Ensure as a failed mint fails: the error,
// EventMintFailed, and Run's retry after the backoff.
func TestScheduler_EnsureFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{fail: true}
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record})
		defer stop()
		if g, err := s.Ensure(t.Context(), "identity", iss); err == nil || g != nil {
			t.Fatalf("Ensure = %+v, %v; want the issuer's error", g, err)
		}
		if got := rec.kinds(); len(got) != 1 || got[0] != "mint_failed#0" {
			t.Errorf("events = %v, want one mint_failed", got)
		}
		if _, err := s.Ensure(t.Context(), "identity", iss); !errors.Is(err, ErrNoGeneration) {
			t.Errorf("Ensure while the retry is pending = %v, want ErrNoGeneration", err)
		}
		iss.setFail(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if g := s.Current("identity"); g == nil || g.Seq != 1 {
			t.Errorf("after the backoff Current = %+v, want Run's retry minted generation 1", g)
		}
	})
}
