package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestDeploy_ComposeShared brings deploy/compose/shared.yaml up with
// docker-compose through podman's API socket: one imdsemu on an internal
// network serves two apps, each at its fixed address there, each its own
// role (web by imdsemu's address, worker by its service name, which
// --allowed-hosts lets the metadata listener answer to); a client at another
// address gets no credentials. Only the apps' images are replaced.
func TestDeploy_ComposeShared(t *testing.T) {
	p := newPodman(t)
	// netavark (podman's network backend) runs iptables to set up any
	// bridge network; for an internal one it writes no rule, but it fails
	// without the command.
	lookTool(t, "iptables")
	// netavark turns on IP forwarding in the machine's namespace for a
	// bridge network, internal or not; put it back as it was.
	const forwarding = "/proc/sys/net/ipv4/ip_forward"
	if was, err := os.ReadFile(forwarding); err == nil {
		t.Cleanup(func() { os.WriteFile(forwarding, was, 0o644) })
	}
	const project = "imdsemushared"
	run := p.composeUp("shared.yaml", project)

	imdsemu := project + "_imdsemu_1"
	p.waitHealthy(p.netnsOf(imdsemu), imdsemu)
	keys := map[string]string{}
	for _, name := range []string{"web", "worker"} {
		container := project + "_" + name + "_1"
		ns := p.netnsOf(container)
		// The app's only route is the network's own subnet: nothing else
		// is reachable, a real metadata service least of all.
		out, err := nsCommand(t, ns, nil, "ip", "-4", "route", "show", "table", "main").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "10.254.169.0/24 dev eth0 proto kernel scope link src "+map[string]string{"web": "10.254.169.10", "worker": "10.254.169.11"}[name] {
			t.Errorf("routes in %s's namespace: %v\n%s", name, err, out)
		}
		// What imdsemu serves at this app's address: its own role.
		role, key := servedRoleKeyIn(t, ns, "http://10.254.169.254:1338/") // inside the app's network namespace
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
	// A client at an address no instance matches, on the same network,
	// with the same endpoint: no credentials (404 from imdsemu).
	out, err := p.run("run", "--rm", "--network", project+"_metadata", "--ip", "10.254.169.12", "--read-only", "--cap-drop", "ALL",
		"-e", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://10.254.169.254:1338/", appTag)
	if r := appResultOrZero(out[strings.LastIndex(out, "\n")+1:]); err == nil || r.AccessKeyID != "" || !strings.Contains(r.Error, "no EC2 IMDS role found") {
		t.Errorf("a client no instance matches: %v, %q; want no credentials (no EC2 IMDS role found)", err, out)
	}

	run("down", "-v", "-t", "2")
	if out, err := run("down", "-v", "-t", "2"); err != nil {
		t.Errorf("docker-compose down: %v\n%s", err, out)
	}
	if left := p.must("ps", "-aq"); left != "" {
		t.Errorf("containers left after docker-compose down: %s", left)
	}
	if left, _ := p.run("network", "ls", "-q", "--filter", "name="+project); left != "" {
		t.Errorf("networks left after docker-compose down: %s", left)
	}
}
