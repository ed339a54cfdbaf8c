package refresher

import (
	"testing"
	"testing/synctest"
	"time"
)

// A Handle follows its entry's generations without a lookup, and reports
// the entry gone once its key is removed, even after the key is added
// again (a new entry, which a new Handle reaches).
func TestScheduler_Handle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := &fakeIssuer{}
		s, stop := start(t, Options{})
		defer stop()
		if _, ok := s.Handle("aaaa").Current(); ok {
			t.Error("Handle of an unknown key: ok")
		}
		if _, ok := (Handle{}).Current(); ok {
			t.Error("zero Handle: ok")
		}
		s.Add("aaaa", iss)
		h := s.Handle("aaaa")
		if g, ok := h.Current(); !ok || g != nil {
			t.Errorf("before the first mint: Current = %v, %t; want nil, true", g, ok)
		}
		synctest.Wait()
		if g, ok := h.Current(); !ok || g == nil || g != s.Current("aaaa") || g.Seq != 1 {
			t.Fatalf("after the first mint: Current = %v, %t; want generation 1, true", g, ok)
		}
		if err := s.RotateNow("aaaa"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if g, ok := h.Current(); !ok || g.Seq != 2 {
			t.Fatalf("after RotateNow: Current = %v, %t; want generation 2, true", g, ok)
		}
		s.Remove("aaaa")
		if g, ok := h.Current(); ok || g != nil {
			t.Errorf("after Remove: Current = %v, %t; want nil, false", g, ok)
		}
		s.Add("aaaa", iss)
		time.Sleep(time.Second)
		synctest.Wait()
		if _, ok := h.Current(); ok {
			t.Error("the old Handle after the key was added again: ok")
		}
		if g, ok := s.Handle("aaaa").Current(); !ok || g == nil || g.Seq != 1 {
			t.Errorf("a new Handle: Current = %v, %t; want generation 1 of the new entry, true", g, ok)
		}
	})
}
