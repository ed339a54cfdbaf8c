package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/config"
)

func newFlags(t *testing.T, args ...string) *config.Flags {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f := config.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q) = %v", args, err)
	}
	return f
}

func TestFlags_Apply(t *testing.T) {
	f := newFlags(t, "--hop-limit", "3", "--extended-credentials=false", "--throttle-rps", "2.5",
		"--ecs-addr", "127.0.0.1:1341", "--rotation-interval", "90s", "--instance-metadata-tags")
	yes := true
	s := config.Settings{IPv6Addr: "[fd00:ec2::254]:80", ExtendedCredentials: &yes, Throttle: config.Throttle{Burst: 4}}
	if err := f.Apply(&s); err != nil {
		t.Fatal(err)
	}
	no := false
	want := config.Settings{IPv6Addr: "[fd00:ec2::254]:80", ExtendedCredentials: &no, Throttle: config.Throttle{RPS: 2.5, Burst: 4},
		HopLimit: 3, ECSAddr: "127.0.0.1:1341", Rotation: config.Rotation{Interval: 90 * time.Second}, InstanceMetadataTags: true}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("settings after flags (-want +got)\n%s", diff)
	}
	if !yes {
		t.Error("Apply wrote through the caller's ExtendedCredentials pointer")
	}

	// Flags left unset change nothing.
	var empty config.Settings
	if err := newFlags(t).Apply(&empty); err != nil || !cmp.Equal(empty, config.Settings{}) {
		t.Errorf("unset flags: %v, settings %+v", err, empty)
	}
}

func TestFlags_BadValues(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.BindFlags(fs)
	if err := fs.Parse([]string{"--hop-limit", "two"}); err == nil || !strings.Contains(err.Error(), `must be a whole number, got "two"`) {
		t.Errorf("Parse(--hop-limit two) = %v", err)
	}
	// Values of the right type that Validate rejects name the flag, and
	// leave the setting alone.
	s := config.Default().Settings
	err := newFlags(t, "--hop-limit", "65", "--http-tokens", "sometimes", "--log-format", "json").Apply(&s)
	var fields []string
	for _, e := range unjoin(err) {
		var ce *config.Error
		if errors.As(e, &ce) {
			fields = append(fields, ce.Field)
		}
	}
	if diff := cmp.Diff([]string{"--http-tokens", "--hop-limit"}, fields); diff != "" {
		t.Errorf("Apply() error fields (-want +got)\n%s\n%v", diff, err)
	}
	if s.HopLimit != 0 || s.HTTPTokens != "optional" || s.LogFormat != "json" {
		t.Errorf("settings = %+v", s)
	}
}

