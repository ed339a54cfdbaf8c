package imds_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/imds"
)

// benchWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the server rather than httptest.ResponseRecorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

func (w *benchWriter) reset() {
	clear(w.h)
	w.code = 0
}

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	w := &benchWriter{h: http.Header{}}
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
	if w.code != http.StatusOK {
		b.Fatalf("%s %s = %d, want 200", r.Method, r.URL.Path, w.code)
	}
}

// BenchmarkCredentialsGET is the credential path with a valid token: token
// verification, one Current call and the JSON render.
func BenchmarkCredentialsGET(b *testing.B) {
	for _, metrics := range []bool{false, true} {
		name := "handler"
		if metrics {
			name = "handler+metrics"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, func(o *imds.Options) {
				o.HTTPTokens = imds.ModeRequired
				if metrics {
					o.Registerer = prometheus.NewRegistry()
				}
			})
			r := httptest.NewRequest("GET", "/latest/meta-data/iam/security-credentials/"+testRole, nil)
			r.Header.Set(hdrToken, f.token(b, "21600"))
			benchServe(b, f.srv, r)
		})
	}
	b.Run("throttle-on", func(b *testing.B) {
		// A limit high enough never to refuse: the cost of the bucket.
		f := newFixture(b, func(o *imds.Options) {
			o.HTTPTokens = imds.ModeRequired
			o.Throttle = imds.Throttle{RPS: 1e9, Burst: 1 << 30}
		})
		r := httptest.NewRequest("GET", "/latest/meta-data/iam/security-credentials/"+testRole, nil)
		r.Header.Set(hdrToken, f.token(b, "21600"))
		benchServe(b, f.srv, r)
	})
	b.Run("parallel", func(b *testing.B) {
		f := newFixture(b, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
		tok := f.token(b, "21600")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := httptest.NewRequest("GET", "/latest/meta-data/iam/security-credentials/"+testRole, nil)
			r.Header.Set(hdrToken, tok)
			w := &benchWriter{h: http.Header{}}
			for pb.Next() {
				w.reset()
				f.srv.ServeHTTP(w, r)
			}
		})
	})
	b.Run("loopback", func(b *testing.B) {
		f := newFixture(b, func(o *imds.Options) { o.HTTPTokens = imds.ModeRequired })
		ts := httptest.NewServer(f.srv)
		defer ts.Close()
		client := ts.Client()
		defer client.CloseIdleConnections()
		req, err := http.NewRequest("GET", ts.URL+"/latest/meta-data/iam/security-credentials/"+testRole, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set(hdrToken, f.token(b, "21600"))
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkTokenPUT issues tokens with crypto/rand nonces.
func BenchmarkTokenPUT(b *testing.B) {
	f := newFixture(b, nil)
	r := httptest.NewRequest("PUT", "/latest/api/token", nil)
	r.Header.Set(hdrTTL, "21600")
	benchServe(b, f.srv, r)
}

// BenchmarkMetadataGET is a static leaf without a token (IMDSv1), for
// comparison with the credential path.
func BenchmarkMetadataGET(b *testing.B) {
	f := newFixture(b, nil)
	r := httptest.NewRequest("GET", "/latest/meta-data/instance-id", nil)
	benchServe(b, f.srv, r)
}

// BenchmarkNew is what one Server costs to make (B/op includes what is
// garbage once New returns): what each instance of a multi-instance
// process pays in memory, with the route table they share.
func BenchmarkNew(b *testing.B) {
	src := &source{}
	a := testAttachment()
	src.set(&a)
	routes := imds.NewRoutes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := imds.New(imds.Options{Credentials: src, TokenKey: testKey, Routes: routes}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerRetained reports the heap each Server keeps once made
// (retained-B/server): what a multi-instance process holds per instance in
// the metadata server while the instance has not been asked anything.
func BenchmarkServerRetained(b *testing.B) {
	src := &source{}
	a := testAttachment()
	src.set(&a)
	routes := imds.NewRoutes()
	var keep []*imds.Server
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for b.Loop() {
		s, err := imds.New(imds.Options{Credentials: src, TokenKey: testKey, Routes: routes})
		if err != nil {
			b.Fatal(err)
		}
		keep = append(keep, s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(keep)), "retained-B/server")
	runtime.KeepAlive(keep)
}

// BenchmarkCredentialsGET_ManyServers is the credential GET with a valid
// token, each request to the next of n servers (own instance id, own
// credentials; one route table, token key and metrics, as serve makes
// them): with 10,000 each request finds its server's memory cold, as a
// multi-instance process's requests do. Compare servers=10000 with
// servers=1 in one run. Each server has served once before the timing
// starts.
func BenchmarkCredentialsGET_ManyServers(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			routes := imds.NewRoutes()
			metrics, err := imds.NewMetrics(prometheus.NewRegistry(), "instance_id")
			if err != nil {
				b.Fatal(err)
			}
			servers := make([]*imds.Server, n)
			reqs := make([]*http.Request, n)
			for i := range servers {
				a := testAttachment()
				a.Credentials.AccessKeyID = fmt.Sprintf("ASIAEXAMPLE%09d", i)
				a.Credentials.SecretAccessKey = strings.Repeat("s", 30) + a.Credentials.AccessKeyID[10:]
				a.Credentials.SessionToken = strings.Repeat("t", 300) + a.Credentials.AccessKeyID
				src := &source{}
				src.set(&a)
				s, err := imds.New(imds.Options{
					Credentials: src, TokenKey: testKey, HTTPTokens: imds.ModeRequired,
					Instance: imds.Instance{ID: fmt.Sprintf("i-%017x", i+1)},
					Routes:   routes, Metrics: metrics,
				})
				if err != nil {
					b.Fatal(err)
				}
				w := serve(b, s, "PUT", "/latest/api/token", hdrTTL, "21600")
				r := httptest.NewRequest("GET", "/latest/meta-data/iam/security-credentials/"+testRole, nil)
				r.Header.Set(hdrToken, w.Body.String())
				servers[i], reqs[i] = s, r
			}
			w := &benchWriter{h: http.Header{}}
			for i, s := range servers { // each server's first request renders its document, makes its series
				w.reset()
				s.ServeHTTP(w, reqs[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w.reset()
				servers[i].ServeHTTP(w, reqs[i])
				if i++; i == n {
					i = 0
				}
			}
			if w.code != http.StatusOK {
				b.Fatalf("GET = %d, want 200", w.code)
			}
		})
	}
}
