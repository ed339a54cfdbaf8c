package config_test

import (
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/config"
)

// Every entity kind defaults its account by the same rule.
func TestParse_AccountDefaultIsTheSameForEveryEntity(t *testing.T) {
	const twoAccounts = `
instance: {account: "111111111111", profile: ""}
accounts: [{id: "111111111111"}, {id: "222222222222"}]
`
	cases := map[string]string{
		"role":          twoAccounts + "roles: [{name: web}]\n",
		"profile":       twoAccounts + "instance-profiles: [{name: web}]\n",
		"user":          twoAccounts + "users: [{name: alice}]\n",
		"oidc-provider": twoAccounts + "oidc-providers: [{url: \"http://127.0.0.1:1339\", client-ids: [sts.amazonaws.com]}]\n",
	}
	for name, yaml := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse("two.yaml", []byte(yaml))
			if err == nil || !strings.Contains(err.Error(), "account: is required when several accounts are declared") {
				t.Errorf("Parse = %v, want the several-accounts error", err)
			}
		})
	}
	f, err := config.Parse("one.yaml", []byte("accounts: [{id: \"333333333333\"}]\nusers: [{name: alice}]\nroles: [{name: web}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Seed.Users[0].AccountID; got != "333333333333" {
		t.Errorf("user account = %q, want the only account", got)
	}
	if got := f.Seed.Roles[0].AccountID; got != "333333333333" {
		t.Errorf("role account = %q, want the only account", got)
	}
}
