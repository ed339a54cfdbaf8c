package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The AWS SDK for JavaScript v3 from npm, unmodified, against the emulator.
// e2e/js holds package.json and package-lock.json (exact versions) and the
// scripts; `npm ci --prefix e2e/js` installs the SDK into e2e/js/node_modules.
// Each script prints one JSON line; secrets never leave the node process.

// jsDir is e2e/js, relative to this package's directory.
const jsDir = "js"

// requireJS returns the path of node once the SDK is installed: missing
// node or node_modules fails the test in CI and skips it elsewhere.
func requireJS(t *testing.T) string {
	t.Helper()
	node := lookTool(t, "node")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@aws-sdk", "credential-providers")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("e2e/js/node_modules is missing; .ci/run should have run npm ci --prefix e2e/js")
		}
		t.Skip("the JavaScript SDK is not installed (npm ci --prefix e2e/js)")
	}
	return node
}

// jsCall is one credential call of creds.mjs.
type jsCall struct {
	Key                string
	Secret, Token      bool
	Expiration         string
	OriginalExpiration string `json:"original_expiration"`
	Source             []string
	Error              string
}

// jsCreds is what creds.mjs prints: every call, and what the SDK logged at
// warn or error level.
type jsCreds struct {
	Provider string
	Calls    []jsCall
	Warnings []string
}

// expires parses a call's expiration.
func (c jsCall) expires(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		t.Fatalf("expiration %q: %v", c.Expiration, err)
	}
	return at
}

// runJS runs `node SCRIPT ARGS...` in e2e/js with env. When the script
// pauses between calls (creds.mjs --pause: "paused N" on fd 3), between(N)
// runs before it is let go on (a line on stdin). It returns stdout.
func runJS(t *testing.T, node string, env []string, between func(step int), args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	waited := false
	defer func() {
		if !waited { // a failure in between: stop node
			cancel()
			_ = cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var step int
		if _, err := fmt.Sscanf(sc.Text(), "paused %d", &step); err != nil {
			t.Fatalf("node %s: unexpected line on fd 3: %q", args[0], sc.Text())
		}
		if between != nil {
			between(step)
		}
		if _, err := io.WriteString(stdin, "go\n"); err != nil {
			t.Fatalf("resuming node: %v", err)
		}
	}
	err = cmd.Wait()
	waited = true
	if err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// jsCredentials runs creds.mjs PROVIDER CALLS (with --pause when between
// is set) and decodes its line.
func jsCredentials(t *testing.T, node string, env []string, provider string, calls int, between func(step int)) jsCreds {
	t.Helper()
	args := []string{"creds.mjs", provider, fmt.Sprint(calls)}
	if between != nil {
		args = append(args, "--pause")
	}
	out := runJS(t, node, env, between, args...)
	var got jsCreds
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("creds.mjs output %q: %v", out, err)
	}
	if len(got.Calls) != calls {
		t.Fatalf("creds.mjs made %d calls, want %d", len(got.Calls), calls)
	}
	return got
}

// imdsEnv is a clean environment whose only credential source is the
// emulator's metadata service.
func imdsEnv(t *testing.T, e *emulator) []string {
	return cleanEnv(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.endpoint)
}

// within reports whether at lies in [lo, hi].
func within(at, lo, hi time.Time) bool { return !at.Before(lo) && !at.After(hi) }

// TestJSSDK_DefaultChain: fromNodeProviderChain() gets the served
// credentials over IMDSv2 (one token PUT, no token-less request) in both
// http-tokens modes, from the legacy path (never iam/security-credentials-
// extended/), and a second call is answered from its cache.
func TestJSSDK_DefaultChain(t *testing.T) {
	node := requireJS(t)
	for _, mode := range []string{"optional", "required"} {
		t.Run(mode, func(t *testing.T) {
			e := startEmulator(t, "--http-tokens", mode)
			got := jsCredentials(t, node, imdsEnv(t, e), "chain", 2, nil)
			if n := e.metric(t, "imdsemu_imds_tokens_issued_total"); n != 1 {
				t.Errorf("tokens issued = %v, want 1", n)
			}
			if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n != 0 {
				t.Errorf("token-less requests = %v, want 0", n)
			}
			g := e.generations(t)[0]
			if g.Served != 1 || len(g.Clients) != 1 || g.Clients[0].Versions["v2"] != 1 {
				t.Errorf("generation: served %d, clients %+v; want one document over v2 (the second call from the cache)", g.Served, g.Clients)
			}
			if _, metrics := e.apiAt(t, e.admin, "GET", "/metrics", "", ""); strings.Contains(string(metrics), "security-credentials-extended") {
				t.Error("the JS SDK asked for iam/security-credentials-extended/")
			}
			want := servedKeyID(t, e)
			for i, c := range got.Calls {
				if c.Error != "" || c.Key != want || !c.Secret || !c.Token {
					t.Errorf("call %d: key %q, secret %t, token %t, error %q; want the served %s", i+1, c.Key, c.Secret, c.Token, c.Error, want)
				}
				if !c.expires(t).After(time.Now().Add(time.Hour)) {
					t.Errorf("call %d: expiration %s, want the served one (hours away)", i+1, c.Expiration)
				}
			}
			if len(got.Warnings) != 0 {
				t.Errorf("the SDK warned: %q", got.Warnings)
			}
		})
	}
}

// TestJSSDK_TokenForbiddenFallsBackToIMDSv1: a 403 on the token PUT makes
// the JS SDK fetch the credentials with token-less GETs. The @smithy
// provider remembers it (one PUT for two calls); the @aws-sdk/credential-
// providers wrapper builds a new provider per call and PUTs every time; the
// default chain caches the credentials, so it asks once.
func TestJSSDK_TokenForbiddenFallsBackToIMDSv1(t *testing.T) {
	node := requireJS(t)
	for _, tc := range []struct {
		provider            string
		refused, v1Requests float64
		documents           uint64
	}{
		{provider: "chain", refused: 1, v1Requests: 2, documents: 1},
		{provider: "imds", refused: 1, v1Requests: 4, documents: 2},
		{provider: "imds-wrapped", refused: 2, v1Requests: 4, documents: 2},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			e := startEmulator(t)
			e.addFault(t, `{"action":"status","status":403,"path":"/latest/api/token","method":"PUT"}`)
			got := jsCredentials(t, node, imdsEnv(t, e), tc.provider, 2, nil)
			if n := e.metric(t, `imdsemu_faults_fired_total{action="status"}`); n != tc.refused {
				t.Errorf("token PUTs refused = %v, want %v", n, tc.refused)
			}
			if n := e.metric(t, `imdsemu_imds_no_token_requests_total{client="127.0.0.1"}`); n != tc.v1Requests {
				t.Errorf("token-less requests = %v, want %v (the role listing and the document per fetch)", n, tc.v1Requests)
			}
			if n := e.metric(t, "imdsemu_imds_tokens_issued_total"); n != 0 {
				t.Errorf("tokens issued = %v, want 0", n)
			}
			g := e.generations(t)[0]
			if len(g.Clients) != 1 || g.Clients[0].Versions["v1"] != tc.documents || g.Clients[0].Versions["v2"] != 0 {
				t.Errorf("generation clients %+v: want %d documents over v1, none over v2", g.Clients, tc.documents)
			}
			for i, c := range got.Calls {
				if c.Error != "" || c.Key != g.AccessKeyID || !c.Secret || !c.Token {
					t.Errorf("call %d: key %q, error %q; want %s", i+1, c.Key, c.Error, g.AccessKeyID)
				}
			}
		})
	}
}

