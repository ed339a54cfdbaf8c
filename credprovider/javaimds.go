package credprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// The Java SDKs' IMDS transport, shared by [JavaV1] and [JavaV2]: not the Go
// client's cached 300 s token, three attempts and sticky IMDSv1 fallback,
// but what the Java code does.
const (
	// javaTokenTTL is the x-aws-ec2-metadata-token-ttl-seconds of every
	// token PUT (Java v1 InstanceMetadataServiceResourceFetcher and Java v2
	// InstanceProfileCredentialsProvider DEFAULT_TOKEN_TTL = "21600").
	javaTokenTTL = "21600"

	// JavaV1ConnectTimeout and JavaV1ReadTimeout are Java v1's
	// ConnectionUtils.connectToEndpoint setConnectTimeout(1000 * 2) and
	// setReadTimeout(1000 * 5) (aws-java-sdk-core 1.11.x).
	JavaV1ConnectTimeout = 2 * time.Second
	JavaV1ReadTimeout    = 5 * time.Second

	// JavaV2Timeout is Java v2's connect and read timeout for IMDS, 1 s
	// (Ec2MetadataServiceTimeoutResolver; ConnectionUtilsComponentTest
	// expects 1000 ms).
	JavaV2Timeout = time.Second

	securityCredentialsPath = "/latest/meta-data/iam/security-credentials/"
	tokenPath               = "/latest/api/token"
	maxDocument             = 64 << 10 // a credential document is under 2 KiB
)

// HTTPDoer sends one HTTP request; *http.Client has it.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// NewJavaHTTPClient returns an HTTP client with Java's socket timeouts: a
// dial bounded by connect and a response whose headers must arrive within
// read. It follows no proxy, as Java's Proxy.NO_PROXY.
func NewJavaHTTPClient(connect, read time.Duration) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: connect}).DialContext,
		ResponseHeaderTimeout: read,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// IMDSStatusError is a non-200 answer of the metadata service.
type IMDSStatusError struct {
	Method, Path string
	Status       int
}

func (e *IMDSStatusError) Error() string {
	if e.Status == http.StatusNotFound {
		// Java's EC2ResourceFetcher message for a 404.
		return fmt.Sprintf("credprovider: the requested metadata is not found at %s", e.Path)
	}
	return fmt.Sprintf("credprovider: IMDS %s %s: HTTP %d", e.Method, e.Path, e.Status)
}

// tokenRule says what a failed token PUT means: fall back to IMDSv1 (true)
// or fail the fetch (false).
type tokenRule func(err error) bool

// javaV1TokenUnsupported is Java v1's InstanceMetadataServiceResourceFetcher
// isTokenUnsupported: an HTTP answer that is neither 400 nor 5xx (so 401,
// 403, 404, 405), or a socket timeout; a refused or reset connection
// fails the fetch.
func javaV1TokenUnsupported(err error) bool {
	var se *IMDSStatusError
	if errors.As(err, &se) {
		return se.Status != http.StatusBadRequest && (se.Status < 500 || se.Status > 599)
	}
	return isTimeout(err)
}

