package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

const (
	// DefaultCacheTTL is how long fetched keys are used before they are
	// fetched again, when OIDCOptions.CacheTTL is zero.
	DefaultCacheTTL = time.Hour
	// fetchTimeout bounds one discovery + JWKS fetch.
	fetchTimeout = 10 * time.Second
	// maxDocumentBytes bounds a discovery document or a JWKS.
	maxDocumentBytes = 1 << 20
	// maxRedirects bounds the redirects followed in one fetch.
	maxRedirects = 5
)

// errNotLoopback marks a URL or address refused by the loopback rule.
var errNotLoopback = errors.New("only loopback addresses (127.0.0.0/8, ::1) and localhost may be contacted")

// checkFetchURL refuses any URL the verifier must not fetch: anything but
// http(s) to localhost or a loopback IP literal. It does no name resolution,
// so a refused URL never causes network traffic.
func checkFetchURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("refusing to fetch %q: the scheme must be http or https, and %w", redactUserinfo(u), errNotLoopback)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q: URLs with user information are not fetched", redactUserinfo(u))
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, fmt.Errorf("refusing to fetch %q: %w", u.Redacted(), errNotLoopback)
}

func redactUserinfo(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// loopbackControl is a net.Dialer Control that refuses to connect anywhere
// but a loopback address: the last line of defence after checkFetchURL, for
// "localhost" resolving elsewhere.
func loopbackControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: %w", address, errNotLoopback)
	}
	return nil
}

// defaultHTTPClient talks to loopback only and ignores proxy settings (a
// proxy would be a non-loopback hop).
func defaultHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackControl}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: fetchTimeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       time.Minute,
		},
		Timeout: fetchTimeout,
	}
}

// guardedClient returns a shallow copy of c whose redirects are subject to
// checkFetchURL as well.
func guardedClient(c *http.Client) *http.Client {
	g := *c
	prev := c.CheckRedirect
	g.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if _, err := checkFetchURL(req.URL.String()); err != nil {
			return err
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}
	return &g
}

// keyCache holds the key sets fetched through providers' discovery
// documents, keyed by the provider URL they were discovered from.
type keyCache struct {
	client *http.Client
	now    func() time.Time
	ttl    time.Duration

	group   singleflight.Group
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	keys    []jose.JSONWebKey
	fetched time.Time
}

// keys returns the key set of the provider at base (an issuer URL with a
// scheme). With force it fetches even when the cached set is fresh.
func (c *keyCache) keys(ctx context.Context, base string, force bool) ([]jose.JSONWebKey, error) {
	if !force {
		c.mu.Lock()
		e, ok := c.entries[base]
		c.mu.Unlock()
		if ok && c.now().Before(e.fetched.Add(c.ttl)) {
			return e.keys, nil
		}
	}
	v, err, _ := c.group.Do(base, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		keys, err := c.fetch(fctx, base)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.entries[base] = cacheEntry{keys: keys, fetched: c.now()}
		return keys, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]jose.JSONWebKey), nil
}

// fetch reads base/.well-known/openid-configuration, then its jwks_uri.
func (c *keyCache) fetch(ctx context.Context, base string) ([]jose.JSONWebKey, error) {
	discoveryURL := strings.TrimSuffix(base, "/") + "/.well-known/openid-configuration"
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.getJSON(ctx, discoveryURL, &disc); err != nil {
		return nil, err
	}
	if disc.JWKSURI == "" {
		return nil, newError(CodeIDPCommunication, "the discovery document at %s has no jwks_uri", discoveryURL)
	}
	var raw json.RawMessage
	if err := c.getJSON(ctx, disc.JWKSURI, &raw); err != nil {
		return nil, err
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return nil, newError(CodeIDPCommunication, "the JWKS at %s: %v", disc.JWKSURI, err)
	}
	return keys, nil
}

func (c *keyCache) getJSON(ctx context.Context, raw string, v any) error {
	u, err := checkFetchURL(raw)
	if err != nil {
		return newError(CodeIDPCommunication, "%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return newError(CodeIDPCommunication, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return newError(CodeIDPCommunication, "could not fetch %s from the identity provider: %v", u.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return newError(CodeIDPCommunication, "the identity provider answered %s for %s", resp.Status, u.Redacted())
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return newError(CodeIDPCommunication, "reading %s: %v", u.Redacted(), err)
	}
	if len(body) > maxDocumentBytes {
		return newError(CodeIDPCommunication, "%s is larger than %d bytes", u.Redacted(), maxDocumentBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return newError(CodeIDPCommunication, "%s is not valid JSON: %v", u.Redacted(), err)
	}
	return nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseJWKS reads a JWK Set, keeping the public signing keys it can use and
// skipping the rest (encryption keys, unknown key types), as relying parties
// do. A set with private key material is refused outright: publishing it is
// a mistake the operator must fix.
func parseJWKS(data []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var probe struct {
			D   *string `json:"d"`
			Use string  `json:"use"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			continue
		}
		if probe.D != nil {
			return nil, errors.New("it contains a private key; publish only public keys")
		}
		if probe.Use != "" && probe.Use != "sig" {
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || !k.IsPublic() {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("it holds no usable public signing key")
	}
	return keys, nil
}
