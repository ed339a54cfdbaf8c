package sts_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// BenchmarkGetCallerIdentityVerify measures one signed GetCallerIdentity
// through the whole server: body read, parameter decoding, SigV4 parse,
// canonical request, HMAC chain, session token open (AES-GCM + JSON) or
// access key lookup, revocation lookup, XML response. PresignedGET is what
// `make bench-sts` sends: the SDK's presigned URL (SigV4 and the session
// token in the query) replayed as a GET.
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
			benchServe(b, f, req, body)
		})
	}
	b.Run("PresignedGET", func(b *testing.B) {
		pre, err := awssts.NewPresignClient(f.client(f.instanceCreds(b, 6*time.Hour))).
			PresignGetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, pre.URL, nil)
		for k, vs := range pre.SignedHeader {
			req.Header[k] = vs
		}
		benchServe(b, f, req, nil)
	})
}

// benchServe sends req (with body) to the fixture's server b.N times.
func benchServe(b *testing.B, f *fixture, req *http.Request, body []byte) {
	rd := bytes.NewReader(body)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req.Body = http.NoBody // as net/http gives a request without one
		if body != nil {
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
		}
		w.code = 0
		clear(w.h)
		f.server.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
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
