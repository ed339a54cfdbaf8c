package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestECS_RoleByPath: with several instances, the ECS endpoint serves each
// instance's role at /role/NAME, so each container names its role in
// AWS_CONTAINER_CREDENTIALS_FULL_URI; the Go SDK and boto3 container
// providers get that role's credentials. An instance can also own a
// metadata listener; the control API reaches each instance under
// /v1/instances/ID/.
func TestECS_RoleByPath(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "imdsemu.yaml")
	if err := os.WriteFile(cfg, []byte(`
roles: [{name: web}, {name: worker}]
instance-profiles: [{name: web, role: web}, {name: worker, role: worker}]
instances:
  - {id: i-0000000000000000a, profile: web, match: {listen: "127.0.0.1:0"}}
  - {id: i-0000000000000000b, profile: worker, match: {sources: [10.99.0.0/16]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", cfg, "--ecs-addr", "127.0.0.1:0")
	uri, token := ecsEndpoint(t, e)
	base := strings.TrimSuffix(uri, "/v2/credentials/imdsemu")

	get := func(path, auth string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	keys := map[string]string{}
	for _, role := range []string{"web", "worker"} {
		code, body := get("/role/"+role, token)
		var doc struct{ AccessKeyId, RoleArn string }
		if code != 200 || json.Unmarshal(body, &doc) != nil || !strings.HasSuffix(doc.RoleArn, ":role/"+role) {
			t.Fatalf("GET /role/%s = %d, role %q", role, code, doc.RoleArn)
		}
		keys[role] = doc.AccessKeyId

		creds, err := containerConfig(t, base+"/role/"+role, token).Credentials.Retrieve(context.Background())
		if err != nil || creds.Source != "CredentialsEndpointProvider" || creds.AccessKeyID != doc.AccessKeyId {
			t.Errorf("Go SDK with /role/%s = %s from %q (%v), want %s", role, creds.AccessKeyID, creds.Source, err, doc.AccessKeyId)
		}
		cmd := exec.Command(requireTool(t, "/usr/bin/python3"), "-c", `
import json, boto3
c = boto3.session.Session().get_credentials()
print(json.dumps({"method": c.method, "key": c.get_frozen_credentials().access_key}))`)
		cmd.Env = cleanEnv(t, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI="+base+"/role/"+role, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+token)
		out, err := cmd.Output()
		var got struct{ Method, Key string }
		if err != nil || json.Unmarshal(out, &got) != nil || got.Method != "container-role" || got.Key != doc.AccessKeyId {
			t.Errorf("boto3 with /role/%s = %q %q (%v), want container-role %s", role, got.Method, got.Key, err, doc.AccessKeyId)
		}
	}
	if keys["web"] == keys["worker"] {
		t.Error("both roles served the same key")
	}
	for _, tc := range []struct {
		path, auth string
		code       int
	}{
		{"/role/nope", token, 404},
		{"/role/nope", "", 401},
		{"/role/web", "wrong", 403},
		{"/v2/credentials/x", token, 404}, // no default instance
	} {
		if code, body := get(tc.path, tc.auth); code != tc.code || strings.Contains(string(body), token) {
			t.Errorf("GET %s (auth given: %t) = %d %s, want %d", tc.path, tc.auth != "", code, body, tc.code)
		}
	}

	// The loopback client matches no instance on the shared listener, but
	// instance a's own listener serves it.
	if code, _, _ := e.do(t, "GET", "/latest/meta-data/instance-id", nil); code != 404 {
		t.Errorf("unmatched client on the shared listener = %d, want 404", code)
	}
	var own string
	for _, line := range strings.Split(e.stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "imdsemu: instance i-0000000000000000a's own metadata listener on "); ok {
			own = v
		}
	}
	if own == "" {
		t.Fatalf("no own listener line:\n%s", e.stdout)
	}
	resp, err := http.Get(own + "/latest/meta-data/instance-id")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "i-0000000000000000a" {
		t.Errorf("own listener instance-id = %d %q", resp.StatusCode, body)
	}

	// Per-instance control API.
	code, out := e.api(t, "GET", "/v1/instances/i-0000000000000000b/attachment", "")
	if code != 200 || !strings.Contains(string(out), `"role": "worker"`) {
		t.Errorf("GET /v1/instances/i-…b/attachment = %d %s", code, out)
	}
	if code, _ := e.api(t, "GET", "/v1/instances/i-0000000000000000f/attachment", ""); code != 404 {
		t.Errorf("unknown instance = %d, want 404", code)
	}
}

// TestInstances_AddChangeRemoveAtRuntime: `imdsemu instance add|set-sources|rm`
// change which instance (and role) a client gets, without a restart; the
// real Go SDK default chain follows.
func TestInstances_AddChangeRemoveAtRuntime(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "imdsemu.yaml")
	if err := os.WriteFile(cfg, []byte(`
roles: [{name: web}, {name: batch}]
instance-profiles: [{name: web, role: web}, {name: batch, role: batch}]
instance: {id: i-0000000000000000a, profile: web}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--config", cfg)
	roleOf := func() (string, string) {
		t.Helper()
		_, _, role := e.do(t, "GET", "/latest/meta-data/iam/security-credentials/", nil)
		_, _, id := e.do(t, "GET", "/latest/meta-data/instance-id", nil)
		return role, id
	}
	sdkKey := func() string {
		t.Helper()
		creds, err := sdkConfig(t, e.endpoint).Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("Go SDK: %v", err)
		}
		return creds.AccessKeyID
	}
	if role, id := roleOf(); role != "web" || id != "i-0000000000000000a" {
		t.Fatalf("before: %s %s, want web on i-…a", role, id)
	}
	webKey := sdkKey()

	// Add an instance serving this (loopback) client.
	if out, err := e.cli(t, "instance", "add", "i-0000000000000000d", "--profile", "batch", "--source", "127.0.0.1", "--tag", "app=batch"); err != nil || !strings.Contains(out, "role batch, serves 127.0.0.1") {
		t.Fatalf("instance add: %v\n%s", err, out)
	}
	if role, id := roleOf(); role != "batch" || id != "i-0000000000000000d" {
		t.Errorf("after add: %s %s, want batch on i-…d", role, id)
	}
	// Its credentials are minted at once; the SDK may need a moment.
	var batchKey string
	for i := 0; i < 50 && (batchKey == "" || batchKey == webKey); i++ {
		code, _, body := e.do(t, "GET", "/latest/meta-data/iam/security-credentials/batch", nil)
		var doc struct{ AccessKeyId string }
		if code == 200 && json.Unmarshal([]byte(body), &doc) == nil {
			batchKey = doc.AccessKeyId
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := sdkKey(); got != batchKey || got == webKey {
		t.Errorf("Go SDK after add = %s, want the batch role's %s", got, batchKey)
	}
	out, err := e.cli(t, "instance", "list")
	if err != nil || !strings.Contains(out, "i-0000000000000000a") || !strings.Contains(out, "unmatched clients") || !strings.Contains(out, "i-0000000000000000d") {
		t.Errorf("instance list: %v\n%s", err, out)
	}
	// Errors: a taken profile, a taken source, the default instance.
	if _, err := e.cli(t, "instance", "add", "i-0000000000000000e", "--profile", "web", "--source", "10.0.0.1"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("adding a second instance with profile web: %v, want 409", err)
	}
	if _, err := e.cli(t, "instance", "add", "i-0000000000000000e", "--source", "127.0.0.1/32"); err == nil || !strings.Contains(err.Error(), "both serve 127.0.0.1/32") {
		t.Errorf("adding a second instance for 127.0.0.1: %v, want a conflict", err)
	}
	if _, err := e.cli(t, "instance", "add", "i-bad", "--source", "10.0.0.1"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("adding a bad id: %v, want 400", err)
	}
	if _, err := e.cli(t, "instance", "rm", "i-0000000000000000a"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("removing the default instance: %v, want 409", err)
	}

	// Move it elsewhere: this client is the default instance's again.
	if _, err := e.cli(t, "instance", "set-sources", "i-0000000000000000d", "--source", "10.1.0.0/16"); err != nil {
		t.Fatal(err)
	}
	if role, id := roleOf(); role != "web" || id != "i-0000000000000000a" {
		t.Errorf("after set-sources: %s %s, want web on i-…a", role, id)
	}
	if _, err := e.cli(t, "instance", "rm", "i-0000000000000000d"); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.api(t, "GET", "/v1/instances/i-0000000000000000d", ""); code != 404 {
		t.Errorf("removed instance: %d, want 404", code)
	}
	if got := sdkKey(); got != webKey {
		t.Errorf("Go SDK after rm = %s, want web's %s", got, webKey)
	}
}
