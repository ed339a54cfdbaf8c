package sizeclass

import "testing"

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

// An object fits its class up to its last byte; above 512 bytes the header
// counts.
func TestFits(t *testing.T) {
	for _, tc := range []struct {
		size, class uintptr
		fits        bool
	}{
		{224, 224, true}, {225, 224, false}, {512, 512, true},
		{888, 896, true}, {889, 896, false}, {896, 896, false},
	} {
		r := &recorder{TB: t}
		Fits(r, "x", tc.size, tc.class)
		if r.failed == tc.fits {
			t.Errorf("Fits(%d, class %d) failed %t, want %t", tc.size, tc.class, r.failed, !tc.fits)
		}
	}
}
