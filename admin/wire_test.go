package admin

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/wire.golden from the server's answers")

// wireExchange is one control request and the status the server answers.
type wireExchange struct {
	method, path, body string
	status             int
}

// wireExchanges run in order against one server: later ones see what the
// earlier ones changed.
var wireExchanges = []wireExchange{
	{"GET", "/v1/options", "", 200},
	{"PATCH", "/v1/options", `{"http-tokens":"required","throttle":{"rps":2,"burst":3}}`, 200},
	{"PATCH", "/v1/options", `{"hop-limit":0}`, 400},
	{"GET", "/v1/faults", "", 200},
	{"POST", "/v1/faults", `{"action":"latency","delay":"2s","path":"/latest/","times":2,"probability":0.5,"for":"1m"}`, 201},
	{"POST", "/v1/faults", `{"action":"status","status":700}`, 400},
	{"GET", "/v1/faults", "", 200},
	{"GET", "/v1/faults/1", "", 200},
	{"DELETE", "/v1/faults/1", "", 204},
	{"DELETE", "/v1/faults/1", "", 404},
	{"POST", "/v1/faults", `{"action":"refuse"}`, 201},
	{"DELETE", "/v1/faults", "", 200},
	{"GET", "/v1/scenarios", "", 200},
	{"PUT", "/v1/scenarios/outage", `{"steps":[{"at":"0s","fault":{"action":"refuse","for":"10s"}},{"at":"30s","clear":true}]}`, 200},
	{"GET", "/v1/scenarios/outage", "", 200},
	{"POST", "/v1/scenarios/outage/start", "", 200},
	{"POST", "/v1/scenarios/outage/stop", "", 200},
	{"POST", "/v1/scenarios/outage/stop", "", 409},
	{"GET", "/v1/profiles", "", 200},
	{"GET", "/v1/profiles/web", "", 200},
	{"GET", "/v1/profiles/worker", "", 400},
	{"POST", "/v1/profiles/web/rotate", "", 202},
	{"POST", "/v1/profiles/web/rotate?wait=true", "", 200},
	{"PUT", "/v1/profiles/web/freeze", "", 200},
	{"POST", "/v1/profiles/web/rotate", "", 409},
	{"DELETE", "/v1/profiles/web/freeze", "", 200},
	{"GET", "/v1/generations", "", 200},
	{"GET", "/v1/profiles/web/generations", "", 200},
	{"GET", "/v1/attachment", "", 200},
	{"PUT", "/v1/attachment", `{"role":"other-role"}`, 200},
	{"PUT", "/v1/attachment", `{"role":"nope"}`, 404},
	{"PUT", "/v1/attachment", `{"role":""}`, 400},
	{"DELETE", "/v1/attachment", "", 200},
	{"GET", "/v1/audit", "", 200},
	{"POST", "/v1/audit", "", 405},
	{"GET", "/v1/nowhere", "", 404},
	{"DELETE", "/v1/options", "", 405},
}

// TestWire_Pinned pins the bytes of every answer, and of the events the
// changes publish, to testdata/wire.golden: a change to the named types
// behind the API cannot change what clients see unnoticed. After a
// deliberate change to the API, run go test ./admin -run TestWire_Pinned
// -update, check the diff and update docs/admin-api.md with it.
func TestWire_Pinned(t *testing.T) {
	e := newEnv(t)
	sub, err := e.hub.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var b strings.Builder
	for _, x := range wireExchanges {
		rec := e.do(x.method, x.path, x.body, "")
		if rec.Code != x.status {
			t.Errorf("%s %s = %d, want %d: %s", x.method, x.path, rec.Code, x.status, rec.Body)
		}
		fmt.Fprintf(&b, "### %s %s %s\n%d\n%s", x.method, x.path, x.body, rec.Code, rec.Body)
	drain:
		for {
			select {
			case ev := <-sub.C:
				e.tracker.Record(ev)
				data, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "event: %s\n", data)
			default:
				break drain
			}
		}
	}
	golden := filepath.Join("testdata", "wire.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("the wire changed; compare with %s (rerun with -update to accept):\n%s", golden, got)
	}
}
