package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// canonicalQueryOracle is the canonical query as SigV4 defines it, the
// slow way: every parameter decoded, encoded again, and the pairs sorted.
func canonicalQueryOracle(v url.Values, presigned bool) string {
	var pairs []string
	for k, vs := range v {
		if presigned && k == qSignature {
			continue
		}
		for _, val := range vs {
			pairs = append(pairs, string(appendEscaped(nil, k, true))+"="+string(appendEscaped(nil, val, true)))
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		ki, vi, _ := strings.Cut(pairs[i], "=")
		kj, vj, _ := strings.Cut(pairs[j], "=")
		if ki != kj {
			return ki < kj
		}
		return vi < vj
	})
	return strings.Join(pairs, "&")
}

var querySeeds = []string{
	"",
	"Action=GetCallerIdentity&Version=2011-06-15",
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F20261130%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Security-Token=Fwo%2Bab%3D%3D&X-Amz-Signature=00",
	"b=%20x+y&a=%2F%7E~&a=1&c=",
	"a=%41&a=%2f&%41=1&a+b=c",
	"x&y=&=z&&",
	"a;b=1&c=2",
	"a=%zz&b=1",
	"a=%4",
	"k=%E2%82%AC&k=%e2%82%ac&X%2DAmz-Signature=1",
}

// FuzzQuery holds ParseQuery to url.ParseQuery (same acceptance, same
// error, same values) and the canonical query built from raw pairs to the
// one built by decoding and encoding every parameter.
func FuzzQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, werr := url.ParseQuery(raw)
		q, err := ParseQuery(raw)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("ParseQuery(%q) error %v, url.ParseQuery %v", raw, err, werr)
		}
		if err != nil {
			return
		}
		if got := q.Values(); !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("ParseQuery(%q) = %v, url.ParseQuery %v", raw, got, want)
		}
		for k, vs := range want {
			if v, ok := q.Lookup(k); !ok || v != vs[0] {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", k, v, ok, vs[0])
			}
			if got := rawGet(raw, k); got != vs[0] {
				t.Fatalf("rawGet(%q, %q) = %q, want %q", raw, k, got, vs[0])
			}
		}
		for _, presigned := range []bool{false, true} {
			got := string(appendCanonicalQuery(nil, q, presigned))
			if w := canonicalQueryOracle(want, presigned); got != w {
				t.Fatalf("canonical query of %q (presigned %v) = %q, want %q", raw, presigned, got, w)
			}
		}
	})
}

// TestHMACSum holds the stack HMAC to crypto/hmac, for keys shorter than,
// as long as and longer than SHA-256's block.
func TestHMACSum(t *testing.T) {
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, ml := range []int{0, 1, 55, 64, 150, 256, 300} {
			key := []byte(strings.Repeat("k", kl))
			msg := []byte(strings.Repeat("m", ml))
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			if got := hmacSum(key, msg); !hmac.Equal(got[:], m.Sum(nil)) {
				t.Errorf("hmacSum(key %d bytes, msg %d bytes) differs from crypto/hmac", kl, ml)
			}
		}
	}
}

// TestHeaderValues: the stack canonicalisation finds what Header.Values finds.
func TestHeaderValues(t *testing.T) {
	h := http.Header{}
	h.Add("X-Amz-Date", "1")
	h.Add("Content-Type", "a")
	h.Add("Content-Type", "b")
	h["x y"] = []string{"odd"}
	h.Add("X-Amz-Meta-9a", "c")
	for _, name := range []string{"x-amz-date", "content-type", "x y", "x-amz-meta-9a", "missing", "-a", strings.Repeat("a", 70)} {
		if got, want := headerValues(h, name), h.Values(name); !reflect.DeepEqual(got, want) {
			t.Errorf("headerValues(%q) = %q, want %q", name, got, want)
		}
	}
}
