package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/imdsemu/imdsemu/credprovider"
)

// Lane kinds.
const (
	KindModel   = "model"   // a credprovider model of a Java SDK
	KindSDK     = "sdk"     // a real SDK in a probe process
	KindProfile = "profile" // the static key in a credentials file
	KindThief   = "thief"   // an exfiltrated copy, used from elsewhere
)

// Call is what one retrieve (and check) of a lane gave. It holds no secret.
type Call struct {
	AccessKeyID string
	Expires     time.Time // zero: never, or unknown
	Source      string    // cache, fetch, stale, unknown
	Blocked     bool
	Latency     time.Duration // of the retrieve
	Check       string        // "ok", an AWS error code, "error", or "" when not checked
	CheckError  string        // why, when Check is "error"
	Err         string        // the retrieve's error
}

// Lane is one column of the lab: a provider asked at every tick.
type Lane interface {
	Name() string
	Kind() string
	Version() string // the SDK or modelled release
	// Call retrieves credentials once and, when check is set, uses them
	// in a SigV4-signed STS GetCallerIdentity.
	Call(ctx context.Context, check bool) Call
	Close() error
}

// Checker uses credentials in an STS GetCallerIdentity at imdsemu's STS: a
// Query API POST signed by aws-sdk-go-v2's SigV4 signer. Like the SDK's
// standard retryer it tries again, up to three attempts with a short
// backoff, after a dropped connection or a 5xx answer, never after another
// error code. (The SDK's STS client, with its endpoint rules and schemas,
// was most of the AWS SDK linked into the binary, for this one call.)
type Checker struct {
	endpoint, region string
	client           *http.Client
	signer           *v4.Signer
}

// NewChecker returns a checker for the STS endpoint.
func NewChecker(endpoint, region string) *Checker {
	return &Checker{
		endpoint: strings.TrimSuffix(endpoint, "/") + "/",
		region:   region,
		client:   &http.Client{Timeout: checkTimeout},
		signer:   v4.NewSigner(),
	}
}

const (
	// checkBody is the GetCallerIdentity request.
	checkBody = "Action=GetCallerIdentity&Version=2011-06-15"
	// checkAttempts and checkBackoff are the retries: 100 ms, then 200 ms.
	checkAttempts = 3
	checkBackoff  = 100 * time.Millisecond
	// checkTimeout bounds one attempt.
	checkTimeout = 30 * time.Second
)

// Check returns "ok" or the AWS error code ("ExpiredToken", "AccessDenied",
// "InvalidClientTokenId", …), or "error" and why for a failure without one.
func (c *Checker) Check(ctx context.Context, creds aws.Credentials) (string, string) {
	var code string
	var err error
	for attempt := range checkAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "error", err.Error()
			case <-time.After(checkBackoff << (attempt - 1)):
			}
		}
		var retry bool
		code, retry, err = c.checkOnce(ctx, creds)
		if !retry || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return "error", err.Error()
	}
	return code, ""
}

// checkOnce sends the request once. It returns the answer's code ("ok" or
// the AWS error code), whether the request is worth another attempt, and
// an error for an answer without a code.
func (c *Checker) checkOnce(ctx context.Context, creds aws.Credentials) (code string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(checkBody))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(checkBody))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", c.region, time.Now()); err != nil {
		return "", false, fmt.Errorf("signing GetCallerIdentity: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", true, fmt.Errorf("GetCallerIdentity: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", true, fmt.Errorf("GetCallerIdentity: reading the answer: %w", err)
	}
	retry = resp.StatusCode >= 500
	if resp.StatusCode == http.StatusOK {
		return "ok", false, nil
	}
	var answer struct {
		Code string `xml:"Error>Code"`
	}
	if xml.Unmarshal(body, &answer) != nil || answer.Code == "" {
		return "", retry, fmt.Errorf("GetCallerIdentity: %s without an AWS error code", resp.Status)
	}
	return answer.Code, retry, nil
}

// modelLane runs a credprovider model in process.
type modelLane struct {
	name, kind, version string
	p                   credprovider.Observed
	close               func() error
	after               func() // after each call
	checker             *Checker
}

func (l *modelLane) Name() string    { return l.name }
func (l *modelLane) Kind() string    { return l.kind }
func (l *modelLane) Version() string { return l.version }
func (l *modelLane) Close() error {
	if l.close != nil {
		return l.close()
	}
	return nil
}

func (l *modelLane) Call(ctx context.Context, check bool) Call {
	start := time.Now()
	c, out, err := l.p.RetrieveOutcome(ctx)
	if l.after != nil {
		l.after()
	}
	call := Call{Latency: time.Since(start), Source: out.Source, Blocked: out.Blocked}
	if err != nil {
		call.Err = err.Error()
		return call
	}
	call.AccessKeyID = c.AccessKeyID
	if c.CanExpire {
		call.Expires = c.Expires
	}
	if check {
		call.Check, call.CheckError = l.checker.Check(ctx, c)
	}
	return call
}

// ModelNames are the model lanes, each with its releases (the first is
// the default).
var ModelNames = map[string][]string{
	"java-v1-sync":  javaV1Releases(),
	"java-v1-async": javaV1Releases(),
	"java-v2-sync":  javaV2Releases(),
	"java-v2-async": javaV2Releases(),
}

