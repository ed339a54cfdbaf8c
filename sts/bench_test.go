package sts_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// BenchmarkGetCallerIdentityVerify measures one signed GetCallerIdentity
// through the whole server: body read, parameter decoding, SigV4 parse,
// canonical request, HMAC chain, session token open (AES-GCM + JSON) or
// access key lookup, revocation lookup in SQLite, XML response.
func BenchmarkGetCallerIdentityVerify(b *testing.B) {
	f := newFixture(b)
	for _, bc := range []struct {
		name  string
		creds aws.Credentials
	}{
		{"InstanceProfileSession", f.instanceCreds(b, 6*time.Hour)},
		{"LongTermKey", longTerm(aliceKeyID, aliceSec)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tmpl := signed(b, "http://127.0.0.1:1339/", bc.creds, form("GetCallerIdentity"), f.clock.Now(), "us-east-1", "sts")
			body, _ := io.ReadAll(tmpl.Body)
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.Host = "127.0.0.1:1339"
			req.Header = tmpl.Header
			req.ContentLength = int64(len(body))
			rd := bytes.NewReader(body)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				w.code = 0
				clear(w.h)
				f.server.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// benchWriter is a ResponseWriter that keeps only the status.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
