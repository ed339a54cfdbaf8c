package probes

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Millis is d in fractional milliseconds, for Result.LatencyMS.
func Millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// FormatExpires is an expiry for Result.Expires: RFC 3339 in UTC, or "" for
// credentials that do not expire.
func FormatExpires(t time.Time, canExpire bool) string {
	if !canExpire || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ModuleVersion is the version of the Go module path linked into the running
// binary, or "" when the build carries no module information.
func ModuleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range info.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return ""
}

// Credential is what a Go probe's SDK returned: the access key id and the
// expiry it believes.
type Credential struct {
	AccessKeyID string
	Expires     time.Time
	CanExpire   bool
}

// Observe times one retrieval and fills a Result with its latency, the
// credential or the error, and the source: SourceFetch when fetches (the
// probe's count of the SDK's credential requests to IMDS) moved during the
// call, else SourceCache.
func Observe(fetches *atomic.Int64, get func() (Credential, error)) Result {
	before := fetches.Load()
	start := time.Now()
	c, err := get()
	res := Result{LatencyMS: Millis(time.Since(start)), Source: SourceCache}
	if fetches.Load() != before {
		res.Source = SourceFetch
	}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.AccessKeyID = c.AccessKeyID
	res.Expires = FormatExpires(c.Expires, c.CanExpire)
	return res
}
