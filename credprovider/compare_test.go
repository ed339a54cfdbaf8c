package credprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
)

// apiError has the ErrorCode method of the SDK's API errors.
type apiError struct{ code string }

func (e apiError) Error() string     { return "api error " + e.code + ": denied" }
func (e apiError) ErrorCode() string { return e.code }

// demoProviders are a static key and a role credential that rotates every
// 20 s, lives 60 s, and is denied from revokeAt on until the first key
// issued after it; the role provider fails to retrieve at failAt.
func demoProviders(start, revokeAt, failAt time.Time) ([]NamedProvider, func(context.Context, aws.Credentials) (string, error)) {
	static := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIASTATIC", SecretAccessKey: secretA, Source: ProfileSource}, nil
	})
	issued := func(n int) time.Time { return start.Add(time.Duration(n) * 20 * time.Second) }
	role := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		now := time.Now()
		if now.Equal(failAt) {
			return aws.Credentials{}, errors.New("credprovider: IMDS role list: connection refused")
		}
		n := int(now.Sub(start) / (20 * time.Second))
		return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIAGEN%d", n), SecretAccessKey: secretA, SessionToken: tokenA,
			CanExpire: true, Expires: issued(n).Add(time.Minute)}, nil
	})
	check := func(_ context.Context, c aws.Credentials) (string, error) {
		if c.SecretAccessKey != secretA {
			return "", errors.New("wrong secret")
		}
		if c.AccessKeyID == "AKIASTATIC" {
			return "arn:aws:iam::123456789012:user/demo", nil
		}
		var n int
		fmt.Sscanf(c.AccessKeyID, "ASIAGEN%d", &n)
		if !time.Now().Before(revokeAt) && issued(n).Before(revokeAt) {
			return "", apiError{"AccessDenied"}
		}
		return "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0", nil
	}
	return []NamedProvider{{"profile", static}, {"imds", role}}, check
}

func TestCompare_Demo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().UTC() // 2000-01-01 00:00:00 in the bubble
		providers, check := demoProviders(start, start.Add(25*time.Second), start.Add(60*time.Second))
		var streamed []Row
		rep, err := Compare(context.Background(), CompareOptions{
			Providers: providers,
			Duration:  time.Minute,
			Interval:  10 * time.Second,
			Check:     check,
			OnRow:     func(r Row) { streamed = append(streamed, r) },
			Now:       func() time.Time { return time.Now().UTC() },
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rep.Rows, streamed); diff != "" {
			t.Errorf("OnRow saw other rows than the report (-report +streamed):\n%s", diff)
		}
		var text bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		want := `TIME      PROVIDER  ACCESS KEY ID          EXPIRES                 CHECK
00:00:00  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:00  imds      ASIAGEN0               00:01:00 (in 1m0s)      arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0
00:00:10  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:10  imds      ASIAGEN0               00:01:00 (in 50s)       arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0
00:00:20  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:20  imds      ASIAGEN1*              00:01:20 (in 1m0s)      arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0
00:00:30  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:30  imds      ASIAGEN1               00:01:20 (in 50s)       FAIL AccessDenied
00:00:40  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:40  imds      ASIAGEN2*              00:01:40 (in 1m0s)      arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0
00:00:50  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:00:50  imds      ASIAGEN2               00:01:40 (in 50s)       arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0
00:01:00  profile   AKIASTATIC             never                   arn:aws:iam::123456789012:user/demo
00:01:00  imds      -                                              FAIL retrieve: credprovider: IMDS role list: connection refused

SUMMARY: 7 ticks every 10s over 1m0s
profile   1 key    7/7 ok
imds      3 keys   5/7 ok; failed: AccessDenied ×1, retrieve error ×1 (first at 00:00:30)
`
		if diff := cmp.Diff(want, text.String()); diff != "" {
			t.Errorf("text report (-want +got):\n%s", diff)
		}
		if strings.Contains(text.String(), secretA) || strings.Contains(text.String(), tokenA) {
			t.Error("the text report contains a secret")
		}

		js, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(js, []byte(secretA)) || bytes.Contains(js, []byte(tokenA)) {
			t.Error("the JSON report contains a secret")
		}
		var decoded struct {
			Rows    []map[string]any
			Summary []map[string]any
		}
		if err := json.Unmarshal(js, &decoded); err != nil {
			t.Fatal(err)
		}
		wantRow := map[string]any{"type": "row", "tick": 3.0, "at": "2000-01-01T00:00:30Z", "provider": "imds",
			"access_key_id": "ASIAGEN1", "expires": "2000-01-01T00:01:20Z", "ok": false, "stage": "check",
			"code": "AccessDenied", "error": "api error AccessDenied: denied"}
		if diff := cmp.Diff(wantRow, decoded.Rows[7]); diff != "" {
			t.Errorf("JSON row (-want +got):\n%s", diff)
		}
		wantStatic := map[string]any{"type": "row", "tick": 0.0, "at": "2000-01-01T00:00:00Z", "provider": "profile",
			"access_key_id": "AKIASTATIC", "expires": "never", "ok": true, "identity": "arn:aws:iam::123456789012:user/demo"}
		if diff := cmp.Diff(wantStatic, decoded.Rows[0]); diff != "" {
			t.Errorf("JSON static row (-want +got):\n%s", diff)
		}
		wantSummary := map[string]any{"type": "summary", "provider": "imds", "rows": 7.0, "succeeded": 5.0,
			"keys":          []any{"ASIAGEN0", "ASIAGEN1", "ASIAGEN2"},
			"failures":      map[string]any{"AccessDenied": 1.0, "retrieve error": 1.0},
			"first_failure": "2000-01-01T00:00:30Z", "last_ok": "2000-01-01T00:00:50Z"}
		if diff := cmp.Diff(wantSummary, decoded.Summary[1]); diff != "" {
			t.Errorf("JSON summary (-want +got):\n%s", diff)
		}
	})
}

