package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	s3Read   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

// yamlLines joins lines with newlines so that each case's line numbers can be
// read off the source: the first line is line 1.
func yamlLines(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func TestParse_Errors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string // the first error, exactly
	}{
		// Structure and types.
		{"unknown top-level key", yamlLines(
			"metdata-addr: 127.0.0.1:1338",
		), `bad.yaml:1:1: metdata-addr: unknown field "metdata-addr" (did you mean "metadata-addr"?)`},
		{"unknown role key", yamlLines(
			"roles:",
			"  - name: web",
			"    max_session: 1h",
		), `bad.yaml:3:5: roles[0].max_session: unknown field "max_session" (did you mean "max-session-duration"?)`},
		{"unknown key without suggestion", yamlLines(
			"instance:",
			"  colour: blue",
		), `bad.yaml:2:3: instance.colour: unknown field "colour"`},
		{"duplicate key", yamlLines(
			"roles:",
			"  - name: web",
			"    path: /a/",
			"    path: /b/",
		), `bad.yaml:4:5: roles[0].path: duplicate key "path" (first at line 3)`},
		{"duplicate top-level key", yamlLines(
			"log-format: text",
			"http-tokens: optional",
			"log-format: json",
		), `bad.yaml:3:1: log-format: duplicate key "log-format" (first at line 1)`},
		{"duration of wrong type", yamlLines(
			"roles:",
			"  - name: web",
			"    max-session-duration: [1]",
		), `bad.yaml:3:27: roles[0].max-session-duration: must be a duration such as "1h" or "90m", or whole seconds, got a list`},
		{"duration unparsable", yamlLines(
			"rotation:",
			"  interval: soon",
		), `bad.yaml:2:13: rotation.interval: must be a duration such as "1h" or "90m", or whole seconds, got "soon"`},
		{"string of wrong type", yamlLines(
			"http-tokens: {a: b}",
		), `bad.yaml:1:14: http-tokens: must be a string, got a mapping`},
		{"roles not a list", yamlLines(
			"roles:",
			"  name: web",
		), `bad.yaml:2:3: roles: must be a list, got a mapping`},
		{"role not a mapping", yamlLines(
			"roles:",
			"  - web",
		), `bad.yaml:2:5: roles[0]: must be a mapping, got "web"`},
		{"root not a mapping", yamlLines(
			"- a",
		), `bad.yaml:1:1: the file must be a mapping of settings, got a list`},
		{"syntax error", yamlLines(
			"log-format: text",
			"http-tokens: a: b",
		), `bad.yaml:2: mapping values are not allowed in this context`},
		{"two documents", yamlLines(
			"log-format: text",
			"---",
			"log-format: json",
		), `bad.yaml:2:1: only one YAML document is allowed`},

		// Missing required fields.
		{"role without name", yamlLines(
			"roles:",
			"  - path: /",
		), `bad.yaml:2:5: roles[0].name: is required`},
		{"role with empty name", yamlLines(
			"roles:",
			`  - name: ""`,
		), `bad.yaml:2:11: roles[0].name: is required`},
		{"account without id", yamlLines(
			"accounts:",
			"  - alias: demo",
		), `bad.yaml:2:5: accounts[0].id: is required`},
		{"profile without name", yamlLines(
			"instance-profiles:",
			"  - role: web",
		), `bad.yaml:2:5: instance-profiles[0].name: is required`},
		{"account required with several accounts", yamlLines(
			"accounts:",
			`  - id: "111111111111"`,
			`  - id: "222222222222"`,
			"roles:",
			"  - name: web",
		), `bad.yaml:5:5: roles[0].account: is required when several accounts are declared`},

		// Values rolestore rejects, mapped back to their line.
		{"max-session-duration too long", yamlLines(
			"accounts:",
			`  - id: "123456789012"`,
			"roles:",
			"  - name: a",
			"  - name: b",
			"    max-session-duration: 13h",
		), `bad.yaml:6:27: roles[1].max-session-duration: must be between 1h0m0s and 12h0m0s, got 13h`},
		{"max-session-duration 3599 seconds", yamlLines(
			"roles:",
			"  - name: a",
			"    max-session-duration: 3599",
		), `bad.yaml:3:27: roles[0].max-session-duration: must be between 1h0m0s and 12h0m0s, got 3599`},
		{"bad role name", yamlLines(
			"roles:",
			"  - name: bad name",
		), `bad.yaml:2:11: roles[0].name: must match [\w+=,.@-]{1,64}, got "bad name"`},
		{"bad path", yamlLines(
			"roles:",
			"  - name: web",
			"    path: app",
		), `bad.yaml:3:11: roles[0].path: must be "/" or start and end with "/" with printable ASCII between, at most 512 characters, got app`},
		{"bad account id", yamlLines(
			"accounts:",
			"  - id: 12345678901",
		), `bad.yaml:2:9: accounts[0].id: must be 12 digits, got 12345678901`},
		{"trust policy not JSON", yamlLines(
			"roles:",
			"  - name: web",
			`    trust-policy: '{"Statement": [}'`,
		), `bad.yaml:3:19: roles[0].trust-policy: is not valid JSON: invalid character '}' looking for beginning of value (at offset 16)`},
		{"trust policy mapping without Statement", yamlLines(
			"roles:",
			"  - name: web",
			"    trust-policy:",
			"      Version: 2012-10-17",
		), `bad.yaml:4:7: roles[0].trust-policy: must have a "Statement"`},
		{"trust policy list", yamlLines(
			"roles:",
			"  - name: web",
			"    trust-policy: [a]",
		), `bad.yaml:3:19: roles[0].trust-policy: must be a JSON document (a string) or a mapping, got a list`},
		{"trust policy duplicate key", yamlLines(
			"roles:",
			"  - name: web",
			"    trust-policy: {Statement: [], Statement: []}",
		), `bad.yaml:3:35: roles[0].trust-policy: duplicate key "Statement" in policy document`},
		{"policy name bad", yamlLines(
			"roles:",
			"  - name: web",
			"    policies:",
			`      "s3 read": {Statement: []}`,
		), `bad.yaml:4:7: roles[0].policies.s3 read: name must match [\w+=,.@-]{1,128}, got "s3 read"`},
		{"policy document bad", yamlLines(
			"roles:",
			"  - name: web",
			"    policies:",
			"      s3-read: '[]'",
		), `bad.yaml:4:16: roles[0].policies.s3-read: document "s3-read" must be a JSON object`},
		{"tag key reserved", yamlLines(
			"roles:",
			"  - name: web",
			"    tags:",
			"      team: platform",
			"      aws:owner: me",
		), `bad.yaml:5:7: roles[0].tags.aws:owner: key must not start with "aws:", got "aws:owner"`},
		{"tag value bad", yamlLines(
			"roles:",
			"  - name: web",
			"    tags: {team: 'a*b'}",
		), `bad.yaml:3:18: roles[0].tags.team: value must be at most 256 characters of letters, digits, spaces and _.:/=+-@`},

		// Cross references.
		{"profile role missing", yamlLines(
			"roles:",
			"  - name: web",
			"instance-profiles:",
			"  - name: web",
			"    role: wbe",
		), `bad.yaml:5:11: instance-profiles[0].role: "wbe" is not a role in account 123456789012`},
		{"two roles on one profile", yamlLines(
			"roles:",
			"  - name: a",
			"  - name: b",
			"instance-profiles:",
			"  - name: p",
			"    roles: [a, b]",
		), `bad.yaml:6:12: instance-profiles[0].roles: must hold at most one role (an AWS limit), got 2`},
		{"role and roles", yamlLines(
			"roles:",
			"  - name: a",
			"instance-profiles:",
			"  - name: p",
			"    role: a",
			"    roles: [a]",
		), `bad.yaml:6:5: instance-profiles[0].roles: give either "role" or "roles", not both`},
		{"role account not declared", yamlLines(
			"accounts:",
			`  - id: "123456789012"`,
			"roles:",
			"  - name: web",
			`    account: "210987654321"`,
		), `bad.yaml:5:14: roles[0].account: "210987654321" is not a declared account`},
		{"duplicate role, case-insensitive", yamlLines(
			"roles:",
			"  - name: web",
			"  - name: Web",
		), `bad.yaml:3:11: roles[1].name: "Web" is declared more than once in account 123456789012 (names are case-insensitive)`},
		{"duplicate account", yamlLines(
			"accounts:",
			`  - id: "123456789012"`,
			`  - id: "123456789012"`,
		), `bad.yaml:3:9: accounts[1].id: "123456789012" is declared more than once`},

		// The instance and its profile.
		{"instance profile not declared", yamlLines(
			"instance:",
			"  profile: nope",
			"roles:",
			"  - name: web",
			"instance-profiles:",
			"  - name: web",
			"    role: web",
		), `bad.yaml:2:12: instance.profile: "nope" is not an instance profile in account 123456789012`},
		{"instance account not declared", yamlLines(
			"instance:",
			`  account: "210987654321"`,
			"accounts:",
			`  - id: "123456789012"`,
		), `bad.yaml:2:12: instance.account: "210987654321" is not a declared account`},
		{"instance account ambiguous", yamlLines(
			"accounts:",
			`  - id: "111111111111"`,
			`  - id: "222222222222"`,
		), `bad.yaml:2:3: instance.account: is required when several accounts are declared`},
		{"instance profile ambiguous", yamlLines(
			"roles:",
			"  - name: web",
			"instance-profiles:",
			"  - name: a",
			"  - name: b",
		), `bad.yaml:4:3: instance.profile: is required when account 123456789012 has several instance profiles (a, b)`},
		{"instance profile not in default entities", yamlLines(
			"instance:",
			"  profile: other",
		), `bad.yaml:2:12: instance.profile: "other" is not an instance profile in account 123456789012`},

		// Settings.
		{"http-tokens enum", yamlLines(
			"http-tokens: maybe",
		), `bad.yaml:1:14: http-tokens: must be "optional" or "required", got "maybe"`},
		{"bad address", yamlLines(
			"metadata-addr: localhost",
		), `bad.yaml:1:16: metadata-addr: must be host:port such as "127.0.0.1:1338", got "localhost"`},
		{"rotation interval not shorter", yamlLines(
			"rotation:",
			"  interval: 6h",
			"  session-duration: 6h",
		), `bad.yaml:2:13: rotation.interval: must be shorter than rotation.session-duration (6h0m0s), got 6h0m0s`},
		{"session duration too short", yamlLines(
			"rotation:",
			"  interval: 0s",
			"  session-duration: 0",
		), `bad.yaml:2:13: rotation.interval: must be at least 1s, got 0s`},
		{"instance id", yamlLines(
			"instance:",
			"  id: i-xyz",
		), `bad.yaml:2:7: instance.id: must be "i-" followed by 8 or 17 lowercase hex digits, got "i-xyz"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("bad.yaml", tc.data)
			if err == nil {
				t.Fatalf("Parse() = %+v, nil; want error %s", f, tc.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse() error %v (%T) is not a *config.Error", err, err)
			}
			if got := ce.Error(); got != tc.want {
				t.Errorf("Parse() first error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParse_SeveralErrors(t *testing.T) {
	data := yamlLines(
		"roles:",
		"  - name: a",
		"    max-session-duration: 13h",
		"  - name: bad name",
		"log-format: xml",
	)
	_, err := config.Parse("x.yaml", data)
	want := strings.Join([]string{
		`x.yaml:3:27: roles[0].max-session-duration: must be between 1h0m0s and 12h0m0s, got 13h`,
		`x.yaml:4:11: roles[1].name: must match [\w+=,.@-]{1,64}, got "bad name"`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() = %v\nwant %s", err, want)
	}
}

func TestParse_ErrorsNeverContainDocuments(t *testing.T) {
	data := yamlLines(
		"roles:",
		"  - name: web",
		`    trust-policy: '{"Statement": [], "Secret": "SECRETMARKER"'`,
		"    policies:",
		`      p: '{"Statement": "SECRETMARKER"}  ]'`,
	)
	_, err := config.Parse("x.yaml", data)
	if err == nil || strings.Contains(err.Error(), "SECRETMARKER") {
		t.Fatalf("Parse() = %v, want an error without the document", err)
	}
}

func TestParse_Full(t *testing.T) {
	f, err := config.Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	want := &config.File{
		Settings: config.Settings{
			MetadataAddr: "127.0.0.1:1338",
			AdminAddr:    "127.0.0.1:1340",
			DataDir:      "./data",
			HTTPTokens:   "optional",
			HTTPEndpoint: "enabled",
			LogFormat:    "text",
			Rotation:     config.Rotation{Interval: time.Hour, SessionDuration: 6 * time.Hour},
			Instance: config.Instance{
				ID: "i-0123456789abcdef0", Type: "t3.micro", Region: "us-east-1", AvailabilityZone: "us-east-1a",
				Profile: "imdsemu-demo", Account: "123456789012",
			},
		},
		Seed: rolestore.Seed{
			Accounts: []rolestore.Account{{ID: "123456789012", Alias: "demo"}},
			Roles: []rolestore.Role{{
				AccountID:          "123456789012",
				Name:               "imdsemu-demo",
				Path:               "/",
				TrustPolicy:        ec2Trust,
				Policies:           map[string]string{"s3-read": s3Read},
				MaxSessionDuration: time.Hour,
				Tags:               []rolestore.Tag{{Key: "team", Value: "platform"}},
			}},
			InstanceProfiles: []rolestore.InstanceProfile{{
				AccountID: "123456789012",
				Name:      "imdsemu-demo",
				Roles:     []string{"imdsemu-demo"},
			}},
		},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Fatalf("Load(full.yaml) (-want +got)\n%s", diff)
	}

	// The seed goes into a store unchanged.
	s, err := rolestore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Apply(ctx, f.Seed); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	r, err := s.RoleByARN(ctx, "arn:aws:iam::123456789012:role/imdsemu-demo")
	if err != nil {
		t.Fatal(err)
	}
	r.ID, r.CreatedAt = "", time.Time{}
	if diff := cmp.Diff(want.Seed.Roles[0], r); diff != "" {
		t.Errorf("stored role (-want +got)\n%s", diff)
	}
}

func TestParse_Defaults(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want func() *config.File
	}{
		{"empty file", nil, config.Default},
		{"only comments", yamlLines("# nothing here"), config.Default},
		{"null document", yamlLines("~"), config.Default},
		{"settings only keep default entities", yamlLines(
			"http-tokens: required",
			"rotation:",
			"  interval: 30m",
		), func() *config.File {
			f := config.Default()
			f.Settings.HTTPTokens = "required"
			f.Settings.Rotation.Interval = 30 * time.Minute
			return f
		}},
		{"empty entity lists count as none", yamlLines(
			"accounts: []",
			"roles: []",
		), config.Default},
		{"no profile for the instance", yamlLines(
			"instance:",
			`  profile: ""`,
		), func() *config.File {
			f := config.Default()
			f.Settings.Instance.Profile = ""
			return f
		}},
		{"declared entities replace the defaults; defaults fill in", yamlLines(
			"instance:",
			`  account: "210987654321"`,
			"roles:",
			"  - name: app",
			"    max-session-duration: 7200",
			"    trust-policy:",
			"      Version: 2012-10-17",
			"      Statement:",
			"        - Effect: Allow",
			"          Principal: {AWS: 'arn:aws:iam::210987654321:root'}",
			"          Action: [sts:AssumeRole, sts:TagSession]",
			"          Condition: {Bool: {aws:MultiFactorAuthPresent: true}, NumericLessThan: {x: 3}}",
			"instance-profiles:",
			"  - name: app-profile",
			"    roles: [app]",
		), func() *config.File {
			f := config.Default()
			f.Settings.Instance.Account = "210987654321"
			f.Settings.Instance.Profile = "app-profile"
			f.Seed = rolestore.Seed{
				Accounts: []rolestore.Account{{ID: "210987654321"}},
				Roles: []rolestore.Role{{
					AccountID: "210987654321", Name: "app", MaxSessionDuration: 2 * time.Hour,
					TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},` +
						`"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"x":3}}}]}`,
				}},
				InstanceProfiles: []rolestore.InstanceProfile{{AccountID: "210987654321", Name: "app-profile", Roles: []string{"app"}}},
			}
			return f
		}},
		{"role defaults: EC2 trust, only account, unquoted account id", yamlLines(
			"accounts:",
			"  - id: 111111111111",
			"roles:",
			"  - name: web",
			"instance-profiles:",
			"  - {name: web, role: web}",
		), func() *config.File {
			f := config.Default()
			f.Settings.Instance.Account = "111111111111"
			f.Settings.Instance.Profile = "web"
			f.Seed = rolestore.Seed{
				Accounts:         []rolestore.Account{{ID: "111111111111"}},
				Roles:            []rolestore.Role{{AccountID: "111111111111", Name: "web", TrustPolicy: ec2Trust}},
				InstanceProfiles: []rolestore.InstanceProfile{{AccountID: "111111111111", Name: "web", Roles: []string{"web"}}},
			}
			return f
		}},
		{"x- keys hold anchors", yamlLines(
			"x-common: &common",
			"  account: '123456789012'",
			"  path: /shared/",
			"roles:",
			"  - <<: *common",
			"    name: a",
			"  - <<: *common",
			"    name: b",
			"    path: /own/",
		), func() *config.File {
			f := config.Default()
			f.Settings.Instance.Profile = ""
			f.Seed = rolestore.Seed{
				Accounts: []rolestore.Account{{ID: "123456789012"}},
				Roles: []rolestore.Role{
					{AccountID: "123456789012", Name: "a", Path: "/shared/", TrustPolicy: ec2Trust},
					{AccountID: "123456789012", Name: "b", Path: "/own/", TrustPolicy: ec2Trust},
				},
			}
			return f
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.Parse("ok.yaml", tc.data)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if diff := cmp.Diff(tc.want(), got); diff != "" {
				t.Errorf("Parse() (-want +got)\n%s", diff)
			}
		})
	}
}

