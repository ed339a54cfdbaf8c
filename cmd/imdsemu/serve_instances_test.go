package main

import (
	"bytes"
	"log/slog"
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
		{&got, slog.New(&lazyAttrs{parent: slog.New(slog.NewTextHandler(&got, opts)).With("component", "imds").Handler(),
			attrs: []slog.Attr{slog.String("instance", "i-1")}})},
	} {
		h.log.Warn("imds: hop limit not applied", "error", "x")
		h.log.With("a", 1).WithGroup("g").Info("grouped", "b", 2)
		h.log.Debug("not written")
	}
	if got.String() != want.String() {
		t.Errorf("lazy logger wrote\n%s\nwant\n%s", got.String(), want.String())
	}
}