func TestFlags_Resolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(path, yamlLines(
		"data-dir: data",
		"http-tokens: required",
		"log-format: json",
		"hop-limit: 2",
		"instance: {type: m5.large}",
	), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{config.EnvConfig: path, config.EnvLogFormat: "text", config.EnvHopLimit: "4", "HOME": "/home/x"}
	s, seed, err := newFlags(t, "--hop-limit", "5", "--sts-addr", "127.0.0.1:0").Resolve(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default().Settings
	want.DataDir = filepath.Join(dir, "data") // relative to the file
	want.HTTPTokens = "required"              // file
	want.LogFormat = "text"                   // env over file
	want.HopLimit = 5                         // flag over env over file
	want.STSAddr = "127.0.0.1:0"              // flag
	want.Instance.Type = "m5.large"
	want.MetadataAddr, want.AdminAddr = config.DefaultMetadataAddr, config.DefaultAdminAddr // the CLI's defaults
	yes := true
	want.ExtendedCredentials = &yes
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Resolve() settings (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(config.Default().Seed, seed); diff != "" {
		t.Errorf("Resolve() seed (-want +got)\n%s", diff)
	}

	// An instance without a profile keeps none.
	if err := os.WriteFile(path, yamlLines("instance: {profile: ''}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, _, err := newFlags(t, "--config", path, "--data-dir", dir).Resolve(func(string) string { return "" }); err != nil || s.Instance.Profile != "" {
		t.Errorf("Resolve(profile: '') = %v, profile %q", err, s.Instance.Profile)
	}

	// Without a file or a data directory anywhere, XDG_DATA_HOME decides.
	env = map[string]string{"XDG_DATA_HOME": "/xdg"}
	if s, _, err := newFlags(t).Resolve(func(k string) string { return env[k] }); err != nil || s.DataDir != "/xdg/imdsemu" {
		t.Errorf("Resolve() = %v, data dir %q", err, s.DataDir)
	}
	// Errors: the file's, the environment's, the flags'.
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{config.EnvConfig: filepath.Join(dir, "nope.yaml")}, nil, "no such file"},
		{map[string]string{"HOME": "/h", config.EnvHTTPEndpoint: "off"}, nil, `IMDSEMU_HTTP_ENDPOINT: must be "enabled" or "disabled", got "off"`},
		{map[string]string{"HOME": "/h"}, []string{"--admin-addr", "nowhere"}, `--admin-addr: must be host:port`},
		{map[string]string{"HOME": "/h"}, []string{"--rotation-interval", "7h"}, `--rotation-interval: must be shorter than rotation.session-duration`},
		{nil, nil, "no data directory"},
	} {
		_, _, err := newFlags(t, tc.args...).Resolve(func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(env %v, args %q) = %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
}

// TestAllowedHostsAndMaxConnections: the Host names and the connection cap
// come from the file, the environment (a comma-separated list) and the
// flags (repeated or comma-separated), flags winning; bad values name
// where they came from.
func TestAllowedHostsAndMaxConnections(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(path, yamlLines(
		"allowed-hosts: [imdsemu, imdsemu.internal]",
		"max-connections: 100",
	), 0o600); err != nil {
		t.Fatal(err)
	}
	resolve := func(t *testing.T, env map[string]string, args ...string) (config.Settings, error) {
		t.Helper()
		env[config.EnvConfig], env["HOME"] = path, dir
		s, _, err := newFlags(t, args...).Resolve(func(k string) string { return env[k] })
		return s, err
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		hosts []string
		max   int
	}{
		{"file", map[string]string{}, nil, []string{"imdsemu", "imdsemu.internal"}, 100},
		{"env", map[string]string{config.EnvAllowedHosts: " web , worker.test.,", config.EnvMaxConnections: "64"}, nil, []string{"web", "worker.test."}, 64},
		{"flags", map[string]string{config.EnvAllowedHosts: "web"}, []string{"--allowed-hosts", "a,b", "--allowed-hosts", "c_1", "--max-connections", "0"}, []string{"a", "b", "c_1"}, 0},
		{"63-character label", map[string]string{config.EnvAllowedHosts: strings.Repeat("a", 63) + ".example."}, nil, []string{strings.Repeat("a", 63) + ".example."}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := resolve(t, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.hosts, s.AllowedHosts); diff != "" || s.MaxConnections != tc.max {
				t.Errorf("allowed hosts (-want +got)\n%s\nmax connections %d, want %d", diff, s.MaxConnections, tc.max)
			}
		})
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{config.EnvAllowedHosts: "imdsemu:1338"}, nil, `IMDSEMU_ALLOWED_HOSTS: must be a host name without a port (names are allowed on every port), got "imdsemu:1338"; use "imdsemu"`},
		{map[string]string{}, []string{"--allowed-hosts", "127.0.0.1"}, `--allowed-hosts: IP addresses are always allowed; list host names only, got "127.0.0.1"`},
		{map[string]string{}, []string{"--allowed-hosts", "[fd00:ec2::254]"}, `IP addresses are always allowed`},
		{map[string]string{}, []string{"--allowed-hosts", "rebind .example"}, `--allowed-hosts: must be a host name such as imdsemu.internal`},
		{map[string]string{}, []string{"--allowed-hosts", "-x.example"}, `must be a host name`},
		{map[string]string{}, []string{"--allowed-hosts", strings.Repeat("a", 64) + ".example"}, `must be a host name`},
		{map[string]string{config.EnvMaxConnections: "-1"}, nil, `IMDSEMU_MAX_CONNECTIONS: must be 0 (the default: a quarter of the open-file limit) or from 1 to 1048576, got -1`},
		{map[string]string{config.EnvMaxConnections: "many"}, nil, `IMDSEMU_MAX_CONNECTIONS: must be a whole number, got "many"`},
	} {
		if _, err := resolve(t, tc.env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Resolve(env %v, args %q) = %v, want %q", tc.env, tc.args, err, tc.want)
		}
	}
	// In the file, a bad entry is reported at its line and index.
	if err := os.WriteFile(path, yamlLines("allowed-hosts:", "  - imdsemu", "  - imdsemu:80", "max-connections: 2000000"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path)
	for _, want := range []string{"imdsemu.yaml:3:5: allowed-hosts[1]: must be a host name without a port", "imdsemu.yaml:4:18: max-connections: must be 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want %q", err, want)
		}
	}
}