func TestParse_AnchorsAndMerge(t *testing.T) {
	data := yamlLines(
		"roles:",
		"  - &base",
		"    name: a",
		"    path: /shared/",
		"    tags: {team: x}",
		"  - <<: *base",
		"    name: b",
		"instance-profiles:",
		"  - name: p",
		"    role: a",
	)
	f, err := config.Parse("ok.yaml", data)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	want := []rolestore.Role{
		{AccountID: config.DefaultAccountID, Name: "a", Path: "/shared/", TrustPolicy: ec2Trust, Tags: []rolestore.Tag{{Key: "team", Value: "x"}}},
		{AccountID: config.DefaultAccountID, Name: "b", Path: "/shared/", TrustPolicy: ec2Trust, Tags: []rolestore.Tag{{Key: "team", Value: "x"}}},
	}
	if diff := cmp.Diff(want, f.Seed.Roles); diff != "" {
		t.Errorf("roles (-want +got)\n%s", diff)
	}
}

func TestDefault(t *testing.T) {
	a, b := config.Default(), config.Default()
	a.Seed.Roles[0].Policies["x"] = "y"
	a.Seed.Roles[0].Tags[0].Value = "changed"
	if diff := cmp.Diff(config.Default(), b); diff != "" {
		t.Fatalf("Default() shares state between calls (-fresh +b)\n%s", diff)
	}
	if err := b.Seed.Validate(); err != nil {
		t.Errorf("Default().Seed.Validate() = %v", err)
	}
	if err := b.Settings.Validate(); err != nil {
		t.Errorf("Default().Settings.Validate() = %v", err)
	}
	in := b.Settings.Instance
	if in.Profile != "imdsemu-demo" || in.Account != "123456789012" || in.ID != "i-0123456789abcdef0" ||
		in.Region != "us-east-1" || in.AvailabilityZone != "us-east-1a" || b.Settings.MetadataAddr != "" {
		t.Errorf("Default().Settings = %+v", b.Settings)
	}
	r := b.Seed.Roles[0]
	if r.Name != "imdsemu-demo" || r.MaxSessionDuration != time.Hour || r.TrustPolicy != config.EC2TrustPolicy {
		t.Errorf("Default() role = %+v", r)
	}
	if p := b.Seed.InstanceProfiles[0]; p.Name != "imdsemu-demo" || len(p.Roles) != 1 || p.Roles[0] != "imdsemu-demo" {
		t.Errorf("Default() profile = %+v", p)
	}
}

