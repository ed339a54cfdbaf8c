package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

const samlMetadata = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test"/>`

func TestParse_STS(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idp.xml"), []byte(samlMetadata), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "imdsemu.yaml")
	f, err := config.Parse(path, yamlLines(
		"sts-addr: 127.0.0.1:2339",
		"users:",
		"  - name: alice",
		"    groups: [developers]",
		"    policies:",
		"      assume: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: sts:AssumeRole, Resource: '*'}]}",
		"    tags: {team: platform}",
		"oidc-providers:",
		"  - url: http://127.0.0.1:1339",
		"    client-ids: sts.amazonaws.com",
		"saml-providers:",
		"  - name: corp",
		"    metadata-file: idp.xml",
	))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if f.Settings.STSAddr != "127.0.0.1:2339" {
		t.Errorf("STSAddr = %q", f.Settings.STSAddr)
	}
	wantUsers := []rolestore.User{{AccountID: "123456789012", Name: "alice", Groups: []string{"developers"},
		Policies: map[string]string{"assume": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`},
		Tags:     []rolestore.Tag{{Key: "team", Value: "platform"}}}}
	if diff := cmp.Diff(wantUsers, f.Seed.Users); diff != "" {
		t.Errorf("Users (-want +got)\n%s", diff)
	}
	wantOIDC := []rolestore.OIDCProvider{{AccountID: "123456789012", URL: "http://127.0.0.1:1339", ClientIDs: []string{"sts.amazonaws.com"}}}
	if diff := cmp.Diff(wantOIDC, f.Seed.OIDCProviders); diff != "" {
		t.Errorf("OIDCProviders (-want +got)\n%s", diff)
	}
	if len(f.Seed.SAMLProviders) != 1 || f.Seed.SAMLProviders[0].MetadataXML != samlMetadata {
		t.Errorf("SAMLProviders = %+v", f.Seed.SAMLProviders)
	}
	if len(f.Seed.Roles) != 1 || f.Seed.Roles[0].Name != config.DefaultRoleName {
		t.Errorf("a file with only users keeps the default role, got %+v", f.Seed.Roles)
	}
}

func TestParse_STSErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"bad sts-addr", yamlLines("sts-addr: nowhere"), `bad.yaml:1:11: sts-addr: must be host:port such as "127.0.0.1:1338", got "nowhere"`},
		{"unknown user key", yamlLines("users:", "  - name: a", "    password: x"), `bad.yaml:3:5: users[0].password: unknown field "password"`},
		{"bad user name", yamlLines("users:", "  - name: a b"), `bad.yaml:2:11: users[0].name: must match [\w+=,.@-]{1,64}, got "a b"`},
		{"user in unknown account", yamlLines("users:", "  - name: a", "    account: \"999999999999\""),
			`bad.yaml:3:14: users[0].account: "999999999999" is not a declared account`},
		{"duplicate user", yamlLines("users:", "  - name: a", "  - name: A"), `bad.yaml:3:11: users[1].name: "A" is declared more than once in account 123456789012 (names are case-insensitive)`},
		{"http provider not loopback", yamlLines("oidc-providers:", "  - url: http://idp.example.com", "    client-ids: [x]"),
			`bad.yaml:2:10: oidc-providers[0].url: must use https (http is allowed only for loopback hosts such as 127.0.0.1), got "http://idp.example.com"`},
		{"provider without client ids", yamlLines("oidc-providers:", "  - url: https://idp.example.com"),
			`bad.yaml:2:5: oidc-providers[0].client-ids: must list at least one client ID (audience)`},
		{"missing metadata file", yamlLines("saml-providers:", "  - name: corp", "    metadata-file: /nonexistent/idp.xml"),
			`bad.yaml:3:20: saml-providers[0].metadata-file: cannot read /nonexistent/idp.xml: no such file or directory`},
		{"no metadata", yamlLines("saml-providers:", "  - name: corp"), `bad.yaml:2:5: saml-providers[0].metadata-file: is required (or "metadata" with the XML inline)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("bad.yaml", tc.data)
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() = %v, want *config.Error", err)
			}
			if got := e.Error(); got != tc.want {
				t.Errorf("Parse() first error = %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestApplyEnv_STSAddr(t *testing.T) {
	var s config.Settings
	env := map[string]string{config.EnvSTSAddr: "127.0.0.1:9"}
	if err := config.ApplyEnv(&s, func(k string) string { return env[k] }); err != nil || s.STSAddr != "127.0.0.1:9" {
		t.Errorf("ApplyEnv = %v, STSAddr %q", err, s.STSAddr)
	}
	env[config.EnvSTSAddr] = "bad"
	if err := config.ApplyEnv(&s, func(k string) string { return env[k] }); err == nil {
		t.Error("ApplyEnv(bad IMDSEMU_STS_ADDR) = nil")
	}
}