// TestJSSDK_ExpiredDocumentExtended: served credentials that are already
// expired are used, with their expiration moved 5–10 minutes ahead and a
// warning logged (static stability). The default chain caches the extended
// credentials; the @smithy provider fetches and extends on every call.
func TestJSSDK_ExpiredDocumentExtended(t *testing.T) {
	node := requireJS(t)
	for _, tc := range []struct {
		provider  string
		documents int
	}{{"chain", 1}, {"imds", 2}} {
		t.Run(tc.provider, func(t *testing.T) {
			e := startEmulator(t)
			e.addFault(t, `{"action":"expired"}`)
			before := time.Now()
			got := jsCredentials(t, node, imdsEnv(t, e), tc.provider, 2, nil)
			after := time.Now()
			g := e.generations(t)[0]
			if tc.provider == "imds" && g.Served != uint64(tc.documents) {
				t.Errorf("documents served = %d, want %d", g.Served, tc.documents)
			}
			for i, c := range got.Calls {
				if c.Error != "" || c.Key != g.AccessKeyID || !c.Secret || !c.Token {
					t.Fatalf("call %d: key %q, error %q; want %s", i+1, c.Key, c.Error, g.AccessKeyID)
				}
				orig, err := time.Parse(time.RFC3339, c.OriginalExpiration)
				if err != nil || !orig.Before(before) {
					t.Errorf("call %d: original expiration %q, want the served one in the past", i+1, c.OriginalExpiration)
				}
				if exp := c.expires(t); !within(exp, before.Add(5*time.Minute-time.Second), after.Add(10*time.Minute)) {
					t.Errorf("call %d: expiration %s, want 5-10 minutes after the call", i+1, c.Expiration)
				}
			}
			if tc.provider == "chain" && got.Calls[1].Expiration != got.Calls[0].Expiration {
				t.Errorf("chain: second expiration %s, want the cached %s", got.Calls[1].Expiration, got.Calls[0].Expiration)
			}
			if len(got.Warnings) != tc.documents {
				t.Errorf("warnings %q: want one per fetch (%d)", got.Warnings, tc.documents)
			}
			for _, w := range got.Warnings {
				if !strings.HasPrefix(w, "Attempting credential expiration extension due to a credential service availability issue.") {
					t.Errorf("warning %q, want the expiration extension notice", w)
				}
			}
		})
	}
}

