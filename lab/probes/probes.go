package probes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Probe is one real SDK the lab can run as a lane, and how to start it from
// a checkout of the repository.
type Probe struct {
	Name string // the lane name: go-v2, go-v1, botocore, js-v3, js-v2, ruby
	// GoPackage is the main package of a Go probe, relative to the
	// repository root; Build compiles it.
	GoPackage string
	// Program runs Script for the other probes: an interpreter path or a
	// name looked up on PATH.
	Program string
	Script  string // relative to the repository root
	// Module is what Program must be able to load: a Python module, a Ruby
	// library, or a directory under the repository root for node.
	Module  string
	Install string // how to install the runtime and SDK, for messages
}

// All is every probe, in lane order.
func All() []Probe {
	return []Probe{
		{Name: "go-v2", GoPackage: "./lab/probes/gov2", Install: "go mod download"},
		{Name: "go-v1", GoPackage: "./lab/probes/gov1", Install: "go mod download"},
		{Name: "botocore", Program: "/usr/bin/python3", Script: "lab/probes/botocore/probe.py", Module: "botocore",
			Install: "apt-get install python3-botocore"},
		{Name: "js-v3", Program: "node", Script: "lab/probes/js/v3.mjs", Module: "lab/probes/js/node_modules/@aws-sdk/credential-providers",
			Install: "apt-get install nodejs npm (node >= 20); npm ci --prefix lab/probes/js"},
		{Name: "js-v2", Program: "node", Script: "lab/probes/js/v2.mjs", Module: "lab/probes/js/node_modules/aws-sdk",
			Install: "apt-get install nodejs npm (node >= 20); npm ci --prefix lab/probes/js"},
		{Name: "ruby", Program: "ruby", Script: "lab/probes/ruby/probe.rb", Module: "aws-sdk-core",
			Install: "apt-get install ruby-aws-sdk-core"},
	}
}

// Lookup finds a probe by lane name.
func Lookup(name string) (Probe, bool) {
	for _, p := range All() {
		if p.Name == name {
			return p, true
		}
	}
	return Probe{}, false
}

// ErrMissing marks the error Available returns when a runtime or SDK is not
// installed.
var ErrMissing = errors.New("not installed")

// Available reports whether p can run on this machine from the repository
// at root: nil, or an error wrapping ErrMissing that says what is missing
// and how to install it. It loads the SDK once for the interpreted probes.
func (p Probe) Available(ctx context.Context, root string) error {
	missing := func(what string) error {
		return fmt.Errorf("probe %s: %s %w (%s)", p.Name, what, ErrMissing, p.Install)
	}
	if p.GoPackage != "" {
		if _, err := exec.LookPath("go"); err != nil {
			return missing("the go command is")
		}
		return nil
	}
	prog, err := exec.LookPath(p.Program)
	if err != nil {
		return missing(p.Program + " is")
	}
	var load *exec.Cmd
	switch p.Program {
	case "node":
		if _, err := os.Stat(filepath.Join(root, p.Module, "package.json")); err != nil {
			return missing(p.Module + " is")
		}
		return nil
	case "ruby":
		load = exec.CommandContext(ctx, prog, "-e", "require ARGV[0]", p.Module)
	default:
		load = exec.CommandContext(ctx, prog, "-c", "import sys, importlib; importlib.import_module(sys.argv[1])", p.Module)
	}
	load.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := load.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %v: %s", missing(p.Module+" for "+p.Program+" is"), err, lastLine(out))
	}
	return nil
}

// Build compiles a Go probe from the repository at root into dir and
// returns the executable; other probes need no build and return "".
func (p Probe) Build(ctx context.Context, root, dir string) (string, error) {
	if p.GoPackage == "" {
		return "", nil
	}
	bin := filepath.Join(dir, "probe-"+p.Name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, p.GoPackage)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("probe %s: go build %s: %v\n%s", p.Name, p.GoPackage, err, out)
	}
	return bin, nil
}

// Command is the command that starts p from the repository at root, with
// env (see Env) and extra arguments (a provider choice such as "default").
// bin is what Build returned for a Go probe.
func (p Probe) Command(ctx context.Context, root, bin string, env []string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if p.GoPackage != "" {
		cmd = exec.CommandContext(ctx, bin, args...)
	} else {
		cmd = exec.CommandContext(ctx, p.Program, append([]string{filepath.Join(root, p.Script)}, args...)...)
	}
	cmd.Dir = root
	cmd.Env = env
	return cmd
}

// Env is the environment a probe runs in: nothing from the machine but
// PATH, the emulator's IMDS endpoint (with a trailing slash) and STS URL, the
// region, and no other credential source: the key variables empty and the
// shared files pointing at an empty file that Env creates in dir (also the
// probe's HOME).
func Env(dir, metadataEndpoint, stsEndpoint, region string) ([]string, error) {
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return nil, err
	}
	if n := len(metadataEndpoint); n > 0 && metadataEndpoint[n-1] != '/' {
		metadataEndpoint += "/"
	}
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + metadataEndpoint,
		"IMDSEMU_PROBE_STS_ENDPOINT=" + stsEndpoint,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=",
		"AWS_SECRET_ACCESS_KEY=",
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_CONFIG_FILE=" + empty,
	}, nil
}

func lastLine(b []byte) string {
	s := strings.TrimRight(string(b), "\r\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
