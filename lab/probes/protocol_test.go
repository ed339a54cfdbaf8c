package probes

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestServe_AnswersInCompletionOrder holds the first request until the
// second is answered: answers carry their ids and come as they finish.
func TestServe_AnswersInCompletionOrder(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	release := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(context.Background(), inR, outW, Ready{SDK: "test", Version: "1"}, func(_ context.Context, check bool) Result {
			if !check {
				<-release
				return Result{AccessKeyID: "ASIAFIRST", Source: SourceFetch}
			}
			return Result{AccessKeyID: "ASIASECOND", Source: SourceCache, Check: "ok"}
		})
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no line: %v", lines.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", lines.Text(), err)
		}
		return m
	}
	if got := next(); got["type"] != "ready" || got["sdk"] != "test" || got["version"] != "1" {
		t.Fatalf("first line = %v, want ready", got)
	}
	io.WriteString(inW, `{"op":"retrieve","id":1,"check":false}`+"\n"+`{"op":"retrieve","id":2,"check":true}`+"\n")
	if got := next(); got["id"] != 2.0 || got["access_key_id"] != "ASIASECOND" || got["check"] != "ok" || got["source"] != "cache" {
		t.Errorf("first answer = %v, want id 2", got)
	}
	io.WriteString(inW, `{"op":"quit"}`+"\n")
	close(release) // quit waits for request 1
	if got := next(); got["id"] != 1.0 || got["access_key_id"] != "ASIAFIRST" || got["error"] != "" {
		t.Errorf("second answer = %v, want id 1", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if lines.Scan() {
		t.Errorf("line after quit: %s", lines.Text())
	}
	inW.Close()
}

// TestServe_BadLinesAndEOF answers what it cannot serve with an error and
// returns at the end of its input.
func TestServe_BadLinesAndEOF(t *testing.T) {
	in := strings.NewReader("not json\n\n" + `{"op":"dance","id":7}` + "\n" + `{"op":"retrieve","id":8}` + "\n")
	var out strings.Builder
	err := Serve(context.Background(), in, &out, Ready{SDK: "test"}, func(context.Context, bool) Result {
		return Result{Error: "no credentials"}
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []Result
	for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if i == 0 {
			continue // ready
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got = append(got, r)
	}
	if len(got) > 0 && strings.HasPrefix(got[0].Error, "probe: bad request line: ") {
		got[0].Error = "probe: bad request line: ..." // the decoder's words
	}
	want := []Result{
		{Type: "result", Error: "probe: bad request line: ..."},
		{Type: "result", ID: 7, Error: `probe: unknown op "dance"`},
		{Type: "result", ID: 8, Error: "no credentials"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestAll_FilesExist keeps the table in step with the tree.
func TestAll_FilesExist(t *testing.T) {
	var names []string
	for _, p := range All() {
		names = append(names, p.Name)
		path := p.Script
		if p.GoPackage != "" {
			path = filepath.Join(p.GoPackage, "main.go")
		}
		if _, err := os.Stat(filepath.Join("..", "..", path)); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if got, ok := Lookup(p.Name); !ok || got.Name != p.Name {
			t.Errorf("Lookup(%q) = %v, %v", p.Name, got, ok)
		}
	}
	if want := []string{"go-v2", "go-v1", "botocore", "js-v3", "js-v2", "ruby"}; !slices.Equal(names, want) {
		t.Errorf("lanes = %v, want %v", names, want)
	}
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	env, err := Env(dir, "http://127.0.0.1:1338", "http://127.0.0.1:1339", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] != "http://127.0.0.1:1338/" || vars["IMDSEMU_PROBE_STS_ENDPOINT"] != "http://127.0.0.1:1339" || vars["AWS_REGION"] != "eu-west-1" {
		t.Errorf("endpoints and region: %v", env)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		if v, ok := vars[k]; !ok || v != "" {
			t.Errorf("%s = %q, %v; want set and empty", k, v, ok)
		}
	}
	if _, ok := vars["AWS_EC2_METADATA_DISABLED"]; ok {
		t.Error("AWS_EC2_METADATA_DISABLED is set")
	}
	for _, k := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		if b, err := os.ReadFile(vars[k]); err != nil || len(b) != 0 || !strings.HasPrefix(vars[k], dir) {
			t.Errorf("%s = %s: %v, %d bytes; want an empty file in %s", k, vars[k], err, len(b), dir)
		}
	}
}

// TestAvailable_Missing names what is missing and how to install it.
func TestAvailable_Missing(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join("..", "..")
	for _, p := range []Probe{
		{Name: "no-runtime", Program: "imdsemu-no-such-interpreter", Script: "x", Install: "install it"},
		{Name: "no-sdk", Program: "node", Script: "x", Module: "lab/probes/js/node_modules/imdsemu-no-such-package", Install: "npm ci"},
	} {
		err := p.Available(ctx, root)
		if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), p.Install) {
			t.Errorf("%s: Available = %v, want ErrMissing naming %q", p.Name, err, p.Install)
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		// The missing-module case needs a Python to ask; CI has one.
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 is missing (%v); .ci/run should have installed it", err)
		}
		t.Logf("missing Python module case not run: %v", err)
	} else {
		p := Probe{Name: "no-module", Program: "python3", Script: "x", Module: "imdsemu_no_such_module", Install: "pip"}
		if err := p.Available(ctx, root); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "imdsemu_no_such_module") {
			t.Errorf("missing Python module: Available = %v", err)
		}
	}
}
