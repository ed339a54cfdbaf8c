package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

const (
	acct     = "123456789012"
	allowAll = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	allowS3  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"*"}]}`
	narrow   = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`
)

// rules is the rule and subject of every finding, in order.
func rules(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, string(f.Severity)+" "+f.Rule+" "+f.Subject)
	}
	return out
}

func TestRun(t *testing.T) {
	used := &KeyUse{At: now.Add(-time.Hour), Service: "sts", From: []KeySource{{Address: "10.0.0.5", Instance: "i-web"}, {Address: "192.0.2.1"}}}
	in := Input{
		Now: now,
		Accounts: []Account{{
			ID:       acct,
			RootKeys: []Key{{ID: "AKIAROOT", Active: true, Created: now}, {ID: "AKIAROOTOFF", Created: now}},
			Users: []User{
				{Name: "alice", ARN: "arn:aws:iam::123456789012:user/alice", MFA: true, Groups: []string{"devs"},
					Keys: []Key{{ID: "AKIAFRESH", Active: true, Created: now.Add(-89 * 24 * time.Hour), LastUsed: &KeyUse{At: now}}}},
				{Name: "bob", ARN: "arn:aws:iam::123456789012:user/bob",
					Inline:  map[string]string{"all": allowAll},
					Managed: []string{AdministratorAccess},
					Keys: []Key{
						{ID: "AKIAOLD", Active: true, Created: now.Add(-91 * 24 * time.Hour), LastUsed: used},
						{ID: "AKIAOLDOFF", Created: now.Add(-400 * 24 * time.Hour)},
						{ID: "AKIANEVER", Active: true, Created: now},
					}},
			},
			Groups: []Group{{Name: "devs", ARN: "arn:aws:iam::123456789012:group/devs", Inline: map[string]string{"s3": allowS3, "read": narrow}}},
			Roles: []Role{
				{Name: "app", ARN: "arn:aws:iam::123456789012:role/app", Inline: map[string]string{"read": narrow}},
				{Name: "google-any", ARN: "arn:aws:iam::123456789012:role/google-any", Trust: `{"Version":"2012-10-17","Statement":[
				 {"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"},
				 {"Effect":"Allow","Principal":{"Federated":"graph.facebook.com"},"Action":"sts:AssumeRoleWithWebIdentity",
				  "Condition":{"StringEquals":{"Graph.Facebook.com:App_Id":"1"}}}]}`},
			},
			Policies: []ManagedPolicy{{ARN: "arn:aws:iam::123456789012:policy/Everything", Name: "Everything", Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`}},
		}},
		Instances: []Instance{
			{ID: "i-web", Account: acct, Role: "arn:aws:iam::123456789012:role/app", NoTokenRequests: map[string]uint64{"10.0.0.5": 3, "10.0.0.6": 1}},
			{ID: "i-clean", Account: acct, Role: "arn:aws:iam::123456789012:role/app"},
		},
	}
	r := Run(in)
	want := []string{
		"critical root-access-key AKIAROOT",
		"critical root-no-mfa arn:aws:iam::123456789012:root",
		"high admin-policy-on-user arn:aws:iam::123456789012:user/bob",
		"high long-term-key-where-role-available AKIAOLD",
		"high web-identity-trust-without-audience arn:aws:iam::123456789012:role/google-any",
		"high wildcard-grant arn:aws:iam::123456789012:policy/Everything",
		"high wildcard-grant arn:aws:iam::123456789012:user/bob",
		"medium access-key-not-rotated AKIAOLD",
		"medium imdsv1-calls i-web",
		"medium user-no-mfa arn:aws:iam::123456789012:user/bob",
		"medium wildcard-grant arn:aws:iam::123456789012:group/devs",
		"low access-key-unused AKIANEVER",
		"low user-policy-not-via-group arn:aws:iam::123456789012:user/bob",
	}
	if got := rules(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Counts[Critical] != 2 || r.Counts[High] != 5 || r.Counts[Medium] != 4 || r.Counts[Low] != 2 || !r.GeneratedAt.Equal(now) {
		t.Errorf("counts %v, generated %v", r.Counts, r.GeneratedAt)
	}
	for _, f := range r.Findings {
		if f.Fix == "" || f.Detail == "" || f.Account != acct {
			t.Errorf("finding %+v lacks a fix, a detail or the account", f)
		}
		switch f.Rule {
		case RuleKeyWhereRole:
			if !strings.Contains(f.Detail, "10.0.0.5") || !strings.Contains(f.Detail, "i-web") || strings.Contains(f.Detail, "192.0.2.1") {
				t.Errorf("key-where-role detail %q", f.Detail)
			}
		case RuleIMDSv1:
			if !strings.Contains(f.Detail, "4 metadata requests") || !strings.Contains(f.Detail, "10.0.0.5, 10.0.0.6") {
				t.Errorf("imdsv1 detail %q", f.Detail)
			}
		case RuleDirectPolicy:
			if !strings.Contains(f.Detail, "inline all, "+AdministratorAccess) {
				t.Errorf("direct policy detail %q", f.Detail)
			}
		}
	}

	// The clock decides key age: a day later alice's key is 90 days old,
	// two days later older.
	for days, wantOld := range map[int]bool{1: false, 2: true} {
		in.Now = now.Add(time.Duration(days) * 24 * time.Hour)
		old := false
		for _, f := range Run(in).Findings {
			old = old || (f.Rule == RuleKeyNotRotated && f.Subject == "AKIAFRESH")
		}
		if old != wantOld {
			t.Errorf("+%d days: AKIAFRESH old = %v, want %v", days, old, wantOld)
		}
	}
}

func TestRun_Clean(t *testing.T) {
	r := Run(Input{Now: now, Accounts: []Account{{ID: acct, RootMFA: true, Users: []User{{Name: "a", ARN: "arn:aws:iam::123456789012:user/a", MFA: true}}}}})
	if len(r.Findings) != 0 {
		t.Errorf("findings %v", rules(r))
	}
	raw, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(raw), `"findings":[]`) {
		t.Errorf("JSON %s, %v: want an empty list, not null", raw, err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil || b.String() != "No findings.\n" {
		t.Errorf("text %q, %v", b.String(), err)
	}
}

func TestWriteText(t *testing.T) {
	r := Run(Input{Now: now, KeyUseSince: now.Add(-time.Hour), Accounts: []Account{{ID: acct, RootMFA: true,
		Users: []User{{Name: "a", ARN: "arn:aws:iam::123456789012:user/a", MFA: true, Keys: []Key{{ID: "AKIAX", Active: true, Created: now}}}}}}})
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "1 findings: 0 critical, 0 high, 0 medium, 1 low\n\nLOW      access-key-unused  AKIAX (account 123456789012)\n" +
		"  Access key AKIAX of a has not been used since 2026-12-06T11:00:00Z (imdsemu keeps key use in memory: never used means not since the server started).\n" +
		"  Fix: If nobody needs it, deactivate it (imdsemu key deactivate AKIAX) and delete it later; an unused key is only a key that can leak.\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
}

// fakeDir is a Directory, Managed, KeyUses and Fleet in one.
type fakeDir struct{}

func (fakeDir) Users(_ context.Context, account string) ([]rolestore.User, error) {
	return []rolestore.User{{AccountID: acct, Name: "bob", Policies: map[string]string{"all": allowAll}, ManagedPolicies: []string{AdministratorAccess}}}, nil
}
func (fakeDir) Roles(_ context.Context, account string) ([]rolestore.Role, error) {
	return []rolestore.Role{{AccountID: "210987654321", Name: "app"}}, nil
}
func (fakeDir) AccessKeys(_ context.Context, account, user string) ([]rolestore.AccessKey, error) {
	if account == acct && user == "bob" {
		return []rolestore.AccessKey{{ID: "AKIABOB", Status: rolestore.AccessKeyActive, CreatedAt: now}}, nil
	}
	return nil, nil
}
func (fakeDir) MFADevices(_ context.Context, account, user string) ([]rolestore.MFADevice, error) {
	if user == "" {
		return []rolestore.MFADevice{{SerialNumber: "arn:aws:iam::" + account + ":mfa/root"}}, nil
	}
	return nil, nil
}
func (fakeDir) Groups(_ context.Context, account string) ([]rolestore.Group, error) {
	if account != acct {
		return nil, nil
	}
	return []rolestore.Group{{AccountID: acct, Name: "devs", Policies: map[string]string{"s3": allowS3}}}, nil
}
func (fakeDir) Policies(_ context.Context, account string) ([]rolestore.ManagedPolicy, error) {
	if account != acct {
		return nil, nil
	}
	return []rolestore.ManagedPolicy{{AccountID: acct, Name: "Everything", Path: "/", Document: allowAll}}, nil
}
func (fakeDir) KeyUse(id string) (time.Time, string, string, []netip.Addr, bool) {
	return now, "sts", "us-east-1", []netip.Addr{netip.MustParseAddr("10.0.0.5")}, id == "AKIABOB"
}
func (fakeDir) Instances() []Instance {
	return []Instance{{ID: "i-1", Account: "333333333333", Role: "arn:aws:iam::333333333333:role/r"}}
}
func (fakeDir) InstanceFor(addr netip.Addr) (string, bool) { return "i-1", addr.IsPrivate() }

func TestGather(t *testing.T) {
	d := fakeDir{}
	in, err := Gather(context.Background(), Sources{Directory: d, Managed: d, KeyUses: d, Fleet: d, Accounts: []string{"444444444444"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range in.Accounts {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, ",") != "123456789012,210987654321,333333333333,444444444444" {
		t.Errorf("accounts %v", ids)
	}
	bob := in.Accounts[0].Users[0]
	if !in.Accounts[0].RootMFA || bob.MFA || len(bob.Managed) != 1 || len(bob.Keys) != 1 {
		t.Fatalf("bob %+v", bob)
	}
	use := bob.Keys[0].LastUsed
	if use == nil || len(use.From) != 1 || use.From[0] != (KeySource{Address: "10.0.0.5", Instance: "i-1"}) || use.Region != "us-east-1" {
		t.Errorf("key use %+v", use)
	}
	got := strings.Join(rules(Run(in)), "\n")
	for _, want := range []string{
		"high long-term-key-where-role-available AKIABOB",
		"high admin-policy-on-user arn:aws:iam::123456789012:user/bob",
		"medium wildcard-grant arn:aws:iam::123456789012:group/devs",
		"high wildcard-grant arn:aws:iam::123456789012:policy/Everything",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in findings\n%s", want, got)
		}
	}
}