// javaV2TokenUnsupported is Java v2's InstanceProfileCredentialsProvider
// getToken: a 400 fails ("Unable to fetch metadata token."); every other
// failure, IO errors included, falls back to IMDSv1.
func javaV2TokenUnsupported(err error) bool {
	var se *IMDSStatusError
	return !errors.As(err, &se) || se.Status != http.StatusBadRequest
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// javaIMDS fetches credential documents as the Java SDKs do: no retries,
// a fresh token for every fetch (Java v2) or every request (Java v1).
type javaIMDS struct {
	base          string // endpoint without the trailing slash
	client        HTTPDoer
	unsupported   tokenRule
	tokenPerFetch bool // Java v2: one token for the listing and the document
}

func newJavaIMDS(endpoint string, getenv func(string) string, client HTTPDoer, rule tokenRule, perFetch bool) *javaIMDS {
	if getenv == nil {
		getenv = os.Getenv
	}
	if endpoint == "" {
		endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	}
	if endpoint == "" {
		endpoint = "http://169.254.169.254" // the SDKs' default; never used by imdsemu's tests
	}
	return &javaIMDS{base: strings.TrimRight(endpoint, "/"), client: client, unsupported: rule, tokenPerFetch: perFetch}
}

// do sends one request and returns the body of a 200.
func (t *javaIMDS) do(ctx context.Context, method, path string, header http.Header) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("credprovider: IMDS %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if resp.StatusCode != http.StatusOK {
		return "", &IMDSStatusError{Method: method, Path: path, Status: resp.StatusCode}
	}
	if err != nil {
		return "", fmt.Errorf("credprovider: IMDS %s %s: %w", method, path, err)
	}
	return string(body), nil
}

// token PUTs for a token; "" means IMDSv1 (the fallback).
func (t *javaIMDS) token(ctx context.Context) (string, error) {
	tok, err := t.do(ctx, http.MethodPut, tokenPath, http.Header{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": {javaTokenTTL}})
	if err == nil {
		return tok, nil
	}
	if t.unsupported(err) {
		return "", nil
	}
	return "", fmt.Errorf("credprovider: unable to fetch metadata token: %w", err)
}

func (t *javaIMDS) get(ctx context.Context, path, tok string) (string, error) {
	h := http.Header{}
	if tok != "" {
		h.Set("X-Aws-Ec2-Metadata-Token", tok)
	}
	return t.do(ctx, http.MethodGet, path, h)
}

// document is the credential document as Java reads it: AccessKeyId and
// SecretAccessKey required, Token and Expiration optional, Code unread.
type document struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      string
	AccountID       string `json:"AccountId"`
}

// errParse marks a document that arrived but could not be read: Java v1
// 1.11 keeps valid cached credentials for it (a Jackson exception is not an
// SdkClientException), while transport errors fail the call.
var errParse = errors.New("bad credential document")

// fetch GETs the role listing and the first role's document.
func (t *javaIMDS) fetch(ctx context.Context) (aws.Credentials, error) {
	tok, err := t.token(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	list, err := t.get(ctx, securityCredentialsPath, tok)
	if err != nil {
		return aws.Credentials{}, err
	}
	// Java: securityCredentialsList.trim().split("\n")[0].
	role, _, _ := strings.Cut(strings.TrimSpace(list), "\n")
	if role == "" {
		return aws.Credentials{}, errors.New("credprovider: unable to load credentials path: IMDS lists no role")
	}
	if !t.tokenPerFetch {
		if tok, err = t.token(ctx); err != nil {
			return aws.Credentials{}, err
		}
	}
	body, err := t.get(ctx, securityCredentialsPath+role, tok)
	if err != nil {
		return aws.Credentials{}, err
	}
	var doc document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return aws.Credentials{}, fmt.Errorf("credprovider: %w of role %s: %v", errParse, role, err)
	}
	if doc.AccessKeyID == "" || doc.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("credprovider: unable to load credentials of role %s: access key or secret key are null", role)
	}
	c := aws.Credentials{AccessKeyID: doc.AccessKeyID, SecretAccessKey: doc.SecretAccessKey, SessionToken: doc.Token, AccountID: doc.AccountID}
	if doc.Expiration != "" {
		// Java replaces a trailing "+0000" with "Z", then parses ISO 8601.
		exp, err := time.Parse(time.RFC3339, strings.TrimSuffix(doc.Expiration, "+0000")+suffixZ(doc.Expiration))
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("credprovider: %w of role %s: Expiration: %v", errParse, role, err)
		}
		c.CanExpire, c.Expires = true, exp
	}
	return c, nil
}

func suffixZ(s string) string {
	if strings.HasSuffix(s, "+0000") {
		return "Z"
	}
	return ""
}
