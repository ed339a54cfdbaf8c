package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/config"
)

func TestApplyEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		mutate  func(s *config.Settings) // expected change from the file's settings
		wantErr []string                 // fields of the errors, in order
	}{
		{"nothing set", nil, func(s *config.Settings) {}, nil},
		{"empty values are ignored", map[string]string{config.EnvHTTPTokens: "", config.EnvLogFormat: ""}, func(s *config.Settings) {}, nil},
		{"every variable", map[string]string{
			"IMDSEMU_METADATA_ADDR":     "0.0.0.0:80",
			"IMDSEMU_ADMIN_ADDR":        "[::1]:9000",
			"IMDSEMU_DATA_DIR":          "/var/lib/imdsemu",
			"IMDSEMU_HTTP_TOKENS":       "optional",
			"IMDSEMU_HTTP_ENDPOINT":     "disabled",
			"IMDSEMU_LOG_FORMAT":        "json",
			"IMDSEMU_ROTATION_INTERVAL": "90",
			"IMDSEMU_SESSION_DURATION":  "2h30m",
		}, func(s *config.Settings) {
			s.MetadataAddr = "0.0.0.0:80"
			s.AdminAddr = "[::1]:9000"
			s.DataDir = "/var/lib/imdsemu"
			s.HTTPTokens = "optional"
			s.HTTPEndpoint = "disabled"
			s.LogFormat = "json"
			s.Rotation = config.Rotation{Interval: 90 * time.Second, SessionDuration: 150 * time.Minute}
		}, nil},
		{"bad values name the variable; good ones still apply", map[string]string{
			"IMDSEMU_HTTP_TOKENS":       "always",
			"IMDSEMU_LOG_FORMAT":        "json",
			"IMDSEMU_ROTATION_INTERVAL": "soon",
			"IMDSEMU_ADMIN_ADDR":        "localhost",
		}, func(s *config.Settings) { s.LogFormat = "json" },
			[]string{"IMDSEMU_ADMIN_ADDR", "IMDSEMU_HTTP_TOKENS", "IMDSEMU_ROTATION_INTERVAL"}},
		{"bad endpoint", map[string]string{"IMDSEMU_HTTP_ENDPOINT": "on"}, func(s *config.Settings) {}, []string{"IMDSEMU_HTTP_ENDPOINT"}},
		{"bad session duration", map[string]string{"IMDSEMU_SESSION_DURATION": "6 hours"}, func(s *config.Settings) {}, []string{"IMDSEMU_SESSION_DURATION"}},
		{"bad metadata addr", map[string]string{"IMDSEMU_METADATA_ADDR": "127.0.0.1:99999"}, func(s *config.Settings) {}, []string{"IMDSEMU_METADATA_ADDR"}},
	}
	file := yamlLines(
		"metadata-addr: 127.0.0.1:1338",
		"data-dir: ./data",
		"http-tokens: required",
		"log-format: text",
		"rotation: {interval: 10m, session-duration: 1h}",
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("imdsemu.yaml", file)
			if err != nil {
				t.Fatal(err)
			}
			want := f.Settings
			tc.mutate(&want)
			err = config.ApplyEnv(&f.Settings, func(k string) string { return tc.env[k] })
			if diff := cmp.Diff(want, f.Settings); diff != "" {
				t.Errorf("ApplyEnv() settings (-want +got)\n%s", diff)
			}
			var fields []string
			for _, e := range unjoin(err) {
				var ce *config.Error
				if !errors.As(e, &ce) {
					t.Fatalf("ApplyEnv() error %v (%T) is not a *config.Error", e, e)
				}
				if !strings.HasPrefix(ce.Error(), ce.Field+": ") || ce.File != "" || ce.Line != 0 {
					t.Errorf("ApplyEnv() error %q: want it to start with the variable and have no file", ce.Error())
				}
				fields = append(fields, ce.Field)
			}
			if diff := cmp.Diff(tc.wantErr, fields); diff != "" {
				t.Errorf("ApplyEnv() error fields (-want +got)\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestApplyEnv_Precedence walks the documented order: defaults, file, env.
func TestApplyEnv_Precedence(t *testing.T) {
	f, err := config.Parse("imdsemu.yaml", yamlLines("http-tokens: required", "log-format: json"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IMDSEMU_LOG_FORMAT": "text", "IMDSEMU_METADATA_ADDR": "127.0.0.1:9"}
	if err := config.ApplyEnv(&f.Settings, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	got := []string{f.Settings.HTTPEndpoint, f.Settings.HTTPTokens, f.Settings.LogFormat, f.Settings.MetadataAddr}
	want := []string{"enabled" /* default */, "required" /* file */, "text" /* env over file */, "127.0.0.1:9" /* env */}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got)\n%s", diff)
	}
	if err := f.Settings.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestSettings_Validate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *config.Settings)
		fields []string
	}{
		{"default", func(s *config.Settings) {}, nil},
		{"addresses set", func(s *config.Settings) { s.MetadataAddr, s.AdminAddr = "169.254.169.254:80", ":0" }, nil},
		{"ipv6 address", func(s *config.Settings) { s.MetadataAddr = "[fd00:ec2::254]:80" }, nil},
		{"address without port", func(s *config.Settings) { s.AdminAddr = "127.0.0.1" }, []string{"admin-addr"}},
		{"address bad port", func(s *config.Settings) { s.MetadataAddr = "127.0.0.1:http" }, []string{"metadata-addr"}},
		{"enums", func(s *config.Settings) { s.HTTPTokens, s.HTTPEndpoint, s.LogFormat = "", "yes", "JSON" },
			[]string{"http-tokens", "http-endpoint", "log-format"}},
		{"tokens required", func(s *config.Settings) { s.HTTPTokens = "required" }, nil},
		{"interval 1s", func(s *config.Settings) {
			s.Rotation = config.Rotation{Interval: time.Second, SessionDuration: 2 * time.Second}
		}, nil},
		{"interval below 1s", func(s *config.Settings) { s.Rotation.Interval = time.Second - 1 }, []string{"rotation.interval"}},
		{"session below 1s", func(s *config.Settings) { s.Rotation = config.Rotation{Interval: time.Second, SessionDuration: 0} },
			[]string{"rotation.session-duration"}},
		{"interval equals session", func(s *config.Settings) {
			s.Rotation = config.Rotation{Interval: time.Hour, SessionDuration: time.Hour}
		},
			[]string{"rotation.interval"}},
		{"interval above session", func(s *config.Settings) {
			s.Rotation = config.Rotation{Interval: 2 * time.Hour, SessionDuration: time.Hour}
		},
			[]string{"rotation.interval"}},
		{"instance ok variants", func(s *config.Settings) {
			s.Instance = config.Instance{ID: "i-0123abcd", Type: "c7gn.16xlarge", Region: "us-gov-west-1",
				AvailabilityZone: "us-gov-west-1b", Account: "000000000000", Profile: "p+=,.@-"}
		}, nil},
		{"local zone", func(s *config.Settings) { s.Instance.AvailabilityZone = "us-east-1-bos-1a" }, nil},
		{"instance empty is allowed", func(s *config.Settings) { s.Instance = config.Instance{} }, nil},
		{"instance bad", func(s *config.Settings) {
			s.Instance = config.Instance{ID: "i-ABC", Type: "micro", Region: "useast1", AvailabilityZone: "eu-west-1a",
				Account: "1", Profile: "a b"}
		}, []string{"instance.id", "instance.type", "instance.region", "instance.availability-zone", "instance.account", "instance.profile"}},
		{"zone of another region", func(s *config.Settings) { s.Instance.AvailabilityZone = "us-east-2a" }, []string{"instance.availability-zone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := config.Default().Settings
			tc.mutate(&s)
			var fields []string
			for _, e := range unjoin(s.Validate()) {
				var ce *config.Error
				if !errors.As(e, &ce) {
					t.Fatalf("Validate() error %v (%T) is not a *config.Error", e, e)
				}
				fields = append(fields, ce.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("Validate() error fields (-want +got)\n%s", diff)
			}
		})
	}
}
