package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// multiConfig declares three roles, each in its own instance profile, and
// three instances, each serving the clients of one source: an address, an
// IPv4 block and an IPv6 block. There is no default instance.
const multiConfig = `
roles: [{name: web}, {name: worker}, {name: batch}]
instance-profiles:
  - {name: web, role: web}
  - {name: worker, role: worker}
  - {name: batch, role: batch}
instances:
  - id: i-0000000000000000a
    profile: web
    match: {sources: [10.77.1.2]}
  - id: i-0000000000000000b
    profile: worker
    match: {sources: [10.77.2.0/24]}
  - id: i-0000000000000000c
    profile: batch
    match: {sources: ["fd77:3::/64"]}
`

// TestNetns_SeveralInstancesBySource serves three instances with three
// roles from one imdsemu, in a network namespace of its own, to four
// client namespaces joined to it by veth pairs:
//
//	client ns N: c0 10.77.N.2 (fd77:N::2) ── sN 10.77.N.1 (fd77:N::1) :server ns, imdsemu on [::]:1338
//
// The real Go SDK default chain and boto3 in clients 1-3 each get the
// credentials of their own instance's role; client 4, which no instance
// matches, gets none.
func TestNetns_SeveralInstancesBySource(t *testing.T) {
	server := netns(t, "ms")
	clients := make([]string, 4)
	for i := range clients {
		n := i + 1
		clients[i] = netns(t, fmt.Sprintf("mc%d", n))
		dev := fmt.Sprintf("s%d", n)
		ip(t, "-n", clients[i], "link", "add", "c0", "type", "veth", "peer", "name", dev, "netns", server)
		for _, a := range []struct{ ns, dev, v4, v6 string }{
			{clients[i], "c0", fmt.Sprintf("10.77.%d.2/24", n), fmt.Sprintf("fd77:%d::2/64", n)},
			{server, dev, fmt.Sprintf("10.77.%d.1/24", n), fmt.Sprintf("fd77:%d::1/64", n)},
		} {
			ip(t, "-n", a.ns, "addr", "add", a.v4, "dev", a.dev)
			ip(t, "-n", a.ns, "addr", "add", a.v6, "dev", a.dev, "nodad")
			ip(t, "-n", a.ns, "link", "set", a.dev, "up")
		}
	}
	cfg := filepath.Join(t.TempDir(), "imdsemu.yaml")
	if err := os.WriteFile(cfg, []byte(multiConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulatorIn(t, server, "[::]:1338", "--config", cfg, "--http-tokens", "required")
	if !strings.Contains(e.stdout.String(), "clients no instance matches get 404") {
		t.Errorf("banner does not say what unmatched clients get:\n%s", e.stdout)
	}

	endpoints := []string{"http://10.77.1.1:1338/", "http://10.77.2.1:1338/", "http://[fd77:3::1]:1338/", "http://10.77.4.1:1338/"}
	wantRoles := []string{"web", "worker", "batch"}
	keys := map[string]string{}
	for i, role := range wantRoles {
		ns, base := clients[i], endpoints[i]
		// What the instance's tree says, read with curl.
		if got := roleListIn(t, ns, base); got != role {
			t.Fatalf("client %d: iam/security-credentials/ lists %q, want %q", i+1, got, role)
		}
		want := servedKeyOfIn(t, ns, base, role)
		keys[want] = role

		r := goSDKIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base)
		if r.Error != "" || r.Source != "EC2RoleProvider" || r.AccessKeyID != want {
			t.Errorf("client %d: Go SDK default chain = %+v, want EC2RoleProvider with %s (role %s)", i+1, r, want, role)
		}
		if method, key := botoIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base); method != "iam-role" || key != want {
			t.Errorf("client %d: boto3 default chain = %q %q, want iam-role %s (role %s)", i+1, method, key, want, role)
		}
	}
	if len(keys) != 3 {
		t.Errorf("three instances served %d distinct keys, want 3", len(keys))
	}
	// A token is its instance's, as on EC2: the first client's token, sent
	// by the second client (whose instance it is not), gets 401.
	tok := tokenIn(t, clients[0], endpoints[0])
	if code, out := curlIn(t, clients[1], "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-aws-ec2-metadata-token: "+tok, endpoints[1]+"latest/meta-data/instance-id"); code != 0 || out != "401" {
		t.Errorf("another instance's token: curl exit %d, status %q, want 401", code, out)
	}

	// The fourth client matches no instance: 404 everywhere, so neither
	// SDK finds credentials (and never another instance's).
	ns, base := clients[3], endpoints[3]
	for _, path := range []string{"latest/meta-data/iam/security-credentials/web", "latest/meta-data/instance-id"} {
		if code, out := curlIn(t, ns, "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", base+path); code != 0 || out != "404" {
			t.Errorf("unmatched client GET %s: curl exit %d, status %q, want 404", path, code, out)
		}
	}
	r := goSDKIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base)
	if r.Error == "" || r.AccessKeyID != "" {
		t.Errorf("unmatched client: Go SDK default chain = %+v, want no credentials", r)
	}
	if method, key := botoIn(t, ns, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+base); method != "" || key != "" {
		t.Errorf("unmatched client: boto3 default chain = %q %q, want none", method, key)
	}

	// The control API lists the instances.
	code, out := curlIn(t, server, "-m", "5", "-H", "Authorization: Bearer "+adminToken(t, e.dataDir), e.admin+"/v1/instances")
	var list struct {
		Instances []struct{ ID, Role string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Instances) != 3 {
		t.Fatalf("GET /v1/instances: curl exit %d: %s", code, out)
	}
	for i, in := range list.Instances {
		if in.Role != wantRoles[i] {
			t.Errorf("/v1/instances[%d] = %+v, want role %s", i, in, wantRoles[i])
		}
	}
}

// roleListIn is the listing of iam/security-credentials/ inside ns, with
// an IMDSv2 token.
func roleListIn(t *testing.T, ns, base string) string {
	t.Helper()
	tok := tokenIn(t, ns, base)
	code, out := curlIn(t, ns, "-m", "5", "-f", "-H", "X-aws-ec2-metadata-token: "+tok, base+"latest/meta-data/iam/security-credentials/")
	if code != 0 {
		t.Fatalf("credentials listing in %s: curl exit %d: %s", ns, code, out)
	}
	return out
}

// servedKeyOfIn is the access key id served for role inside ns.
func servedKeyOfIn(t *testing.T, ns, base, role string) string {
	t.Helper()
	tok := tokenIn(t, ns, base)
	code, out := curlIn(t, ns, "-m", "5", "-f", "-H", "X-aws-ec2-metadata-token: "+tok, base+"latest/meta-data/iam/security-credentials/"+role)
	var doc struct{ AccessKeyId string }
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.AccessKeyId == "" {
		t.Fatalf("credentials of %s in %s: curl exit %d", role, ns, code)
	}
	return doc.AccessKeyId
}

func tokenIn(t *testing.T, ns, base string) string {
	t.Helper()
	code, tok := curlIn(t, ns, "-m", "5", "-f", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", base+"latest/api/token")
	if code != 0 {
		t.Fatalf("token PUT in %s: curl exit %d", ns, code)
	}
	return tok
}
