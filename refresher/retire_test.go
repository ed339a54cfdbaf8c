package refresher

import (
	"slices"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/credential"
)

// retire drops the superseded generations that expired, oldest first, up
// to the oldest still valid (one that expired after a newer one stays
// until the older ones are gone, as when they were kept in a slice).
func TestRetire_OldestFirst(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	gen := func(seq uint64, expires time.Duration) *Generation {
		return &Generation{Seq: seq, Credentials: credential.Value{Expires: t0.Add(expires)}}
	}
	s, err := New(Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e := &entry{}
	for _, g := range []*Generation{gen(1, time.Minute), gen(2, 3*time.Minute), gen(3, 2*time.Minute), gen(4, 4*time.Minute)} {
		e.old = &older{g: g, next: e.old} // superseded in turn, newest first
	}
	seqs := func(gs []*Generation) (out []uint64) {
		for _, g := range gs {
			out = append(out, g.Seq)
		}
		return out
	}
	kept := func() (out []uint64) {
		for o := e.old; o != nil; o = o.next {
			out = append(out, o.g.Seq)
		}
		return out
	}
	steps := []struct {
		at         time.Duration
		gone, kept []uint64
	}{
		{30 * time.Second, nil, []uint64{4, 3, 2, 1}},
		{150 * time.Second, []uint64{1}, []uint64{4, 3, 2}}, // 3 expired too, but 2 is still valid
		{200 * time.Second, []uint64{2, 3}, []uint64{4}},
		{300 * time.Second, []uint64{4}, nil},
	}
	for _, st := range steps {
		gone := s.retire(e, t0.Add(st.at), nil)
		if !slices.Equal(seqs(gone), st.gone) || !slices.Equal(kept(), st.kept) {
			t.Errorf("at +%v: retired %v, kept %v; want %v, %v", st.at, seqs(gone), kept(), st.gone, st.kept)
		}
	}
}