func TestCompare_NoCheckAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		providers, _ := demoProviders(start, start.Add(time.Hour), start.Add(time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		rep, err := Compare(ctx, CompareOptions{
			Providers: providers,
			Duration:  time.Hour,
			Interval:  10 * time.Second,
			OnRow: func(r Row) {
				if r.Tick == 2 {
					cancel()
				}
			},
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Compare after cancel: %v, want context.Canceled", err)
		}
		if len(rep.Rows) != 6 {
			t.Errorf("%d rows, want the 6 of ticks 0..2", len(rep.Rows))
		}
		for _, r := range rep.Rows {
			if !r.OK || r.Identity != "" {
				t.Errorf("row %+v: want OK without identity when there is no Check", r)
			}
		}
	})
}

func TestCompare_DurationZeroIsOneTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		providers, _ := demoProviders(time.Now(), time.Now(), time.Now().Add(time.Hour))
		rep, err := Compare(context.Background(), CompareOptions{Providers: providers})
		if err != nil || len(rep.Rows) != 2 || rep.Interval != DefaultCompareInterval {
			t.Errorf("Compare = %d rows, interval %v, %v; want 2 rows, %v", len(rep.Rows), rep.Interval, err, DefaultCompareInterval)
		}
	})
}

func TestCompare_BadOptions(t *testing.T) {
	p := aws.AnonymousCredentials{}
	cases := map[string]struct {
		opts CompareOptions
		want string
	}{
		"no providers":      {CompareOptions{}, "no providers"},
		"negative":          {CompareOptions{Providers: []NamedProvider{{"a", p}}, Duration: -time.Second}, "Duration -1s: must not be negative"},
		"negative interval": {CompareOptions{Providers: []NamedProvider{{"a", p}}, Interval: -time.Second}, "Interval -1s: must be positive"},
		"no name":           {CompareOptions{Providers: []NamedProvider{{"", p}}}, "provider 0 has no name"},
		"twice":             {CompareOptions{Providers: []NamedProvider{{"a", p}, {"a", p}}}, `two providers named "a"`},
		"nil":               {CompareOptions{Providers: []NamedProvider{{"a", nil}}}, `provider "a" is nil`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Compare(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compare error %v, want %q", err, tc.want)
			}
		})
	}
}
