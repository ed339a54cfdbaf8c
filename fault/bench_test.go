package fault

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// nopWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the middleware rather than the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

func benchHandler(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, rolePath, nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkHandler_Bare is the metadata handler alone, for comparison.
func BenchmarkHandler_Bare(b *testing.B) { benchHandler(b, okHandler) }

// BenchmarkHandler_NoRules is the cost of an idle Injector: one atomic load.
func BenchmarkHandler_NoRules(b *testing.B) {
	in, _ := New(Options{})
	defer in.Close()
	benchHandler(b, in.Handler(okHandler))
}

// BenchmarkHandler_OneOtherRule has one active rule that does not match.
func BenchmarkHandler_OneOtherRule(b *testing.B) {
	in, _ := New(Options{})
	defer in.Close()
	in.Add(Rule{Action: ActionStatus, Status: 500, Path: "/latest/api/token"})
	benchHandler(b, in.Handler(okHandler))
}

// BenchmarkNoTokenCounter is an IMDSv1 GET counted for its client: the
// cost the counter adds to every tokenless request.
func BenchmarkNoTokenCounter(b *testing.B) {
	c, err := NewNoTokenCounter(okHandler, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	benchHandler(b, c)
}
