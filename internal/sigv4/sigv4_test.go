package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var sigCreds = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

func hashHex(b string) string {
	sum := sha256.Sum256([]byte(b))
	return hex.EncodeToString(sum[:])
}

// verifyRequest runs the verifier as the server does.
func verifyRequest(r *http.Request, body string, now time.Time, secret string) *Error {
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &Error{Code: "BadQuery", Status: 400, Msg: err.Error()}
	}
	s, e := Parse(r, q)
	if e != nil {
		return e
	}
	if e := s.CheckScope(now, "sts"); e != nil {
		return e
	}
	return s.Verify(r, q, []byte(body), secret)
}

// serverSide turns a client request into what a server handler sees: Host
// moved out of the header, the URL reduced to path and query.
func serverSide(r *http.Request) *http.Request {
	out := r.Clone(context.Background())
	out.Host = r.URL.Host
	if r.Host != "" {
		out.Host = r.Host
	}
	out.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	out.RequestURI = r.URL.RequestURI()
	return out
}

// TestSigV4_SDKSignerIsTheOracle signs requests of many shapes with
// aws-sdk-go-v2's signer and checks the hand-written verifier accepts each,
// and refuses each once one signed byte changes.
func TestSigV4_SDKSignerIsTheOracle(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC)
	cases := []struct {
		name, method, url, body string
		header                  map[string][]string
		session                 bool
	}{
		{"Form POST", http.MethodPost, "http://127.0.0.1:1339/", "Action=GetCallerIdentity&Version=2011-06-15", nil, false},
		{"Session token", http.MethodPost, "http://127.0.0.1:1339/", "Action=GetCallerIdentity&Version=2011-06-15", nil, true},
		{"GET with query", http.MethodGet, "http://localhost:8080/?Action=GetCallerIdentity&Version=2011-06-15", "", nil, false},
		{"Query needing escapes", http.MethodGet, "http://127.0.0.1/?b=%20x+y&a=%2F%7E~&a=1&c=", "", nil, false},
		{"Path escapes", http.MethodPost, "http://127.0.0.1:1339/a%20b/c", "x=1", nil, false},
		{"Header spaces and repeats", http.MethodPost, "http://127.0.0.1:1339/", "Action=GetCallerIdentity", map[string][]string{
			"X-Amz-Meta": {"  a   b  ", "c"}, "Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"},
		}, false},
		{"Empty body POST", http.MethodPost, "http://[::1]:1339/", "", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			creds := sigCreds
			if tc.session {
				creds.AccessKeyID, creds.SessionToken = "ASIAIOSFODNN7EXAMPLE", "FwoGZXIvYXdzEXAMPLETOKEN"
			}
			r, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tc.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hashHex(tc.body), "sts", "eu-west-3", now); err != nil {
				t.Fatal(err)
			}
			sr := serverSide(r)
			if e := verifyRequest(sr, tc.body, now.Add(10*time.Minute), creds.SecretAccessKey); e != nil {
				t.Fatalf("verify(SDK-signed) = %v", e)
			}
			if tc.session {
				q, _ := ParseQuery(sr.URL.RawQuery)
				if s, _ := Parse(sr, q); s.token != creds.SessionToken {
					t.Errorf("parsed token differs from the signed one (%d bytes, want %d)", len(s.token), len(creds.SessionToken))
				}
			}
			if e := verifyRequest(sr, tc.body+"x", now, creds.SecretAccessKey); e == nil || e.Code != CodeSignatureDoesNotMatch {
				t.Errorf("verify(body changed) = %v, want SignatureDoesNotMatch", e)
			}
			other := sr.Clone(context.Background())
			other.Method = "PUT"
			if e := verifyRequest(other, tc.body, now, creds.SecretAccessKey); e == nil {
				t.Errorf("verify(method changed) = nil")
			}
			if e := verifyRequest(sr, tc.body, now, creds.SecretAccessKey[1:]+"x"); e == nil {
				t.Errorf("verify(wrong secret) = nil")
			}
		})
	}
}

func TestSigV4_PresignedByTheSDK(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC)
	for _, creds := range []aws.Credentials{sigCreds, {AccessKeyID: "ASIAX", SecretAccessKey: "s3cr3t", SessionToken: "tok/en+=="}} {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1339/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
		u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, hashHex(""), "sts", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		pr, _ := http.NewRequest(http.MethodGet, u, nil)
		for k, vs := range hdr {
			pr.Header[k] = vs
		}
		sr := serverSide(pr)
		if e := verifyRequest(sr, "", now.Add(30*time.Second), creds.SecretAccessKey); e != nil {
			t.Fatalf("verify(presigned) = %v", e)
		}
		if e := verifyRequest(sr, "", now.Add(61*time.Second), creds.SecretAccessKey); e == nil || !strings.Contains(e.Msg, "X-Amz-Expires") {
			t.Errorf("verify(presigned after X-Amz-Expires) = %v, want expired", e)
		}
		q, _ := ParseQuery(sr.URL.RawQuery)
		s, e := Parse(sr, q)
		if e != nil || !s.presigned || s.token != creds.SessionToken {
			t.Errorf("parse(presigned) = %+v, %v", s, e)
		}
	}
}