func TestLoad_Missing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestError_Error(t *testing.T) {
	cases := []struct {
		err  config.Error
		want string
	}{
		{config.Error{File: "imdsemu.yaml", Line: 14, Column: 27, Field: "roles[1].max-session-duration", Msg: "must be between 1h0m0s and 12h0m0s, got 13h"},
			"imdsemu.yaml:14:27: roles[1].max-session-duration: must be between 1h0m0s and 12h0m0s, got 13h"},
		{config.Error{File: "a.yaml", Line: 3, Msg: "syntax"}, "a.yaml:3: syntax"},
		{config.Error{File: "a.yaml", Field: "instance.profile", Msg: "m"}, "a.yaml: instance.profile: m"},
		{config.Error{Field: "IMDSEMU_LOG_FORMAT", Msg: "m"}, "IMDSEMU_LOG_FORMAT: m"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	full, err := os.ReadFile(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte("roles: [{name: a, <<: {path: /x/}}]"))
	f.Add([]byte("a: &x {b: *x}"))
	f.Add([]byte("roles:\n  - &r\n    name: a\n    <<: *r\n"))
	f.Add([]byte("roles: [{name: a, trust-policy: &t {Statement: [*t]}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := config.Parse("fuzz.yaml", data)
		if err == nil {
			if err := file.Seed.Validate(); err != nil {
				t.Fatalf("Parse() accepted a seed that does not validate: %v", err)
			}
			if err := file.Settings.Validate(); err != nil {
				t.Fatalf("Parse() accepted settings that do not validate: %v", err)
			}
			return
		}
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Fatalf("Parse() error %v (%T) is not a *config.Error", err, err)
		}
	})
}

func TestParse_AliasBomb(t *testing.T) {
	lines := []string{"x-0: &a0 [Statement, Statement, Statement, Statement, Statement, Statement, Statement, Statement]"}
	for i := 1; i <= 9; i++ {
		lines = append(lines, fmt.Sprintf("x-%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1))
	}
	lines = append(lines, "roles:", "  - name: web", "    trust-policy: {Statement: *a9}")
	_, err := config.Parse("bomb.yaml", yamlLines(lines...))
	want := "bomb.yaml:13:19: roles[0].trust-policy: policy document is too large"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() = %v, want %s", err, want)
	}
}

// docs/imdsemu.example.yaml, which shows every key, parses.
func TestParse_ExampleFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "imdsemu.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idp.xml"), []byte(samlMetadata), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse(filepath.Join(dir, "imdsemu.yaml"), data)
	if err != nil {
		t.Fatalf("Parse(imdsemu.example.yaml) = %v", err)
	}
	if len(f.Settings.Scenarios) != 2 || f.Settings.Scenarios[1].Steps[0].Notice == nil || len(f.Seed.Users) != 1 || len(f.Seed.SAMLProviders) != 1 || f.Settings.Instance.Tags["Name"] != "web-1" {
		t.Errorf("Parse(imdsemu.example.yaml) = %+v", f)
	}
}

