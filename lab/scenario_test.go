package lab

import (
	"strings"
	"testing"
	"time"
)

// Every shipped scenario parses, fits in MaxDuration and names only lanes
// the lab has.
func TestBuiltinScenarios(t *testing.T) {
	want := []string{"expired-document", "key-leak", "outage-across-expiry", "profile-file-rotation", "revocation", "rotation", "slow-imds", "token-endpoint-403"}
	if got := Builtin(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Builtin() = %v, want %v", got, want)
	}
	known := append([]string{"profile", "stolen-role", "stolen-key", "all", "models", "sdks"}, SDKLanes()...)
	for name := range ModelNames {
		known = append(known, name)
		for _, r := range ModelNames[name] {
			known = append(known, name+"@"+r)
		}
	}
	for _, name := range want {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != name || sc.Duration.D() > MaxDuration || sc.Description == "" || len(sc.Expect) == 0 {
			t.Errorf("%s: name %q, duration %v, %d expectations", name, sc.Name, sc.Duration, len(sc.Expect))
		}
		for sel := range sc.Expect {
			if !contains(known, sel) {
				t.Errorf("%s: expect %q names no lane", name, sel)
			}
		}
	}
}

func TestParseScenario_Errors(t *testing.T) {
	cases := map[string]string{
		"name: x\nduration: 4m\n":                                                          "duration 4m0s",
		"name: x\nduration: 10s\nsteps:\n  - at: 1s\n":                                     "exactly one action",
		"name: x\nduration: 10s\nsteps:\n  - at: 1s\n    rotate: true\n    revoke: true\n": "exactly one action",
		"name: x\nduration: 10s\nsteps:\n  - at: 20s\n    rotate: true\n":                  "outside the run",
		"name: x\nduration: 10s\nsteps:\n  - at: 1s\n    rewrite_key: true\n":              "static_key",
		"name: x\nduration: 10s\nbogus: 1\n":                                               "field bogus not found",
		"name: x\nduration: soon\n":                                                        "want a duration",
		"name: x\nduration: 10s\nexpect:\n  all:\n    keys: lots\n":                        `count "lots"`,
	}
	for in, want := range cases {
		if _, err := ParseScenario([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", in, err, want)
		}
	}
	sc, err := ParseScenario([]byte("name: x\nduration: 10s\nsteps:\n  - at: 5s\n    rotate: true\n  - at: 1s\n    clear_faults: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Interval.D() != 5*time.Second || sc.Steps[0].Action() != "clear faults" {
		t.Errorf("interval %v, first step %q: want the 5 s default and the steps in time order", sc.Interval, sc.Steps[0].Action())
	}
}

func TestEvaluate(t *testing.T) {
	sc, err := ParseScenario([]byte(`name: x
duration: 10s
expect:
  java-v1-sync:
    retrieve_errors: ">0"
    codes: [ExpiredToken]
  models:
    last_check: ok
  "stolen-*":
    last_check: AccessDenied
    why: revoked
`))
	if err != nil {
		t.Fatal(err)
	}
	sums := []Summary{
		{Lane: "java-v1-sync@1.11", Model: true, RetrieveErrors: 2, Checks: map[string]int{"ExpiredToken": 1, "ok": 3}, LastCheck: "ok"},
		{Lane: "java-v2-sync@2.20", Model: true, Checks: map[string]int{"ok": 1}, LastCheck: "ExpiredToken"},
		{Lane: "stolen-role", Checks: map[string]int{"ok": 1}, LastCheck: "ok"},
		{Lane: "go-v2", Checks: map[string]int{}, LastCheck: "error"},
	}
	var got []string
	for _, f := range Evaluate(sc, sums) {
		got = append(got, f.Error())
	}
	want := []string{
		`lane java-v2-sync@2.20 (expect models): last check "ExpiredToken", want "ok"`,
		`lane stolen-role (expect stolen-*): last check "ok", want "AccessDenied" (revoked)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		c    Count
		v    int
		want bool
	}{{"0", 0, true}, {"0", 1, false}, {">0", 1, true}, {">0", 0, false}, {">=2", 2, true}, {"<3", 3, false}, {"<=3", 3, true}, {"==1", 1, true}, {"", 9, true}} {
		if got := tc.c.holds(tc.v); got != tc.want {
			t.Errorf("%q holds %d = %v", tc.c, tc.v, got)
		}
	}
}
