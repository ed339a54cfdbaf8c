package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeConfig writes an imdsemu config file and returns its path.
func writeConfig(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "imdsemu.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMetadata_EC2MetadataTool runs AWS's own ec2-metadata (Debian's
// amazon-ec2-utils), unmodified, against imdsemu at 169.254.169.254 inside
// the test's network namespace: it asks with IMDSv2 for every category it
// knows, and each one an EC2 instance has prints a value, not "not
// available". Only ancestor-ami-ids, which only instance-store AMIs
// rebundled from others have, is absent.
func TestMetadata_EC2MetadataTool(t *testing.T) {
	tool := lookTool(t, "ec2-metadata")
	ns := netns(t, "ec2md")
	conf := writeConfig(t,
		"instance-metadata-tags: true",
		"instance:",
		"  public-ipv4: 203.0.113.25",
		"  key-name: laptop",
		"  public-key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample laptop",
		"  kernel-id: aki-919dcaf8",
		"  ramdisk-id: ari-8c2b38e5",
		"  product-codes: [aw0evgkw8e5c1q413zgy5pjce]",
		"  ebs-devices: [sdb]",
		"  user-data: hello",
		"  tags: {Name: web-1}",
	)
	ip(t, "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo")                           // the test namespace's own loopback, never the machine's
	startEmulatorIn(t, ns, "169.254.169.254:80", "--config", conf, "--http-tokens", "required") // inside the test's own network namespace
	out, err := nsCommand(t, ns, nil, tool, "--all").CombinedOutput()                           // ec2-metadata dials 169.254.169.254 inside the namespace
	if err != nil {
		t.Fatalf("ec2-metadata --all: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"ami-id: ami-0123456789abcdef0\n",
		"ami-launch-index: 0\n",
		"ami-manifest-path: (unknown)\n",
		"block-device-mapping: \n\t ami: /dev/xvda\n\t ebs1: sdb\n\t root: /dev/xvda\n",
		"instance-id: i-0123456789abcdef0\n",
		"instance-type: t3.micro\n",
		"local-hostname: ip-10-0-0-1.ec2.internal\n",
		"local-ipv4: 10.0.0.1\n",
		"kernel-id: aki-919dcaf8\n",
		"placement: us-east-1a\n",
		"product-codes: aw0evgkw8e5c1q413zgy5pjce\n",
		"public-hostname: ec2-203-0-113-25.compute-1.amazonaws.com\n",
		"public-ipv4: 203.0.113.25\n",
		"public-keys: \nkeyname:laptop\nindex:0\nformat:openssh-key\nkey:(begins from next line)\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample laptop\n",
		"ramdisk-id: ari-8c2b38e5\n",
		"reservation-id: r-0123456789abcdef0\n", // asked as latest//meta-data/reservation-id
		"security-groups: default\n",
		"user-data: hello\n",
		"tags: \n\t Name: web-1\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("ec2-metadata --all does not print %q", want)
		}
	}
	if got := regexp.MustCompile(`(?m)^([a-z-]+): not available$`).FindAllStringSubmatch(text, -1); len(got) != 1 || got[0][1] != "ancestor-ami-ids" {
		t.Errorf("not available: %v, want only ancestor-ami-ids", got)
	}
	if t.Failed() {
		t.Logf("ec2-metadata --all:\n%s", text)
	}
}

// getBoth GETs path with IMDSv1 and with IMDSv2 and fails unless both
// answer code with body (body "" and code 404: any 404).
func (e *emulator) getBoth(t *testing.T, stage, path string, code int, body string) {
	t.Helper()
	tok := e.token(t)
	for _, h := range []map[string]string{nil, {"X-aws-ec2-metadata-token": tok}} {
		c, _, b := e.do(t, http.MethodGet, path, h)
		if c != code || (code == 200 && b != body) {
			t.Errorf("%s, v2=%t: GET %s = %d %q, want %d %q", stage, h != nil, path, c, b, code, body)
		}
	}
}

// notice posts a notice through the control API and returns it.
func (e *emulator) notice(t *testing.T, body string) map[string]any {
	t.Helper()
	code, b := e.api(t, http.MethodPost, "/v1/notices", body)
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/notices %s = %d %s", body, code, b)
	}
	var n map[string]any
	if err := json.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// imdsTime is a time as the Spot documents write it.
func imdsTime(t *testing.T, v any) string {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return ts.UTC().Format("2006-01-02T15:04:05Z")
}

// TestNotices_SpotScenario: a Spot instance whose start scenario posts a
// Spot interruption three seconds after start, as a termination handler's
// test would. Before it, spot/instance-action answers 404; then it serves
// EC2's document with the action two minutes after the notice, and the
// event stream reports the notice.
func TestNotices_SpotScenario(t *testing.T) {
	conf := writeConfig(t,
		"instance:",
		"  life-cycle: spot",
		"  auto-scaling: true",
		"scenarios:",
		"  spot-soon:",
		"    - at: 3s",
		"      notice: {kind: spot-interruption}",
		"start-scenario: spot-soon",
	)
	e := startEmulator(t, "--config", conf)
	events := e.eventTypes(t)
	const action = "/latest/meta-data/spot/instance-action"
	e.getBoth(t, "before", action, 404, "")
	e.getBoth(t, "before", "/latest/meta-data/spot/termination-time", 404, "")
	e.getBoth(t, "life cycle", "/latest/meta-data/instance-life-cycle", 200, "spot")

	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, _, _ := e.do(t, http.MethodGet, action, nil); c == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spot/instance-action still 404 30s after start")
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, b := e.api(t, http.MethodGet, "/v1/notices", "")
	var l struct{ Notices []map[string]any }
	if err := json.Unmarshal(b, &l); code != 200 || err != nil || len(l.Notices) != 1 {
		t.Fatalf("GET /v1/notices = %d %s", code, b)
	}
	at := imdsTime(t, l.Notices[0]["time"])
	posted, _ := time.Parse(time.RFC3339, l.Notices[0]["posted"].(string))
	if want := posted.Add(2 * time.Minute).UTC().Format("2006-01-02T15:04:05Z"); at != want {
		t.Errorf("action time %s, want two minutes after the notice (%s)", at, want)
	}
	e.getBoth(t, "during", action, 200, `{"action": "terminate", "time": "`+at+`"}`)
	e.getBoth(t, "during", "/latest/meta-data/spot/termination-time", 200, at)
	select {
	case <-events:
	case <-time.After(10 * time.Second):
		t.Errorf("no notice event on the event stream")
	}

	// Rebalance and the Auto Scaling lifecycle, with the CLI.
	const rebalance = "/latest/meta-data/events/recommendations/rebalance"
	e.getBoth(t, "before", rebalance, 404, "")
	out, err := e.cli(t, "notice", "rebalance", "--json")
	var n map[string]any
	if err != nil || json.Unmarshal([]byte(out), &n) != nil {
		t.Fatalf("imdsemu notice rebalance --json: %v\n%s", err, out)
	}
	e.getBoth(t, "during", rebalance, 200, `{"noticeTime": "`+imdsTime(t, n["posted"])+`"}`)
	const lifecycle = "/latest/meta-data/autoscaling/target-lifecycle-state"
	e.getBoth(t, "before", lifecycle, 200, "InService")
	if out, err := e.cli(t, "notice", "asg-lifecycle", "Terminated"); err != nil || !strings.Contains(out, "posted asg-lifecycle") {
		t.Errorf("imdsemu notice asg-lifecycle Terminated: %v\n%s", err, out)
	}
	e.getBoth(t, "during", lifecycle, 200, "Terminated")
	out, err = e.cli(t, "notice", "list")
	if err != nil || !regexp.MustCompile(`spot-interruption\s+spot-interruption\s+\S+\s+terminate at `+at).MatchString(out) ||
		!strings.Contains(out, "target lifecycle state Terminated") || !strings.Contains(out, "rebalance recommended") {
		t.Errorf("imdsemu notice list: %v\n%s", err, out)
	}

	// After: cleared, every item as before.
	if out, err := e.cli(t, "notice", "clear"); err != nil || out != "3 notices withdrawn\n" {
		t.Errorf("imdsemu notice clear: %v %q, want 3 withdrawn", err, out)
	}
	e.getBoth(t, "after", action, 404, "")
	e.getBoth(t, "after", rebalance, 404, "")
	e.getBoth(t, "after", lifecycle, 200, "InService")
}

// TestNotices_Maintenance: a maintenance event on an on-demand instance,
// scheduled, canceled into history; Spot notices are refused with 409.
func TestNotices_Maintenance(t *testing.T) {
	e := startEmulator(t)
	const sched, hist = "/latest/meta-data/events/maintenance/scheduled", "/latest/meta-data/events/maintenance/history"
	e.getBoth(t, "before", sched, 200, "[]")
	e.getBoth(t, "before", hist, 200, "[]")
	n := e.notice(t, `{"kind":"maintenance","code":"system-reboot","in":"1h","duration":"30m"}`)
	id, _ := n["id"].(string)
	when := func(k string) string {
		ts, err := time.Parse(time.RFC3339, n[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts.UTC().Format("2 Jan 2006 15:04:05 GMT")
	}
	doc := func(desc, state string) string {
		return "[ \n  {\n    \"NotBefore\" : \"" + when("not_before") + "\",\n    \"Code\" : \"system-reboot\",\n" +
			"    \"Description\" : \"" + desc + "\",\n    \"EventId\" : \"" + id + "\",\n" +
			"    \"NotAfter\" : \"" + when("not_after") + "\",\n    \"State\" : \"" + state + "\"\n  } \n]"
	}
	e.getBoth(t, "during", sched, 200, doc("scheduled reboot", "active"))
	if out, err := e.cli(t, "notice", "cancel", id); err != nil || !strings.Contains(out, "ended maintenance "+id+": system-reboot canceled") {
		t.Fatalf("imdsemu notice cancel %s: %v\n%s", id, err, out)
	}
	e.getBoth(t, "after", sched, 200, "[]")
	e.getBoth(t, "after", hist, 200, doc("[Canceled] scheduled reboot", "canceled"))

	code, b := e.api(t, http.MethodPost, "/v1/notices", `{"kind":"spot-interruption"}`)
	if code != http.StatusConflict || !strings.Contains(string(b), "Spot instance") {
		t.Errorf("spot notice on an on-demand instance = %d %s, want 409 naming the Spot requirement", code, b)
	}
	if out, err := e.cli(t, "notice", "spot-interruption"); err == nil || !strings.Contains(err.Error()+out, "Spot instance") {
		t.Errorf("imdsemu notice spot-interruption on an on-demand instance: %v %s, want the 409", err, out)
	}
}

// eventTypes subscribes to the notice events and returns a channel that
// gets one value per event.
func (e *emulator) eventTypes(t *testing.T) <-chan struct{} {
	t.Helper()
	req, _ := http.NewRequest("GET", e.admin+"/v1/events?type=notice", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken(t, e.dataDir))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan struct{}, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "event: notice" {
				ch <- struct{}{}
			}
		}
	}()
	return ch
}