func javaV1Releases() []string {
	var out []string
	for _, r := range credprovider.JavaV1Releases {
		out = append(out, string(r))
	}
	return out
}

func javaV2Releases() []string {
	var out []string
	for _, r := range credprovider.JavaV2Releases {
		out = append(out, string(r))
	}
	return out
}

// newModelLane builds "java-v1-sync@1.11" and friends against endpoint.
func newModelLane(base, version, endpoint string, checker *Checker) (Lane, error) {
	rels := ModelNames[base]
	if version == "" {
		version = rels[0]
	}
	found := false
	for _, r := range rels {
		found = found || r == version
	}
	if !found {
		return nil, fmt.Errorf("lab: lane %s: no modelled release %q (have %s)", base, version, strings.Join(rels, ", "))
	}
	l := &modelLane{name: base + "@" + version, kind: KindModel, version: version, checker: checker}
	async := strings.HasSuffix(base, "-async")
	if strings.HasPrefix(base, "java-v1") {
		p := credprovider.NewJavaV1(func(o *credprovider.JavaV1Options) {
			o.Release, o.Async, o.Endpoint = credprovider.JavaV1Release(version), async, endpoint
		})
		l.p, l.close = p, p.Close
	} else {
		p := credprovider.NewJavaV2(func(o *credprovider.JavaV2Options) {
			o.Release, o.Async, o.Endpoint = credprovider.JavaV2Release(version), async, endpoint
		})
		l.p, l.close = p, p.Close
	}
	return l, nil
}

// newProfileLane reads the static key of profile in file, as Java v1's
// ProfileCredentialsProvider. Its first read is dated age ago (see
// Scenario.ProfileAge); every later clock reading is the real time.
func newProfileLane(file, profile string, age time.Duration, checker *Checker) Lane {
	var read atomic.Bool
	p := credprovider.NewProfile(func(o *credprovider.ProfileOptions) {
		o.Filename, o.Profile = file, profile
		o.Getenv = func(string) string { return "" }
		o.Now = func() time.Time {
			if read.Load() {
				return time.Now()
			}
			return time.Now().Add(-age)
		}
	})
	l := &modelLane{name: "profile", kind: KindProfile, version: "java-v1", p: p, checker: checker}
	l.after = func() { read.Store(true) }
	return l
}

// thiefLane uses a copy of credentials taken once, from elsewhere: it
// never refreshes.
type thiefLane struct {
	name    string
	steal   func(ctx context.Context) (aws.Credentials, error)
	checker *Checker

	mu     sync.Mutex
	stolen *aws.Credentials
}

func (l *thiefLane) Name() string    { return l.name }
func (l *thiefLane) Kind() string    { return KindThief }
func (l *thiefLane) Version() string { return "" }
func (l *thiefLane) Close() error    { return nil }

func (l *thiefLane) Call(ctx context.Context, check bool) Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	call := Call{Source: SourceCopy}
	if l.stolen == nil {
		start := time.Now()
		c, err := l.steal(ctx)
		call.Latency, call.Source = time.Since(start), "fetch"
		if err != nil {
			call.Err = "steal: " + err.Error()
			return call
		}
		l.stolen = &c
	}
	call.AccessKeyID = l.stolen.AccessKeyID
	if l.stolen.CanExpire {
		call.Expires = l.stolen.Expires
	}
	if check {
		call.Check, call.CheckError = l.checker.Check(ctx, *l.stolen)
	}
	return call
}

// SourceCopy is a thief's source: the copy it took.
const SourceCopy = "copy"

// stealFromIMDS reads the instance's credentials once through url, as an
// SSRF or a shell on the instance would: token PUT, role, document.
func stealFromIMDS(url string) func(context.Context) (aws.Credentials, error) {
	return func(ctx context.Context) (aws.Credentials, error) {
		client := &http.Client{Timeout: 10 * time.Second}
		get := func(method, path, tok string) (string, error) {
			req, err := http.NewRequestWithContext(ctx, method, url+path, nil)
			if err != nil {
				return "", err
			}
			if method == http.MethodPut {
				req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "60")
			} else if tok != "" {
				req.Header.Set("X-Aws-Ec2-Metadata-Token", tok)
			}
			resp, err := client.Do(req)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusOK {
				return "", fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
			}
			return string(b), nil
		}
		tok, _ := get(http.MethodPut, "latest/api/token", "")
		role, err := get(http.MethodGet, "latest/meta-data/iam/security-credentials/", tok)
		if err != nil {
			return aws.Credentials{}, err
		}
		role, _, _ = strings.Cut(strings.TrimSpace(role), "\n")
		doc, err := get(http.MethodGet, "latest/meta-data/iam/security-credentials/"+role, tok)
		if err != nil {
			return aws.Credentials{}, err
		}
		return parseDocument(doc)
	}
}

// parseDocument reads an IMDS credential document.
func parseDocument(doc string) (aws.Credentials, error) {
	var d struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      time.Time
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return aws.Credentials{}, fmt.Errorf("credential document: %v", err)
	}
	if d.AccessKeyID == "" || d.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("credential document without keys")
	}
	return aws.Credentials{AccessKeyID: d.AccessKeyID, SecretAccessKey: d.SecretAccessKey, SessionToken: d.Token,
		CanExpire: !d.Expiration.IsZero(), Expires: d.Expiration}, nil
}
