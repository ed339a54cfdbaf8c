package main

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"testing"
)

// An instance's lazy logger writes what slog's own With would, with and
// without further attributes and groups.
func TestLazyAttrs_WritesWhatWithWrites(t *testing.T) {
	var want, got bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for _, h := range []struct {
		buf *bytes.Buffer
		log *slog.Logger
	}{
		{&want, slog.New(slog.NewTextHandler(&want, opts)).With("component", "imds").With("instance", "i-1")},
		{&got, instanceLogger(slog.New(slog.NewTextHandler(&got, opts)).With("component", "imds").Handler(), "i-1")},
	} {
		h.log.Warn("imds: hop limit not applied", "error", "x")
		h.log.With("a", 1).WithGroup("g").Info("grouped", "b", 2)
		h.log.Debug("not written")
	}
	if got.String() != want.String() {
		t.Errorf("lazy logger wrote\n%s\nwant\n%s", got.String(), want.String())
	}
}

// A fleet of several instances is built at the lower collector target and
// the target the process had comes back at "ready"; one instance gets its
// own target for good; a GOGC the user set leaves it alone.
func TestStartGC(t *testing.T) {
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(70)
	defer debug.SetGCPercent(before)
	current := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}

	ready := startGC(1)
	if got := current(); got != singleGCPercent {
		t.Fatalf("one instance: GC percent %d, want %d", got, singleGCPercent)
	}
	ready()
	if got := current(); got != singleGCPercent {
		t.Fatalf("one instance after ready: GC percent %d, want %d kept", got, singleGCPercent)
	}

	debug.SetGCPercent(70)
	ready = startGC(2)
	if got := current(); got != fleetGCPercent {
		t.Fatalf("building a fleet: GC percent %d, want %d", got, fleetGCPercent)
	}
	ready()
	if got := current(); got != 70 {
		t.Fatalf("after ready: GC percent %d, want 70 back", got)
	}
	debug.SetGCPercent(80)
	ready() // again: harmless
	if got := current(); got != 80 {
		t.Fatalf("a second ready changed the GC percent to %d", got)
	}

	t.Setenv("GOGC", "200")
	for _, n := range []int{1, 10} {
		ready = startGC(n)
		if got := current(); got != 80 {
			t.Fatalf("GOGC set, %d instances: GC percent %d, want 80 left alone", n, got)
		}
		ready()
		if got := current(); got != 80 {
			t.Fatalf("GOGC set, %d instances, after ready: GC percent %d, want 80 left alone", n, got)
		}
	}
}
