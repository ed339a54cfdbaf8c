package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/config"
)

// fakeAPI records control requests and answers each from a table.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    []string // "METHOD PATH BODY"
	auth    []string
	answers map[string]string // "METHOD PATH" -> JSON (status 200)
	status  int               // when set, every answer has this status
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Method + " " + r.URL.RequestURI()
	f.reqs = append(f.reqs, strings.TrimSpace(key+" "+string(body)))
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
		io.WriteString(w, `{"error":"no such thing"}`)
		return
	}
	if a, ok := f.answers[key]; ok {
		io.WriteString(w, a)
		return
	}
	io.WriteString(w, `{}`)
}

func runControl(t *testing.T, environ map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newControlCmds(Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return environ[k] }})...)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

const cliToken = "cli-token-0123456789abcdef"

func TestControlCmds_Requests(t *testing.T) {
	const instance = "arn:aws:iam::123456789012:instance-profile/web"
	answers := map[string]string{
		"POST /v1/faults":    `{"id":"4","action":"status","status":403,"path":"/latest/api/token","method":"PUT","times":3,"added":"2030-01-01T00:00:00Z","matched":0,"fired":0}`,
		"GET /v1/faults":     `{"faults":[{"id":"4","action":"latency","delay":"2s","added":"2030-01-01T00:00:00Z","matched":5,"fired":2}]}`,
		"DELETE /v1/faults":  `{"removed":2}`,
		"GET /v1/options":    `{"http-tokens":"optional","http-endpoint":"enabled","hop-limit":1,"extended-credentials":true,"instance-metadata-tags":false,"throttle":{"rps":0,"burst":0}}`,
		"PATCH /v1/options":  `{"http-tokens":"required","http-endpoint":"enabled","hop-limit":1,"extended-credentials":true,"instance-metadata-tags":false,"throttle":{"rps":0,"burst":0}}`,
		"GET /v1/attachment": `{"profile":"` + instance + `","role":"web-role"}`,
		"POST /v1/profiles/arn:aws:iam::123456789012:instance-profile%2Fweb/rotate?wait=true": `{"profile":"` + instance + `","status":"rotated","seq":3,"access_key_id":"ASIAEXAMPLE","expires":"2030-01-01T06:00:00Z"}`,
		"PUT /v1/profiles/batch/freeze":  `{"arn":"arn:aws:iam::123456789012:instance-profile/batch","frozen":true}`,
		"GET /v1/generations":            `{"generations":[{"profile":"` + instance + `","seq":1,"access_key_id":"ASIAONE","status":"current","issued":"2030-01-01T00:00:00Z","served":3,"clients":[{"address":"10.0.0.1","versions":{"v1":1,"v2":2},"first":"2030-01-01T00:00:00Z","last":"2030-01-01T00:00:00Z"}]}]}`,
		"PUT /v1/attachment":             `{"profile":"` + instance + `","role":"other"}`,
		"DELETE /v1/attachment":          `{"profile":"` + instance + `","role":""}`,
		"GET /v1/scenarios":              `{"scenarios":[{"name":"flaky-start","steps":[{"at":"0s","clear":true}],"running":false,"steps_done":0}]}`,
		"POST /v1/scenarios/flaky/start": `{}`,
	}
	cases := []struct {
		args []string
		reqs []string
		out  string
	}{
		{[]string{"fault", "add", "--action", "status", "--status", "403", "--path", "/latest/api/token", "--method", "PUT", "--times", "3"},
			[]string{`POST /v1/faults {"action":"status","path":"/latest/api/token","method":"PUT","status":403,"times":3}`},
			"fault 4 added: status 403 method=PUT path=/latest/api/token (times 3)"},
		{[]string{"fault", "add", "--action", "latency", "--delay", "2s", "--for", "30s", "--probability", "0.5", "--every", "2", "--version", "v1", "--client", "10.0.0.0/8"},
			[]string{`POST /v1/faults {"action":"latency","version":"v1","client":"10.0.0.0/8","delay":"2s","probability":0.5,"every":2,"for":"30s"}`}, "added"},
		{[]string{"fault", "list"}, []string{"GET /v1/faults"}, "4   latency 2s"},
		{[]string{"fault", "rm", "4", "5"}, []string{"DELETE /v1/faults/4", "DELETE /v1/faults/5"}, "fault 5 removed"},
		{[]string{"fault", "clear"}, []string{"DELETE /v1/faults"}, "2 fault rules removed"},
		{[]string{"scenario", "start", "flaky"}, []string{"POST /v1/scenarios/flaky/start"}, "scenario flaky started"},
		{[]string{"scenario", "stop", "flaky"}, []string{"POST /v1/scenarios/flaky/stop"}, "scenario flaky stopped"},
		{[]string{"scenario", "list"}, []string{"GET /v1/scenarios"}, "flaky-start"},
		{[]string{"options", "get"}, []string{"GET /v1/options"}, "http-tokens:            optional"},
		{[]string{"options", "set", "http-tokens", "required", "extended-credentials", "false"},
			[]string{`PATCH /v1/options {"http-tokens":"required","extended-credentials":false}`}, "http-tokens:            required"},
		{[]string{"options", "set", "throttle-rps", "2.5"},
			[]string{"GET /v1/options", `PATCH /v1/options {"throttle":{"rps":2.5,"burst":3}}`}, "throttle"},
		{[]string{"rotate"}, []string{"GET /v1/attachment", "POST /v1/profiles/arn:aws:iam::123456789012:instance-profile%2Fweb/rotate?wait=true"},
			"generation 3, ASIAEXAMPLE"},
		{[]string{"rotate", "batch", "--no-wait"}, []string{"POST /v1/profiles/batch/rotate"}, ""},
		{[]string{"freeze", "batch"}, []string{"PUT /v1/profiles/batch/freeze"}, "instance-profile/batch: frozen"},
		{[]string{"unfreeze", "batch"}, []string{"DELETE /v1/profiles/batch/freeze"}, ""},
		{[]string{"attach", "other"}, []string{`PUT /v1/attachment {"role":"other"}`}, "role other"},
		{[]string{"detach"}, []string{"DELETE /v1/attachment"}, "no role"},
		{[]string{"generations"}, []string{"GET /v1/generations"}, "10.0.0.1 (v1 1, v2 2)"},
		{[]string{"generations", "web"}, []string{"GET /v1/profiles/web/generations"}, "PROFILE"},
		{[]string{"options", "get", "--json"}, []string{"GET /v1/options"}, `"http-tokens":"optional"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			api := &fakeAPI{answers: answers}
			ts := httptest.NewServer(api)
			defer ts.Close()
			environ := map[string]string{"IMDSEMU_ADMIN_ADDR": strings.TrimPrefix(ts.URL, "http://"), "IMDSEMU_ADMIN_TOKEN": cliToken}
			out, err := runControl(t, environ, tc.args...)
			if err != nil {
				t.Fatalf("%v: %v", tc.args, err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if strings.Join(api.reqs, "\n") != strings.Join(tc.reqs, "\n") {
				t.Errorf("requests\n%s\nwant\n%s", strings.Join(api.reqs, "\n"), strings.Join(tc.reqs, "\n"))
			}
			for _, a := range api.auth {
				if a != "Bearer "+cliToken {
					t.Errorf("Authorization = %q", a)
				}
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("output\n%s\nwant it to contain %q", out, tc.out)
			}
		})
	}
}

func TestControlCmds_TokenAndAddress(t *testing.T) {
	api := &fakeAPI{answers: map[string]string{}}
	ts := httptest.NewServer(api)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.AdminTokenFile), []byte("file-token-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cases := []struct {
		name    string
		environ map[string]string
		args    []string
		want    string
	}{
		{"flag wins", map[string]string{"IMDSEMU_ADMIN_TOKEN": "env-token"}, []string{"--admin-token", "flag-token", "--admin-addr", addr}, "Bearer flag-token"},
		{"env", map[string]string{"IMDSEMU_ADMIN_TOKEN": "env-token", "IMDSEMU_ADMIN_ADDR": addr}, nil, "Bearer env-token"},
		{"data dir flag", map[string]string{"IMDSEMU_ADMIN_ADDR": addr}, []string{"--data-dir", dir}, "Bearer file-token-0123456789"},
		{"data dir env", map[string]string{"IMDSEMU_ADMIN_ADDR": addr, "IMDSEMU_DATA_DIR": dir}, nil, "Bearer file-token-0123456789"},
		{"http URL", map[string]string{"IMDSEMU_ADMIN_TOKEN": "t"}, []string{"--admin-addr", ts.URL + "/"}, "Bearer t"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api.mu.Lock()
			api.auth = nil
			api.mu.Unlock()
			if _, err := runControl(t, tc.environ, append([]string{"options", "get"}, tc.args...)...); err != nil {
				t.Fatal(err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.auth) != 1 || api.auth[0] != tc.want {
				t.Errorf("Authorization = %v, want %q", api.auth, tc.want)
			}
		})
	}
	// No token anywhere: a message that says where to get one.
	_, err := runControl(t, map[string]string{"HOME": home, "IMDSEMU_ADMIN_ADDR": addr}, "options", "get")
	if err == nil || !strings.Contains(err.Error(), "no admin token: pass --admin-token, set IMDSEMU_ADMIN_TOKEN") {
		t.Errorf("without a token: %v", err)
	}
}

func TestControlCmds_Errors(t *testing.T) {
	api := &fakeAPI{status: http.StatusNotFound}
	ts := httptest.NewServer(api)
	defer ts.Close()
	environ := map[string]string{"IMDSEMU_ADMIN_ADDR": ts.URL, "IMDSEMU_ADMIN_TOKEN": cliToken}
	_, err := runControl(t, environ, "fault", "rm", "9")
	if err == nil || err.Error() != "404 Not Found: no such thing" {
		t.Errorf("API error = %v, want the status and the API's message", err)
	}
	for _, args := range [][]string{
		{"options", "set", "http-tokens"},
		{"options", "set", "bogus", "1"},
		{"options", "set", "hop-limit", "two"},
		{"options", "set", "extended-credentials", "maybe"},
		{"attach"},
		{"fault", "rm"},
	} {
		if _, err := runControl(t, environ, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// Nothing listening: the message says what to check.
	ln := httptest.NewServer(http.NotFoundHandler())
	dead := ln.URL
	ln.Close()
	_, err = runControl(t, map[string]string{"IMDSEMU_ADMIN_ADDR": dead, "IMDSEMU_ADMIN_TOKEN": cliToken}, "options", "get")
	if err == nil || !strings.Contains(err.Error(), "is `imdsemu serve` running there?") {
		t.Errorf("unreachable server: %v", err)
	}
}

func TestControlCmds_EventsStream(t *testing.T) {
	const servedEvent = `{"id":1,"type":"served","at":"2030-01-01T00:00:00Z","access_key_id":"ASIAEXAMPLE","client":"10.0.0.1","version":"v2","path":"/latest/meta-data/iam/security-credentials/web"}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() != "/v1/events?type=served%2Cissued" {
			http.Error(w, `{"error":"bad"}`, 400)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": imdsemu events\n\nid: 1\nevent: served\ndata: "+servedEvent+"\n\n")
	}))
	defer ts.Close()
	out, err := runControl(t, map[string]string{"IMDSEMU_ADMIN_ADDR": ts.URL, "IMDSEMU_ADMIN_TOKEN": cliToken}, "events", "--type", "served,issued")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, ": imdsemu events\n\nid: 1\nevent: served\ndata: "+servedEvent+"\n\n") {
		t.Errorf("output = %q", out)
	}
}
