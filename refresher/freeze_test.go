package refresher

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestScheduler_Freeze(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record, Interval: time.Hour, Lifetime: 2 * time.Hour})
		defer stop()
		s.Add("frozen-profile", iss)
		s.Add("other-profile", iss)
		synctest.Wait()
		if err := s.Freeze("frozen-profile", true); err != nil {
			t.Fatal(err)
		}
		if !s.Frozen("frozen-profile") || s.Frozen("other-profile") {
			t.Fatalf("Frozen = %v, %v; want true, false", s.Frozen("frozen-profile"), s.Frozen("other-profile"))
		}
		if err := s.RotateNow("frozen-profile"); !errors.Is(err, ErrFrozen) {
			t.Errorf("RotateNow(frozen) = %v, want ErrFrozen", err)
		}

		// Three hours on: the other profile rotated, the frozen one kept
		// generation 1, now expired, and minted nothing.
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		g := s.Current("frozen-profile")
		if g == nil || g.Seq != 1 {
			t.Fatalf("frozen Current = %+v, want generation 1", g)
		}
		if g.Credentials.Expires.After(time.Now()) {
			t.Errorf("frozen generation expires %v, want it past (now %v)", g.Credentials.Expires, time.Now())
		}
		if o := s.Current("other-profile"); o.Seq < 3 {
			t.Errorf("other profile seq = %d, want rotation to go on", o.Seq)
		}
		iss.mu.Lock()
		calls := iss.calls
		iss.mu.Unlock()

		// Unfreezing mints at once: the next generation was long due.
		if err := s.Freeze("frozen-profile", false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if g := s.Current("frozen-profile"); g.Seq != 2 {
			t.Errorf("seq after unfreeze = %d, want 2", g.Seq)
		}
		iss.mu.Lock()
		if iss.calls != calls+1 {
			t.Errorf("issuer calls after unfreeze = %d, want %d", iss.calls, calls+1)
		}
		iss.mu.Unlock()
		if err := s.RotateNow("frozen-profile"); err != nil {
			t.Errorf("RotateNow after unfreeze = %v", err)
		}
	})
}

func TestScheduler_FreezeKeepsRetiringOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		rec := &recorder{}
		s, stop := start(t, Options{OnEvent: rec.record, Interval: time.Hour, Lifetime: 2 * time.Hour})
		defer stop()
		s.Add("p-one", iss)
		synctest.Wait()
		if err := s.RotateNow("p-one"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := s.Freeze("p-one", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*time.Hour + time.Second)
		synctest.Wait()
		gens := s.Generations("p-one")
		if len(gens) != 1 || gens[0].Seq != 2 {
			t.Errorf("Generations = %+v, want only 2: superseded 1 expires even while frozen", gens)
		}
		found := false
		for _, k := range rec.kinds() {
			found = found || k == "expired#1"
		}
		if !found {
			t.Errorf("events %v: no expired#1", rec.kinds())
		}
	})
}

func TestScheduler_FreezeUnknown(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Freeze("nope", true); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Freeze(unknown) = %v, want ErrUnknownKey", err)
	}
	if err := s.RotateNow("nope"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("RotateNow(unknown) = %v, want ErrUnknownKey", err)
	}
	if s.Frozen("nope") {
		t.Errorf("Frozen(unknown) = true")
	}
}
