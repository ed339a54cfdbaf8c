package refresher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/imdsemu/imdsemu/credential"
)

// fakeIssuer mints numbered credentials, or fails while fail is set.
type fakeIssuer struct {
	mu    sync.Mutex
	n     int
	fail  bool
	calls int
}

func (f *fakeIssuer) Issue(ctx context.Context, profile string, lifetime time.Duration) (credential.Value, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return credential.Value{}, errors.New("issuer down")
	}
	f.n++
	now := time.Now()
	return credential.Value{AccessKeyID: fmt.Sprintf("ASIA%s%012d", profile[:4], f.n), Issued: now, Expires: now.Add(lifetime)}, nil
}

func (f *fakeIssuer) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, fmt.Sprintf("%s#%d", e.Kind, e.Seq))
	}
	return out
}

// start runs a Scheduler inside the current synctest bubble and returns a
// stop function that waits for Run to return.
func start(t *testing.T, opts Options) (*Scheduler, func()) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	return s, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

func TestScheduler_RotatesAndKeepsOldValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record})
		defer stop()
		s.Add("web-profile", iss)
		synctest.Wait()
		first := s.Current("web-profile")
		if first == nil || first.Seq != 1 {
			t.Fatalf("Current after Add = %+v, want generation 1", first)
		}
		if got := first.Credentials.Expires.Sub(first.Credentials.Issued); got != 6*time.Hour {
			t.Errorf("lifetime = %v, want the 6h default", got)
		}
		rec.mu.Lock()
		if ev := rec.events[0]; ev.Kind != EventIssued || ev.Key != "web-profile" || ev.Credentials != first.Credentials.Public() {
			t.Errorf("issued event = %+v, want the generation's public credentials", ev)
		}
		rec.mu.Unlock()

		time.Sleep(time.Hour - time.Second)
		synctest.Wait()
		if g := s.Current("web-profile"); g.Seq != 1 {
			t.Fatalf("rotated early: seq %d at 59m59s", g.Seq)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if g := s.Current("web-profile"); g.Seq != 2 {
			t.Fatalf("seq = %d after 1h, want 2", g.Seq)
		}

		// After six hours generation 1 expires; generations 2..7 remain.
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		gens := s.Generations("web-profile")
		if len(gens) != 6 || gens[0].Seq != 7 || gens[5].Seq != 2 {
			t.Fatalf("Generations = %d (newest %d), want 6 valid, 7..2", len(gens), gens[0].Seq)
		}
		for _, g := range gens {
			if !g.Credentials.Expires.After(time.Now()) {
				t.Errorf("generation %d is expired but still listed", g.Seq)
			}
		}
		want := []string{"issued#1", "superseded#1", "issued#2"}
		if got := rec.kinds(); len(got) < 3 || fmt.Sprint(got[:3]) != fmt.Sprint(want) {
			t.Errorf("first events = %v, want %v", got, want)
		}
		found := false
		for _, k := range rec.kinds() {
			found = found || k == "expired#1"
		}
		if !found {
			t.Errorf("no expired#1 event in %v", rec.kinds())
		}
	})
}

func TestScheduler_ShortLifetimeKeepsLead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		s, stop := start(t, Options{Interval: 50 * time.Second, Lifetime: 60 * time.Second})
		defer stop()
		s.Add("demo", iss)
		synctest.Wait()
		// A quarter of 60 s is 15 s: the next mint is due at 45 s, before the 50 s interval.
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if g := s.Current("demo"); g.Seq != 2 {
			t.Fatalf("seq = %d at 45s, want 2 (lead before expiry)", g.Seq)
		}
	})
}

func TestScheduler_FailedMintKeepsCredentialsAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		reg := prometheus.NewRegistry()
		s, stop := start(t, Options{Registerer: reg})
		defer stop()
		s.Add("web-profile", iss)
		synctest.Wait()
		iss.setFail(true)
		time.Sleep(time.Hour)
		synctest.Wait()
		g := s.Current("web-profile")
		if g == nil || g.Seq != 1 {
			t.Fatalf("Current after failed mint = %+v, want generation 1 kept", g)
		}
		// Backoff 1s, 2s, 4s, 8s...: in 15 s after the first failure, four more tries.
		iss.mu.Lock()
		before := iss.calls
		iss.mu.Unlock()
		time.Sleep(15 * time.Second)
		synctest.Wait()
		iss.mu.Lock()
		tries := iss.calls - before
		iss.mu.Unlock()
		if tries != 4 {
			t.Errorf("retries in 15s = %d, want 4 (1+2+4+8 s backoff)", tries)
		}
		iss.setFail(false)
		time.Sleep(16 * time.Second)
		synctest.Wait()
		if g := s.Current("web-profile"); g.Seq != 2 {
			t.Errorf("seq = %d after recovery, want 2", g.Seq)
		}
		if got := testutil.ToFloat64(s.metrics.rotations.WithLabelValues("error")); got != 5 {
			t.Errorf("error rotations = %v, want 5", got)
		}
	})
}

