package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDeploy_ComposeShared brings each shared recipe of deploy/compose up
// with docker-compose through podman's API socket: one imdsemu on an
// internal network serves two apps, each its own role by its address on
// the network, and a client at another address gets no credentials. Only
// the apps' images are replaced.
//
//   - shared.yaml: the apps name imdsemu in AWS_EC2_METADATA_SERVICE_ENDPOINT,
//     web by its address, worker by its service name (which --allowed-hosts
//     lets the metadata listener answer to).
//   - shared-link-local.yaml: no variable; imdsemu holds 169.254.169.254 in
//     its own container, and each app's namespace routes it there.
func TestDeploy_ComposeShared(t *testing.T) {
	for _, tc := range []struct {
		file, project string
		base          string // the metadata base URL inside an app's namespace
		// stranger runs the app at an address no instance matches and
		// returns its output.
		stranger func(t *testing.T, p *podmanEnv, network string) (string, error)
		routes   string // an app's IPv4 routes besides its subnet
	}{
		{"shared.yaml", "imdsemushared", "http://10.254.169.254:1338/",
			func(t *testing.T, p *podmanEnv, network string) (string, error) {
				return p.run("run", "--rm", "--network", network, "--ip", "10.254.169.12", "--read-only", "--cap-drop", "ALL",
					"-e", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://10.254.169.254:1338/", appTag)
			}, ""},
		{"shared-link-local.yaml", "imdsemulinklocal", "http://169.254.169.254/",
			func(t *testing.T, p *podmanEnv, network string) (string, error) {
				p.must("run", "-d", "--name", "stranger-net", "--network", network, "--ip", "10.254.169.12", "--read-only", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN",
					imageTag, "link-local", "route", "--via", "10.254.169.254", "--hold")
				return p.run("run", "--rm", "--network", "container:stranger-net", "--read-only", "--cap-drop", "ALL", appTag)
			}, "169.254.169.254 via 10.254.169.254 dev eth0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := newPodman(t)
			// netavark (podman's network backend) runs iptables to set up
			// any bridge network; for an internal one it writes no rule,
			// but it fails without the command.
			lookTool(t, "iptables")
			// netavark turns on IP forwarding in the machine's namespace
			// for a bridge network, internal or not; put it back as it was.
			const forwarding = "/proc/sys/net/ipv4/ip_forward"
			if was, err := os.ReadFile(forwarding); err == nil {
				t.Cleanup(func() { os.WriteFile(forwarding, was, 0o644) })
			}
			run := p.composeUp(tc.file, tc.project)

			imdsemu := tc.project + "_imdsemu_1"
			p.waitHealthy(p.netnsOf(imdsemu), imdsemu)
			keys := map[string]string{}
			for name, addr := range map[string]string{"web": "10.254.169.10", "worker": "10.254.169.11"} {
				container := tc.project + "_" + name + "_1"
				ns := p.netnsOf(container)
				// The app reaches its subnet (and, by the link-local
				// recipe's route, imdsemu): nothing else, a real metadata
				// service least of all.
				want := sortedLines(tc.routes + "\n10.254.169.0/24 dev eth0 proto kernel scope link src " + addr)
				out, err := nsCommand(t, ns, nil, "ip", "-4", "route", "show", "table", "main").CombinedOutput()
				if got := sortedLines(string(out)); err != nil || got != want {
					t.Errorf("routes in %s's namespace: %v\n%s\nwant\n%s", name, err, got, want)
				}
				// What imdsemu serves at this app's address: its own role.
				role, key := servedRoleKeyIn(t, ns, tc.base) // inside the app's network namespace
				if role != name+"-role" {
					t.Errorf("imdsemu serves %s (by its source address) role %q, want %s-role", name, role, name)
				}
				if r := waitAppKey(t, p, container, key); r.Source != "EC2RoleProvider" {
					t.Errorf("%s's credentials from %q, want EC2RoleProvider", name, r.Source)
				}
				keys[name] = key
			}
			if keys["web"] == keys["worker"] {
				t.Errorf("both apps got key %s", keys["web"])
			}
			// A client at an address no instance matches, on the same
			// network, finding imdsemu the same way: no credentials (404).
			out, err := tc.stranger(t, p, tc.project+"_metadata")
			if r := appResultOrZero(out[strings.LastIndex(out, "\n")+1:]); err == nil || r.AccessKeyID != "" || !strings.Contains(r.Error, "no EC2 IMDS role found") { // the SDK logs before sdkprobe's line
				t.Errorf("a client no instance matches: %v, %q; want no credentials (no EC2 IMDS role found)", err, out)
			}
			p.run("rm", "-f", "-t", "0", "stranger-net")

			run("down", "-v", "-t", "2")
			if out, err := run("down", "-v", "-t", "2"); err != nil {
				t.Errorf("docker-compose down: %v\n%s", err, out)
			}
			if left := p.must("ps", "-aq"); left != "" {
				t.Errorf("containers left after docker-compose down: %s", left)
			}
			if left, _ := p.run("network", "ls", "-q", "--filter", "name="+tc.project); left != "" {
				t.Errorf("networks left after docker-compose down: %s", left)
			}
		})
	}
}

// sortedLines is text's non-empty lines, each trimmed, sorted, one a line.
func sortedLines(text string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