// outage starts a refuse fault and checks the metadata address refuses.
func outage(t *testing.T, e *emulator) {
	t.Helper()
	e.addFault(t, `{"action":"refuse"}`)
	addr := strings.TrimSuffix(strings.TrimPrefix(e.endpoint, "http://"), "/")
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial during the outage = %v, want ECONNREFUSED", err)
	}
}

// TestJSSDK_OutageAfterCaching: one node process gets credentials, then the
// metadata service goes away (connections refused) and it asks again. The
// default chain answers from its cache: same credentials, same expiration,
// nothing logged. The @smithy provider's fetch fails and it returns the
// credentials it had, expiration moved 5–10 minutes ahead, with warnings.
func TestJSSDK_OutageAfterCaching(t *testing.T) {
	node := requireJS(t)
	t.Run("chain", func(t *testing.T) {
		e := startEmulator(t)
		got := jsCredentials(t, node, imdsEnv(t, e), "chain", 2, func(int) { outage(t, e) })
		first, second := got.Calls[0], got.Calls[1]
		if first.Error != "" || second.Error != "" {
			t.Fatalf("errors: %q, %q", first.Error, second.Error)
		}
		if second.Key != first.Key || second.Expiration != first.Expiration || !second.Secret || !second.Token {
			t.Errorf("during the outage: %s expiring %s, want the cached %s expiring %s", second.Key, second.Expiration, first.Key, first.Expiration)
		}
		if len(got.Warnings) != 0 {
			t.Errorf("the chain warned: %q", got.Warnings)
		}
	})
	t.Run("imds", func(t *testing.T) {
		e := startEmulator(t)
		var before time.Time
		got := jsCredentials(t, node, imdsEnv(t, e), "imds", 2, func(int) { outage(t, e); before = time.Now() })
		after := time.Now()
		first, second := got.Calls[0], got.Calls[1]
		if first.Error != "" || second.Error != "" {
			t.Fatalf("errors: %q, %q", first.Error, second.Error)
		}
		if second.Key != first.Key || !second.Secret || !second.Token {
			t.Errorf("during the outage: key %s, want the earlier %s", second.Key, first.Key)
		}
		if exp := second.expires(t); !within(exp, before.Add(5*time.Minute-time.Second), after.Add(10*time.Minute)) {
			t.Errorf("during the outage: expiration %s, want 5-10 minutes ahead", second.Expiration)
		}
		if second.OriginalExpiration != first.Expiration {
			t.Errorf("original expiration %q, want the served %s", second.OriginalExpiration, first.Expiration)
		}
		if len(got.Warnings) != 2 || !strings.HasPrefix(got.Warnings[0], "Credential renew failed: ") ||
			!strings.Contains(got.Warnings[0], "Unable to connect to instance metadata service") ||
			!strings.HasPrefix(got.Warnings[1], "Attempting credential expiration extension") {
			t.Errorf("warnings %q: want the failed renewal, then the extension notice", got.Warnings)
		}
		if g := e.generations(t)[0]; g.Served != 1 {
			t.Errorf("documents served = %d, want 1", g.Served)
		}
	})
}

// TestJSSDK_ExpiringSoonRefreshedInBackground: the default chain treats
// credentials with less than 5 minutes left as expiring. The next call
// still returns them at once and starts a fetch in the background; the call
// after that has the fetched ones.
func TestJSSDK_ExpiringSoonRefreshedInBackground(t *testing.T) {
	node := requireJS(t)
	e := startEmulator(t)
	e.addFault(t, `{"action":"expiring","expires-in":"4m","times":1}`)
	before := time.Now()
	got := jsCredentials(t, node, imdsEnv(t, e), "chain", 3, func(step int) {
		if step != 2 {
			return
		}
		// The second call started a background fetch: wait for it.
		for deadline := time.Now().Add(20 * time.Second); e.generations(t)[0].Served < 2; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no background fetch: %d documents served", e.generations(t)[0].Served)
			}
		}
	})
	for i, c := range got.Calls {
		if c.Error != "" {
			t.Fatalf("call %d: %s", i+1, c.Error)
		}
	}
	if exp := got.Calls[0].expires(t); !within(exp, before, before.Add(5*time.Minute)) {
		t.Fatalf("first expiration %s, want about 4 minutes ahead", got.Calls[0].Expiration)
	}
	if got.Calls[1].Expiration != got.Calls[0].Expiration {
		t.Errorf("second call expires %s, want the cached %s", got.Calls[1].Expiration, got.Calls[0].Expiration)
	}
	if exp := got.Calls[2].expires(t); !exp.After(before.Add(time.Hour)) {
		t.Errorf("third call expires %s, want the refreshed (hours) expiry", got.Calls[2].Expiration)
	}
	if g := e.generations(t)[0]; g.Served != 2 {
		t.Errorf("documents served = %d, want 2", g.Served)
	}
}

