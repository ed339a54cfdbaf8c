package rolestore_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	acct  = "123456789012"
	trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	read  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

func validRole() rolestore.Role {
	return rolestore.Role{
		AccountID:   acct,
		Name:        "web",
		Path:        "/app/",
		Description: "the web tier",
		TrustPolicy: trust,
		Policies:    map[string]string{"s3-read": read},
		Tags:        []rolestore.Tag{{Key: "team", Value: "platform"}},
	}
}

// policyOfSize returns a valid policy document of exactly n characters.
func policyOfSize(t testing.TB, n int) string {
	t.Helper()
	const head, tail = `{"Statement":[],"Pad":"`, `"}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("policyOfSize(%d): too small", n)
	}
	return head + strings.Repeat("x", pad) + tail
}

func manyTags(n int) []rolestore.Tag {
	tags := make([]rolestore.Tag, n)
	for i := range tags {
		tags[i] = rolestore.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	return tags
}

func TestRole_Validate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *rolestore.Role)
		field  string // "" = valid
		key    string
	}{
		{"valid", func(r *rolestore.Role) {}, "", ""},
		{"minimal", func(r *rolestore.Role) {
			*r = rolestore.Role{AccountID: acct, Name: "r", TrustPolicy: trust}
		}, "", ""},

		// AccountID
		{"account empty", func(r *rolestore.Role) { r.AccountID = "" }, "AccountID", ""},
		{"account 11 digits", func(r *rolestore.Role) { r.AccountID = "12345678901" }, "AccountID", ""},
		{"account letters", func(r *rolestore.Role) { r.AccountID = "12345678901a" }, "AccountID", ""},

		// Name
		{"name empty", func(r *rolestore.Role) { r.Name = "" }, "Name", ""},
		{"name space", func(r *rolestore.Role) { r.Name = "bad name" }, "Name", ""},
		{"name slash", func(r *rolestore.Role) { r.Name = "a/b" }, "Name", ""},
		{"name all allowed chars", func(r *rolestore.Role) { r.Name = "Az09_+=,.@-" }, "", ""},
		{"name 64", func(r *rolestore.Role) { r.Name = strings.Repeat("a", 64) }, "", ""},
		{"name 65", func(r *rolestore.Role) { r.Name = strings.Repeat("a", 65) }, "Name", ""},
		{"name non-ascii", func(r *rolestore.Role) { r.Name = "rôle" }, "Name", ""},

		// Path
		{"path empty means root", func(r *rolestore.Role) { r.Path = "" }, "", ""},
		{"path root", func(r *rolestore.Role) { r.Path = "/" }, "", ""},
		{"path nested", func(r *rolestore.Role) { r.Path = "/a/b-c/" }, "", ""},
		{"path no leading slash", func(r *rolestore.Role) { r.Path = "a/" }, "Path", ""},
		{"path no trailing slash", func(r *rolestore.Role) { r.Path = "/a" }, "Path", ""},
		{"path space", func(r *rolestore.Role) { r.Path = "/a b/" }, "Path", ""},
		{"path 512", func(r *rolestore.Role) { r.Path = "/" + strings.Repeat("a", 510) + "/" }, "", ""},
		{"path 513", func(r *rolestore.Role) { r.Path = "/" + strings.Repeat("a", 511) + "/" }, "Path", ""},

		// ID
		{"id generated form", func(r *rolestore.Role) { r.ID = "AROAABCDEFGHIJKLMNOPQ" }, "", ""},
		{"id wrong prefix", func(r *rolestore.Role) { r.ID = "AIPAABCDEFGHIJKLMNOPQ" }, "ID", ""},
		{"id short", func(r *rolestore.Role) { r.ID = "AROAABC" }, "ID", ""},

		// Description
		{"description 1000", func(r *rolestore.Role) { r.Description = strings.Repeat("é", 1000) }, "", ""},
		{"description 1001", func(r *rolestore.Role) { r.Description = strings.Repeat("a", 1001) }, "Description", ""},

		// TrustPolicy
		{"trust missing", func(r *rolestore.Role) { r.TrustPolicy = "" }, "TrustPolicy", ""},
		{"trust not json", func(r *rolestore.Role) { r.TrustPolicy = `{"Statement":` }, "TrustPolicy", ""},
		{"trust array", func(r *rolestore.Role) { r.TrustPolicy = `[]` }, "TrustPolicy", ""},
		{"trust null", func(r *rolestore.Role) { r.TrustPolicy = `null` }, "TrustPolicy", ""},
		{"trust no statement", func(r *rolestore.Role) { r.TrustPolicy = `{"Version":"2012-10-17"}` }, "TrustPolicy", ""},
		{"trust 2048", func(r *rolestore.Role) { r.TrustPolicy = policyOfSize(t, 2048) }, "", ""},
		{"trust 2049", func(r *rolestore.Role) { r.TrustPolicy = policyOfSize(t, 2049) }, "TrustPolicy", ""},
		{"trust whitespace not counted", func(r *rolestore.Role) {
			r.TrustPolicy = strings.Replace(policyOfSize(t, 2048), `{`, "{\n"+strings.Repeat(" ", 500), 1)
		}, "", ""},

		// Policies
		{"policies none", func(r *rolestore.Role) { r.Policies = nil }, "", ""},
		{"policy name bad", func(r *rolestore.Role) { r.Policies = map[string]string{"s3 read": read} }, "Policies", "s3 read"},
		{"policy name 128", func(r *rolestore.Role) { r.Policies = map[string]string{strings.Repeat("p", 128): read} }, "", ""},
		{"policy name 129", func(r *rolestore.Role) { r.Policies = map[string]string{strings.Repeat("p", 129): read} }, "Policies", strings.Repeat("p", 129)},
		{"policy bad json", func(r *rolestore.Role) { r.Policies = map[string]string{"p": `{`} }, "Policies", "p"},
		{"policy no statement", func(r *rolestore.Role) { r.Policies = map[string]string{"p": `{}`} }, "Policies", "p"},
		{"policies total 10240", func(r *rolestore.Role) {
			r.Policies = map[string]string{"a": policyOfSize(t, 5120), "b": policyOfSize(t, 5120)}
		}, "", ""},
		{"policies total 10241", func(r *rolestore.Role) {
			r.Policies = map[string]string{"a": policyOfSize(t, 5120), "b": policyOfSize(t, 5121)}
		}, "Policies", ""},

		// MaxSessionDuration
		{"duration zero means default", func(r *rolestore.Role) { r.MaxSessionDuration = 0 }, "", ""},
		{"duration 3599", func(r *rolestore.Role) { r.MaxSessionDuration = 3599 * time.Second }, "MaxSessionDuration", ""},
		{"duration 3600", func(r *rolestore.Role) { r.MaxSessionDuration = 3600 * time.Second }, "", ""},
		{"duration 43200", func(r *rolestore.Role) { r.MaxSessionDuration = 43200 * time.Second }, "", ""},
		{"duration 43201", func(r *rolestore.Role) { r.MaxSessionDuration = 43201 * time.Second }, "MaxSessionDuration", ""},
		{"duration negative", func(r *rolestore.Role) { r.MaxSessionDuration = -time.Hour }, "MaxSessionDuration", ""},
		{"duration fractional", func(r *rolestore.Role) { r.MaxSessionDuration = time.Hour + time.Millisecond }, "MaxSessionDuration", ""},

		// Tags
		{"tags 50", func(r *rolestore.Role) { r.Tags = manyTags(50) }, "", ""},
		{"tags 51", func(r *rolestore.Role) { r.Tags = manyTags(51) }, "Tags", ""},
		{"tag key empty", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "", Value: "v"}} }, "Tags", ""},
		{"tag key 128", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: strings.Repeat("k", 128)}} }, "", ""},
		{"tag key 129", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: strings.Repeat("k", 129)}} }, "Tags", strings.Repeat("k", 129)},
		{"tag key unicode and symbols", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "Équipe 1_.:/=+-@", Value: "ok"}} }, "", ""},
		{"tag key bad char", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "a*b"}} }, "Tags", "a*b"},
		{"tag key aws prefix", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "aws:foo"}} }, "Tags", "aws:foo"},
		{"tag key AWS prefix", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "AWS:foo"}} }, "Tags", "AWS:foo"},
		{"tag keys case-insensitive dup", func(r *rolestore.Role) {
			r.Tags = []rolestore.Tag{{Key: "Team", Value: "a"}, {Key: "team", Value: "b"}}
		}, "Tags", "team"},
		{"tag value empty", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "k"}} }, "", ""},
		{"tag value 256", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "k", Value: strings.Repeat("v", 256)}} }, "", ""},
		{"tag value 257", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "k", Value: strings.Repeat("v", 257)}} }, "Tags", "k"},
		{"tag value bad char", func(r *rolestore.Role) { r.Tags = []rolestore.Tag{{Key: "k", Value: "a,b"}} }, "Tags", "k"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := validRole()
			tc.mutate(&r)
			checkValidation(t, r.Validate(), rolestore.EntityRole, tc.field, tc.key)
		})
	}
}

func checkValidation(t *testing.T, err error, entity, field, key string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
		return
	}
	var ve *rolestore.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v (%T), want *ValidationError on %s", err, err, field)
	}
	if ve.Entity != entity || ve.Field != field || ve.Key != key {
		t.Fatalf("Validate() = %v: entity, field, key = %q, %q, %q, want %q, %q, %q", err, ve.Entity, ve.Field, ve.Key, entity, field, key)
	}
	if ve.Reason == "" {
		t.Fatalf("Validate() = %v: empty Reason", err)
	}
}

func TestRole_ValidateNeverLeaksDocuments(t *testing.T) {
	r := validRole()
	secret := "SECRETMARKER"
	r.TrustPolicy = `{"Statement":[], "X":"` + secret + `"` // truncated JSON
	err := r.Validate()
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Validate() = %v, want an error without the document", err)
	}
	r = validRole()
	r.Policies = map[string]string{"p": `{"Statement":"` + secret + `"` + strings.Repeat(" ", 20000) + `}`}
	r.Policies["q"] = policyOfSize(t, 10240)
	err = r.Validate()
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Validate() = %v, want an error without the document", err)
	}
}

func TestValidationError_Error(t *testing.T) {
	cases := []struct {
		err  *rolestore.ValidationError
		want string
	}{
		{
			&rolestore.ValidationError{Entity: "role", Name: "bad name", Field: "Name", Value: "bad name", Reason: `must match [\w+=,.@-]{1,64}`},
			`role "bad name": RoleName "bad name" must match [\w+=,.@-]{1,64}`,
		},
		{
			&rolestore.ValidationError{Entity: "role", Name: "web", Field: "TrustPolicy", Reason: "is required"},
			`role "web": TrustPolicy is required`,
		},
		{
			&rolestore.ValidationError{Entity: "instance profile", Name: "p q", Field: "Name", Value: "p q", Reason: "must match"},
			`instance profile "p q": InstanceProfileName "p q" must match`,
		},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	// The real message for a bad role name is the documented one.
	r := validRole()
	r.Name = "bad name"
	if got, want := r.Validate().Error(), `role "bad name": RoleName "bad name" must match [\w+=,.@-]{1,64}`; got != want {
		t.Errorf("Validate().Error() = %q, want %q", got, want)
	}
}

func TestInstanceProfile_Validate(t *testing.T) {
	valid := func() rolestore.InstanceProfile {
		return rolestore.InstanceProfile{AccountID: acct, Name: "web", Path: "/", Roles: []string{"web"}}
	}
	cases := []struct {
		name   string
		mutate func(p *rolestore.InstanceProfile)
		field  string
		key    string
	}{
		{"valid", func(p *rolestore.InstanceProfile) {}, "", ""},
		{"no roles", func(p *rolestore.InstanceProfile) { p.Roles = nil }, "", ""},
		{"two roles", func(p *rolestore.InstanceProfile) { p.Roles = []string{"a", "b"} }, "Roles", ""},
		{"bad role name", func(p *rolestore.InstanceProfile) { p.Roles = []string{"a b"} }, "Roles", "a b"},
		{"account bad", func(p *rolestore.InstanceProfile) { p.AccountID = "1" }, "AccountID", ""},
		{"name 128", func(p *rolestore.InstanceProfile) { p.Name = strings.Repeat("n", 128) }, "", ""},
		{"name 129", func(p *rolestore.InstanceProfile) { p.Name = strings.Repeat("n", 129) }, "Name", ""},
		{"name empty", func(p *rolestore.InstanceProfile) { p.Name = "" }, "Name", ""},
		{"path empty", func(p *rolestore.InstanceProfile) { p.Path = "" }, "", ""},
		{"path bad", func(p *rolestore.InstanceProfile) { p.Path = "/x" }, "Path", ""},
		{"id ok", func(p *rolestore.InstanceProfile) { p.ID = "AIPAABCDEFGHIJKLMNOPQ" }, "", ""},
		{"id role prefix", func(p *rolestore.InstanceProfile) { p.ID = "AROAABCDEFGHIJKLMNOPQ" }, "ID", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.mutate(&p)
			checkValidation(t, p.Validate(), rolestore.EntityInstanceProfile, tc.field, tc.key)
		})
	}
}

func TestAccount_Validate(t *testing.T) {
	cases := []struct {
		a     rolestore.Account
		field string
	}{
		{rolestore.Account{ID: acct}, ""},
		{rolestore.Account{ID: acct, Alias: "demo-1"}, ""},
		{rolestore.Account{ID: "000000000000"}, ""},
		{rolestore.Account{ID: ""}, "ID"},
		{rolestore.Account{ID: "1234567890123"}, "ID"},
		{rolestore.Account{ID: acct, Alias: "ab"}, "Alias"},
		{rolestore.Account{ID: acct, Alias: "Demo"}, "Alias"},
		{rolestore.Account{ID: acct, Alias: "-demo"}, "Alias"},
		{rolestore.Account{ID: acct, Alias: "de--mo"}, "Alias"},
		{rolestore.Account{ID: acct, Alias: strings.Repeat("a", 64)}, "Alias"},
	}
	for _, tc := range cases {
		t.Run(tc.a.ID+"/"+tc.a.Alias, func(t *testing.T) {
			checkValidation(t, tc.a.Validate(), rolestore.EntityAccount, tc.field, "")
		})
	}
}

func TestARN(t *testing.T) {
	cases := []struct{ got, want string }{
		{rolestore.Role{AccountID: acct, Name: "web", Path: "/app/"}.ARN(), "arn:aws:iam::123456789012:role/app/web"},
		{rolestore.Role{AccountID: acct, Name: "web", Path: "/"}.ARN(), "arn:aws:iam::123456789012:role/web"},
		{rolestore.Role{AccountID: acct, Name: "web"}.ARN(), "arn:aws:iam::123456789012:role/web"},
		{rolestore.InstanceProfile{AccountID: acct, Name: "p", Path: "/a/b/"}.ARN(), "arn:aws:iam::123456789012:instance-profile/a/b/p"},
		{rolestore.InstanceProfile{AccountID: acct, Name: "p"}.ARN(), "arn:aws:iam::123456789012:instance-profile/p"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("ARN() = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseRoleARN(t *testing.T) {
	cases := []struct {
		arn                 string
		account, path, name string
		ok                  bool
	}{
		{"arn:aws:iam::123456789012:role/web", acct, "/", "web", true},
		{"arn:aws:iam::123456789012:role/app/x/web", acct, "/app/x/", "web", true},
		{"arn:aws:iam::123456789012:role/", "", "", "", false},
		{"arn:aws:iam::123456789012:user/web", "", "", "", false},
		{"arn:aws:sts::123456789012:role/web", "", "", "", false},
		{"arn:aws:iam:us-east-1:123456789012:role/web", "", "", "", false},
		{"web", "", "", "", false},
	}
	for _, tc := range cases {
		a, p, n, err := rolestore.ParseRoleARN(tc.arn)
		if (err == nil) != tc.ok || a != tc.account || p != tc.path || n != tc.name {
			t.Errorf("ParseRoleARN(%q) = %q, %q, %q, %v, want %q, %q, %q, ok=%v", tc.arn, a, p, n, err, tc.account, tc.path, tc.name, tc.ok)
		}
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^AROA[A-Z2-7]{17}$`)
	seen := map[string]bool{}
	for range 100 {
		id, err := rolestore.NewID("AROA", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) || len(id) != 21 {
			t.Fatalf("NewID() = %q, want AROA + 17 base32", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	// Deterministic with a fixed reader.
	a, _ := rolestore.NewID("AIPA", bytes.NewReader(make([]byte, 11)))
	if a != "AIPAAAAAAAAAAAAAAAAAA" {
		t.Errorf("NewID(zeros) = %q, want AIPAAAAAAAAAAAAAAAAAA", a)
	}
	if _, err := rolestore.NewID("AIDA", bytes.NewReader(make([]byte, 3))); err == nil {
		t.Errorf("NewID(short reader) = nil error, want error")
	}
}

func TestSeed_Validate(t *testing.T) {
	role := func(account, name string) rolestore.Role {
		return rolestore.Role{AccountID: account, Name: name, TrustPolicy: trust}
	}
	profile := func(account, name string, roles ...string) rolestore.InstanceProfile {
		return rolestore.InstanceProfile{AccountID: account, Name: name, Roles: roles}
	}
	other := "210987654321"
	cases := []struct {
		name   string
		seed   rolestore.Seed
		entity string
		index  int
		field  string
	}{
		{"empty", rolestore.Seed{}, "", 0, ""},
		{"full", rolestore.Seed{
			Accounts:         []rolestore.Account{{ID: acct}, {ID: other}},
			Roles:            []rolestore.Role{role(acct, "a"), role(other, "a")},
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "a", "a"), profile(other, "a", "A")},
		}, "", 0, ""},
		{"bad account", rolestore.Seed{Accounts: []rolestore.Account{{ID: acct}, {ID: "x"}}}, "account", 1, "ID"},
		{"duplicate account", rolestore.Seed{Accounts: []rolestore.Account{{ID: acct}, {ID: acct}}}, "account", 1, "ID"},
		{"role undeclared account", rolestore.Seed{
			Accounts: []rolestore.Account{{ID: acct}},
			Roles:    []rolestore.Role{role(acct, "a"), role(other, "b")},
		}, "role", 1, "AccountID"},
		{"role invalid", rolestore.Seed{
			Accounts: []rolestore.Account{{ID: acct}},
			Roles:    []rolestore.Role{role(acct, "a"), {AccountID: acct, Name: "b"}},
		}, "role", 1, "TrustPolicy"},
		{"duplicate role differing in case", rolestore.Seed{
			Accounts: []rolestore.Account{{ID: acct}},
			Roles:    []rolestore.Role{role(acct, "a"), role(acct, "b"), role(acct, "A")},
		}, "role", 2, "Name"},
		{"profile role missing", rolestore.Seed{
			Accounts:         []rolestore.Account{{ID: acct}},
			Roles:            []rolestore.Role{role(acct, "a")},
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "p", "nope")},
		}, "instance profile", 0, "Roles"},
		{"profile role in other account", rolestore.Seed{
			Accounts:         []rolestore.Account{{ID: acct}, {ID: other}},
			Roles:            []rolestore.Role{role(other, "a")},
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "p", "a")},
		}, "instance profile", 0, "Roles"},
		{"profile two roles", rolestore.Seed{
			Accounts:         []rolestore.Account{{ID: acct}},
			Roles:            []rolestore.Role{role(acct, "a"), role(acct, "b")},
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "p", "a", "b")},
		}, "instance profile", 0, "Roles"},
		{"profile undeclared account", rolestore.Seed{
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "p")},
		}, "instance profile", 0, "AccountID"},
		{"duplicate profile", rolestore.Seed{
			Accounts:         []rolestore.Account{{ID: acct}},
			InstanceProfiles: []rolestore.InstanceProfile{profile(acct, "p"), profile(acct, "P")},
		}, "instance profile", 1, "Name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.seed.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var se *rolestore.SeedError
			if !errors.As(err, &se) {
				t.Fatalf("Validate() = %v (%T), want *SeedError", err, err)
			}
			got := []any{se.Err.Entity, se.Index, se.Err.Field}
			if diff := cmp.Diff([]any{tc.entity, tc.index, tc.field}, got); diff != "" {
				t.Fatalf("Validate() = %v: (-want +got)\n%s", err, diff)
			}
			var ve *rolestore.ValidationError
			if !errors.As(err, &ve) || ve != se.Err {
				t.Fatalf("errors.As(%v, *ValidationError) did not find the inner error", err)
			}
		})
	}
}