func TestScheduler_RotateNowAndRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		s, stop := start(t, Options{})
		defer stop()
		s.Add("aaaa", iss)
		s.Add("bbbb", iss)
		s.Add("aaaa", iss)
		synctest.Wait()
		if err := s.RotateNow("aaaa"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if a, b := s.Current("aaaa").Seq, s.Current("bbbb").Seq; a != 2 || b != 1 {
			t.Fatalf("seqs after RotateNow(aaaa) = %d, %d; want 2, 1", a, b)
		}
		if err := s.RotateNow("nope"); err == nil {
			t.Error("RotateNow of an unknown profile succeeded")
		}
		s.Remove("aaaa")
		if s.Current("aaaa") != nil {
			t.Error("Current of a removed profile is not nil")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if b := s.Current("bbbb").Seq; b != 2 {
			t.Errorf("bbbb seq = %d after 1h, want 2", b)
		}
	})
}

// Each entry mints through its own Issuer, which sees the entry's key.
func TestScheduler_IssuerPerEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		profiles, identity := &fakeIssuer{}, &fakeIssuer{}
		var keys []string
		s, stop := start(t, Options{})
		defer stop()
		s.Add("arn:aws:iam::123456789012:instance-profile/web", profiles)
		s.Add("arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0", IssuerFunc(func(ctx context.Context, key string, life time.Duration) (credential.Value, error) {
			keys = append(keys, key)
			return identity.Issue(ctx, "iden", life)
		}))
		synctest.Wait()
		if profiles.calls != 1 || identity.calls != 1 {
			t.Errorf("issuer calls = %d, %d; want 1, 1", profiles.calls, identity.calls)
		}
		if len(keys) != 1 || keys[0] != "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0" {
			t.Errorf("identity issuer saw keys %q", keys)
		}
		if g := s.Current("arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0"); g == nil || g.Credentials.AccessKeyID[:8] != "ASIAiden" {
			t.Errorf("identity generation = %+v", g)
		}
	})
}

func TestNew_Rejects(t *testing.T) {
	cases := map[string]Options{
		"IntervalTooLong":  {Interval: 6 * time.Hour},
		"NegativeLifetime": {Interval: time.Second, Lifetime: -time.Second},
	}
	for name, opts := range cases {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestScheduler_CurrentIsRaceFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		s, stop := start(t, Options{Interval: time.Second, Lifetime: 10 * time.Second})
		defer stop()
		s.Add("race", iss)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 100 {
					_ = s.Current("race")
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if g := s.Current("race"); g == nil || g.Seq < 9 {
			t.Errorf("Current = %+v after 10s of 1s rotation", g)
		}
	})
}

// slowIssuer takes d to mint, on the bubble's clock.
type slowIssuer struct {
	fakeIssuer
	d time.Duration
}

func (s *slowIssuer) Issue(ctx context.Context, key string, lifetime time.Duration) (credential.Value, error) {
	time.Sleep(s.d)
	return s.fakeIssuer.Issue(ctx, key, lifetime)
}

func TestScheduler_EventsCarryDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record})
		defer stop()
		added := time.Now()
		s.Add("web-profile", &slowIssuer{d: 2 * time.Second})
		time.Sleep(time.Hour + 5*time.Second)
		synctest.Wait()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var issued []Event
		for _, e := range rec.events {
			if e.Kind == EventIssued {
				issued = append(issued, e)
			}
		}
		if len(issued) != 2 {
			t.Fatalf("issued events = %d, want 2", len(issued))
		}
		if first := issued[0]; !first.Due.Equal(added) || first.At.Sub(first.Due) != 2*time.Second {
			t.Errorf("first: due %v (want %v, when added), at due+%v (want 2s, the mint's time)", first.Due, added, first.At.Sub(first.Due))
		}
		if second := issued[1]; !second.Due.Equal(issued[0].At.Add(time.Hour)) || second.At.Sub(second.Due) != 2*time.Second {
			t.Errorf("second: due %v, want an hour after the first (%v); late by %v, want 2s", second.Due, issued[0].At.Add(time.Hour), second.At.Sub(second.Due))
		}
	})
}