// TestSigV4_KnownVector checks the AWS documentation's example (IAM
// ListUsers, us-east-1, 20150830T123600Z) end to end.
func TestSigV4_KnownVector(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	sr := serverSide(r)
	q, _ := ParseQuery(sr.URL.RawQuery)
	s, e := Parse(sr, q)
	if e != nil {
		t.Fatal(e)
	}
	if e := s.Verify(sr, q, nil, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"); e != nil {
		t.Errorf("verify(AWS example) = %v", e)
	}
}

func TestSigV4_ScopeMessages(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC)
	s := Signature{scopeDate: "20261130", region: "us-east-1", service: "sts", terminator: "aws4_request",
		amzDate: "20261130T000000Z", t: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	e := s.CheckScope(now, "sts")
	want := "Signature expired: 20261130T000000Z is now earlier than 20261130T001500Z (20261130T003000Z - 15 min.)"
	if e == nil || e.Code != CodeSignatureDoesNotMatch || e.Msg != want {
		t.Errorf("checkScope(30 min old) = %v, want %q", e, want)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261130/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "20261130T000000Z")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=", "")
	f.Add("AWS4-HMAC-SHA256 ,,,=,", "x")
	f.Add("AWS AKID:sig", "20261130T000000Z")
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, auth, date string) {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		s, e := Parse(r, Query{})
		if e != nil {
			if e.Status != 400 || e.Code != CodeIncompleteSignature {
				t.Fatalf("parse error %v, want IncompleteSignature 400", e)
			}
			return
		}
		if !s.signs("host") || s.amzDate == "" {
			t.Fatalf("parsed %+v without host or date", s)
		}
		if e := s.CheckScope(now, "sts"); e == nil {
			// A made-up signature never verifies.
			if e := s.Verify(r, Query{}, nil, "secret"); e == nil {
				t.Fatalf("signature %q verified with a made-up secret", s.signature)
			}
		}
	})
}

func FuzzParsePresigned(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261130%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261130T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=60")
	f.Add("X-Amz-Algorithm=x")
	f.Add("X-Amz-Credential=a/b/c/d/e&X-Amz-Expires=-1")
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/?"+raw, nil)
		if r == nil {
			return
		}
		s, e := Parse(r, q)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("parse error %v, want 400", e)
			}
			return
		}
		if s.presigned && (s.expires < 0 || s.expires > maxPresignExpires) {
			t.Fatalf("expires %v out of range", s.expires)
		}
		_ = s.CheckScope(now, "sts")
		_ = s.Verify(r, q, nil, "secret")
	})
}

// TestScopeService reads the service of a request's credential scope, from
// the Authorization header or a presigned query, and CheckScope holds a
// request to the service it is checked for.
func TestScopeService(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC)
	for _, service := range []string{"iam", "sts"} {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1339/", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
		if err := v4.NewSigner().SignHTTP(context.Background(), sigCreds, r, hashHex("Action=ListUsers&Version=2010-05-08"), service, "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		sr := serverSide(r)
		if got := ScopeService(sr); got != service {
			t.Errorf("ScopeService(signed for %s) = %q", service, got)
		}
		s, e := Parse(sr, Query{})
		if e != nil {
			t.Fatal(e)
		}
		if e := s.CheckScope(now, service); e != nil {
			t.Errorf("CheckScope(%s) = %v", service, e)
		}
		other := map[string]string{"iam": "sts", "sts": "iam"}[service]
		if e := s.CheckScope(now, other); e == nil || e.Msg != "Credential should be scoped to correct service: '"+other+"'." {
			t.Errorf("CheckScope(%s) of a %s signature = %v", other, service, e)
		}
		p, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1339/?Action=ListUsers", nil)
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), sigCreds, p, hashHex(""), service, "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		pr, _ := http.NewRequest(http.MethodGet, u, nil)
		if got := ScopeService(serverSide(pr)); got != service {
			t.Errorf("ScopeService(presigned for %s) = %q", service, got)
		}
	}
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	for _, auth := range []string{"", "AWS4-HMAC-SHA256 Signature=x", "AWS4-HMAC-SHA256 Credential=a/b/c, Signature=x"} {
		r.Header.Set("Authorization", auth)
		if got := ScopeService(r); got != "" {
			t.Errorf("ScopeService(%q) = %q, want none", auth, got)
		}
	}
}