// stsResult is what sts.mjs prints.
type stsResult struct {
	ARN, Account, Key, Error, Code string
	UserID                         string `json:"user_id"`
	Status                         int
}

// TestJSSDK_STSWithInstanceCredentials: STSClient signs GetCallerIdentity
// with the credentials the default chain got from IMDS and sends it to the
// emulator's STS, found through AWS_ENDPOINT_URL_STS or given as endpoint.
func TestJSSDK_STSWithInstanceCredentials(t *testing.T) {
	node := requireJS(t)
	e := startEmulator(t)
	url := e.stsURL(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"AWS_ENDPOINT_URL_STS", []string{"AWS_ENDPOINT_URL_STS=" + url}, nil},
		{"endpoint option", nil, []string{url}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := cleanEnv(t, append([]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + e.endpoint}, tc.env...)...)
			out := runJS(t, node, env, nil, append([]string{"sts.mjs"}, tc.args...)...)
			var got stsResult
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("sts.mjs output %q: %v", out, err)
			}
			if got.Error != "" {
				t.Fatalf("GetCallerIdentity: %s (%s, %d)", got.Error, got.Code, got.Status)
			}
			if want := "arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0"; got.ARN != want {
				t.Errorf("Arn = %q, want %q", got.ARN, want)
			}
			if got.Account != stsAccount || !strings.HasPrefix(got.UserID, "AROA") || !strings.HasSuffix(got.UserID, ":i-0123456789abcdef0") {
				t.Errorf("Account %q, UserId %q", got.Account, got.UserID)
			}
			if want := servedKeyID(t, e); got.Key != want {
				t.Errorf("signed with %q, want the served %q", got.Key, want)
			}
		})
	}
}

// TestJSSDK_ContainerCredentials: with AWS_CONTAINER_CREDENTIALS_FULL_URI
// and AWS_CONTAINER_AUTHORIZATION_TOKEN set, the default chain gets the
// role's credentials from the ECS endpoint through fromHttp; so does
// fromContainerMetadata. A wrong token gets no credentials: the chain's
// fromHttp tries 4 times (3 retries, 1 s apart), then fromContainerMetadata
// once, and the chain's error names neither.
func TestJSSDK_ContainerCredentials(t *testing.T) {
	node := requireJS(t)
	e := startEmulator(t, "--ecs-addr", "127.0.0.1:0")
	uri, token := ecsEndpoint(t, e)
	want := servedKeyID(t, e)
	for _, tc := range []struct {
		provider, token string
		source          []string
		err             string
		refused         float64 // 403 answers
	}{
		{provider: "chain", token: token, source: []string{"CREDENTIALS_HTTP"}},
		{provider: "container", token: token, source: []string{}},
		{provider: "chain", token: "not-the-token-0123456789", err: "CredentialsProviderError: Could not load credentials from any providers", refused: 5},
		{provider: "container", token: "not-the-token-0123456789", err: "ProviderError: Error response received from instance metadata service", refused: 1},
	} {
		name := tc.provider
		if tc.err != "" {
			name += " wrong token"
		}
		t.Run(name, func(t *testing.T) {
			env := cleanEnv(t, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+tc.token)
			const forbidden = `imdsemu_imds_requests_total{code="403",route="ecs",version="ecs"}`
			before, refusedBefore := e.generations(t)[0].Clients[0].Versions["ecs"], e.metric(t, forbidden)
			got := jsCredentials(t, node, env, tc.provider, 1, nil)
			if n := e.metric(t, forbidden) - refusedBefore; n != tc.refused {
				t.Errorf("403 answers = %v, want %v", n, tc.refused)
			}
			c := got.Calls[0]
			if tc.err != "" {
				if c.Error != tc.err || c.Key != "" {
					t.Errorf("error %q, key %q; want %q and no key", c.Error, c.Key, tc.err)
				}
				return
			}
			if c.Error != "" || c.Key != want || !c.Secret || !c.Token {
				t.Errorf("key %q, error %q; want %s", c.Key, c.Error, want)
			}
			if fmt.Sprint(c.Source) != fmt.Sprint(tc.source) {
				t.Errorf("credential source %q, want %q", c.Source, tc.source)
			}
			if n := e.generations(t)[0].Clients[0].Versions["ecs"]; n != before+1 {
				t.Errorf("ECS documents served %d → %d, want one more", before, n)
			}
		})
	}
}