func TestDataDir(t *testing.T) {
	cases := []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"/flag", map[string]string{config.EnvDataDir: "/env"}, "/flag"},
		{"", map[string]string{config.EnvDataDir: "/env", "XDG_DATA_HOME": "/xdg"}, "/env"},
		{"", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/imdsemu"},
		{"", map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/imdsemu"},
	}
	for _, tc := range cases {
		if got, err := config.DataDir(tc.flag, func(k string) string { return tc.env[k] }); err != nil || got != tc.want {
			t.Errorf("DataDir(%q, %v) = %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	if got, err := config.MakeDataDir(dir, func(string) string { return "" }); err != nil || got != dir {
		t.Fatalf("MakeDataDir = %q, %v", got, err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %v", err, fi.Mode())
	}
}

// Every bound setting has a YAML key, help and at most the one variable
// named by its Env constant; docs/configuration.md lists each.
func TestBindings(t *testing.T) {
	consts := []string{config.EnvMetadataAddr, config.EnvAdminAddr, config.EnvDataDir, config.EnvHTTPTokens,
		config.EnvHTTPEndpoint, config.EnvLogFormat, config.EnvRotationInterval, config.EnvSessionDuration,
		config.EnvIPv6Addr, config.EnvECSAddr, config.EnvHopLimit, config.EnvExtendedCredentials,
		config.EnvInstanceMetadataTags, config.EnvThrottleRPS, config.EnvThrottleBurst, config.EnvStartScenario, config.EnvSTSAddr, config.EnvIAMAddr, config.EnvAllowedHosts, config.EnvMaxConnections, config.EnvAdminTokenFile}
	var envs []string
	for _, b := range config.Bindings() {
		if b.Path == "" || b.Help == "" || b.Flag == "" {
			t.Errorf("binding %+v: want a YAML key, a flag and help", b)
		}
		envs = append(envs, b.Env)
	}
	if diff := cmp.Diff(consts, envs); diff != "" {
		t.Errorf("Env constants vs env tags (-consts +tags)\n%s", diff)
	}

	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)`[^\n]*$").FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = m[0]
	}
	for _, b := range config.Bindings() {
		row, ok := rows[b.Flag]
		if !ok {
			for _, r := range rows {
				if strings.Contains(r, "`--"+b.Flag+"`") {
					row, ok = r, true
				}
			}
		}
		key := b.Path[strings.LastIndex(b.Path, ".")+1:]
		if !ok || !strings.Contains(row, "`"+b.Env+"`") || !strings.Contains(row, key) {
			t.Errorf("docs/configuration.md: no row for --%s with `%s` and %s", b.Flag, b.Env, key)
		}
	}
}

// Every field of Settings has a YAML key: a setting the file cannot set is
// a mistake.
func TestSettings_EveryFieldHasAYAMLKey(t *testing.T) {
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := f.Tag.Get("yaml")
			if key == "" || key == "-" {
				t.Errorf("%s%s has no yaml tag", path, f.Name)
			}
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == typ.PkgPath() {
				walk(f.Type, path+f.Name+".")
			}
		}
	}
	walk(reflect.TypeFor[config.Settings](), "Settings.")
}

// Any value of any variable either applies or is one *config.Error naming
// the variable; what applies still validates.
func FuzzApplyEnv(f *testing.F) {
	f.Add(uint8(0), "127.0.0.1:9")
	f.Add(uint8(6), "90")
	f.Add(uint8(10), "NaN")
	f.Add(uint8(11), "on")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		bs := config.Bindings()
		b := bs[int(which)%len(bs)]
		s := config.Default().Settings
		s.MetadataAddr, s.AdminAddr = config.DefaultMetadataAddr, config.DefaultAdminAddr
		err := config.ApplyEnv(&s, func(k string) string {
			if k == b.Env {
				return value
			}
			return ""
		})
		var ce *config.Error
		if err != nil && (!errors.As(err, &ce) || ce.Field != b.Env) {
			t.Fatalf("ApplyEnv(%s=%q) = %v, want a *config.Error for the variable", b.Env, value, err)
		}
		// (A session duration at or under the interval is reported by
		// Validate at rotation.interval, a setting the variable did not set.)
		if err := s.Validate(); err != nil && !strings.Contains(err.Error(), "rotation.interval") {
			t.Fatalf("ApplyEnv(%s=%q) applied settings that do not validate: %v", b.Env, value, err)
		}
	})
}

// The tags Validate reads parse: every match compiles and says what it
// wants (must), every min and max is a number, every check is known.
func TestSettings_CheckTags(t *testing.T) {
	checks := []string{"", "addr", "host", "ipv4", "cidr4", "ipv6", "mac", "zone"}
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := path + f.Name
			if re, ok := f.Tag.Lookup("match"); ok {
				if _, err := regexp.Compile(re); err != nil {
					t.Errorf("%s: match: %v", name, err)
				}
			}
			for _, k := range []string{"min", "max"} {
				if v, ok := f.Tag.Lookup(k); ok {
					if _, err := strconv.ParseInt(v, 10, 64); err != nil {
						t.Errorf("%s: %s: %v", name, k, err)
					}
				}
			}
			_, match := f.Tag.Lookup("match")
			_, lo := f.Tag.Lookup("min")
			_, hi := f.Tag.Lookup("max")
			if (match || lo || hi) && f.Tag.Get("must") == "" {
				t.Errorf("%s: match, min or max without must", name)
			}
			if c := f.Tag.Get("check"); !slices.Contains(checks, c) {
				t.Errorf("%s: unknown check %q", name, c)
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				walk(ft, name+".")
			}
		}
	}
	walk(reflect.TypeFor[config.Settings](), "Settings.")
}