func TestParse_Shapes(t *testing.T) {
	f, err := config.Parse("ok.yaml", yamlLines(
		"http-tokens: ~", // null is the same as leaving the key out
		"instance: {profile: ~}",
		"roles:",
		"  - name: web",
		"    trust-policy: ~",
		"instance-profiles:",
		"  - {name: web, roles: web}", // one name or a list
		"users:",
		"  - {name: alice, groups: developers}",
	))
	if err != nil {
		t.Fatal(err)
	}
	if f.Settings.HTTPTokens != config.HTTPTokensOptional || f.Settings.Instance.Profile != "web" ||
		f.Seed.Roles[0].TrustPolicy != ec2Trust || len(f.Seed.InstanceProfiles[0].Roles) != 1 || f.Seed.Users[0].Groups[0] != "developers" {
		t.Errorf("Parse() = %+v", f)
	}

	for _, tc := range []struct{ data, want string }{
		{"instance-profiles: [{name: p, roles: [a, [b]]}]", `ok.yaml:1:42: instance-profiles[0].roles[1]: must be a role name, got a list`},
		{"users: [{name: a, groups: {x: y}}]", `ok.yaml:1:27: users[0].groups: must be a group name or a list of them, got a mapping`},
		{"roles: [~]", `ok.yaml:1:9: roles[0].name: is required`},
		{"throttle: {rps: fast}", `ok.yaml:1:17: throttle.rps: must be a number, got "fast"`},
		{"instance-metadata-tags: yes", `ok.yaml:1:25: instance-metadata-tags: must be true or false, got "yes"`},
		{"instance: {tags: {a: [1]}}", `ok.yaml:1:22: instance.tags.a: must be a string, got a list`},
		{"scenarios: {s: [{fault: {action: reset, dealy: 1s}}]}", `ok.yaml:1:41: scenarios.s[0].fault.dealy: unknown field "dealy" (did you mean "delay"?)`},
	} {
		_, err := config.Parse("ok.yaml", []byte(tc.data))
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Error() != tc.want {
			t.Errorf("Parse(%s) = %v\nwant %s", tc.data, err, tc.want)
		}
	}
}
