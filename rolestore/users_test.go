package rolestore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	testKeyID  = "AKIAABCDEFGHIJKLMNOP"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	totpSeed   = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	metadata   = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"/>`
)

func validUser() rolestore.User {
	return rolestore.User{
		AccountID: acct, Name: "alice", Path: "/dev/",
		Groups:   []string{"developers"},
		Policies: map[string]string{"s3-read": read},
		Tags:     []rolestore.Tag{{Key: "team", Value: "platform"}},
	}
}

func TestUser_Validate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(u *rolestore.User)
		field  string // "" = valid
		key    string
	}{
		{"Valid", func(*rolestore.User) {}, "", ""},
		{"Minimal", func(u *rolestore.User) { *u = rolestore.User{AccountID: acct, Name: "a"} }, "", ""},
		{"BadAccount", func(u *rolestore.User) { u.AccountID = "12" }, "AccountID", ""},
		{"BadName", func(u *rolestore.User) { u.Name = "al ice" }, "Name", ""},
		{"LongName", func(u *rolestore.User) { u.Name = strings.Repeat("a", 65) }, "Name", ""},
		{"BadPath", func(u *rolestore.User) { u.Path = "dev" }, "Path", ""},
		{"BadID", func(u *rolestore.User) { u.ID = "AROAAAAAAAAAAAAAAAAAA" }, "ID", ""},
		{"TooManyGroups", func(u *rolestore.User) { u.Groups = strings.Split("a b c d e f g h i j k", " ") }, "Groups", ""},
		{"BadGroup", func(u *rolestore.User) { u.Groups = []string{"no good"} }, "Groups", "no good"},
		{"DuplicateGroup", func(u *rolestore.User) { u.Groups = []string{"a", "A"} }, "Groups", "A"},
		{"BadPolicy", func(u *rolestore.User) { u.Policies = map[string]string{"p": "{"} }, "Policies", "p"},
		{"PoliciesTooLarge", func(u *rolestore.User) { u.Policies = map[string]string{"p": policyOfSize(t, 2049)} }, "Policies", ""},
		{"PoliciesAtLimit", func(u *rolestore.User) { u.Policies = map[string]string{"p": policyOfSize(t, 2048)} }, "", ""},
		{"TooManyTags", func(u *rolestore.User) { u.Tags = manyTags(51) }, "Tags", ""},
		{"AWSTag", func(u *rolestore.User) { u.Tags = []rolestore.Tag{{Key: "aws:x"}} }, "Tags", "aws:x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := validUser()
			tc.mutate(&u)
			err := u.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			checkValidation(t, err, rolestore.EntityUser, tc.field, tc.key)
		})
	}
}

func TestUser_ErrorNamesUserName(t *testing.T) {
	err := rolestore.User{AccountID: acct, Name: "bad name"}.Validate()
	if want := `user "bad name": UserName "bad name" must match`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Validate() = %v, want prefix %q", err, want)
	}
}

func TestSQLite_UserRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	got, err := s.PutUser(ctx, validUser())
	if err != nil {
		t.Fatalf("PutUser() = %v", err)
	}
	want := validUser()
	want.ID, want.CreatedAt = got.ID, epoch
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("PutUser() (-want +got)\n%s", diff)
	}
	if !strings.HasPrefix(got.ID, "AIDA") || len(got.ID) != 21 {
		t.Errorf("ID = %q, want AIDA + 17", got.ID)
	}
	if arn := got.ARN(); arn != "arn:aws:iam::123456789012:user/dev/alice" {
		t.Errorf("ARN() = %q", arn)
	}
	for name, lookup := range map[string]func() (rolestore.User, error){
		"User":     func() (rolestore.User, error) { return s.User(ctx, acct, "ALICE") },
		"UserByID": func() (rolestore.User, error) { return s.UserByID(ctx, got.ID) },
		"Users()[0]": func() (rolestore.User, error) {
			us, err := s.Users(ctx, "")
			if err != nil || len(us) != 1 {
				return rolestore.User{}, errors.New("want one user")
			}
			return us[0], nil
		},
	} {
		u, err := lookup()
		if err != nil {
			t.Fatalf("%s() = %v", name, err)
		}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("%s() (-want +got)\n%s", name, diff)
		}
	}
	// Upsert keeps the ID.
	changed := validUser()
	changed.Tags = nil
	again, err := s.PutUser(ctx, changed)
	if err != nil || again.ID != got.ID || again.Tags != nil {
		t.Errorf("PutUser(again) = %+v, %v; want same ID, no tags", again, err)
	}
	if _, err := s.User(ctx, acct, "bob"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("User(bob) = %v, want ErrNotFound", err)
	}
	if _, err := s.PutUser(ctx, rolestore.User{AccountID: "999999999999", Name: "x"}); !isValidationError(err) {
		t.Errorf("PutUser(unknown account) = %v, want ValidationError", err)
	}
}

func TestSQLite_AccessKeys(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	u, err := s.PutUser(ctx, validUser())
	if err != nil {
		t.Fatal(err)
	}
	k := rolestore.AccessKey{ID: testKeyID, SecretAccessKey: testSecret, AccountID: acct, UserName: "alice", Status: rolestore.AccessKeyActive}
	got, err := s.PutAccessKey(ctx, k)
	if err != nil {
		t.Fatalf("PutAccessKey() = %v", err)
	}
	want := k
	want.UserID, want.CreatedAt = u.ID, epoch
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PutAccessKey() (-want +got)\n%s", diff)
	}
	if _, err := s.PutAccessKey(ctx, k); !errors.Is(err, rolestore.ErrConflict) {
		t.Errorf("PutAccessKey(duplicate) = %v, want ErrConflict", err)
	}
	k2 := k
	k2.ID = "AKIAABCDEFGHIJKLMNO2"
	if _, err := s.PutAccessKey(ctx, k2); err != nil {
		t.Fatal(err)
	}
	k3 := k
	k3.ID = "AKIAABCDEFGHIJKLMNO3"
	if _, err := s.PutAccessKey(ctx, k3); !errors.Is(err, rolestore.ErrLimitExceeded) {
		t.Errorf("PutAccessKey(third) = %v, want ErrLimitExceeded", err)
	}

	// Root keys: no user.
	root := rolestore.AccessKey{ID: "AKIAROOTROOTROOTROOT", SecretAccessKey: testSecret, AccountID: acct, Status: rolestore.AccessKeyActive}
	gotRoot, err := s.PutAccessKey(ctx, root)
	if err != nil {
		t.Fatalf("PutAccessKey(root) = %v", err)
	}
	if !gotRoot.Root() || gotRoot.UserID != acct {
		t.Errorf("root key = %+v, want Root() and UserID = account", gotRoot)
	}
	list, err := s.AccessKeys(ctx, acct, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("AccessKeys(alice) = %d keys, %v; want 2", len(list), err)
	}
	if list, _ := s.AccessKeys(ctx, acct, ""); len(list) != 1 || list[0].ID != root.ID {
		t.Errorf("AccessKeys(root) = %+v, want the root key", list)
	}

	if err := s.SetAccessKeyStatus(ctx, testKeyID, rolestore.AccessKeyInactive); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccessKey(ctx, testKeyID); got.Status != rolestore.AccessKeyInactive {
		t.Errorf("status after deactivate = %q", got.Status)
	}
	if err := s.SetAccessKeyStatus(ctx, testKeyID, "Paused"); !isValidationError(err) {
		t.Errorf("SetAccessKeyStatus(Paused) = %v, want ValidationError", err)
	}
	if err := s.SetAccessKeyStatus(ctx, "AKIANOPE", rolestore.AccessKeyActive); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("SetAccessKeyStatus(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccessKey(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKey(ctx, k2.ID); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("AccessKey(deleted) = %v, want ErrNotFound", err)
	}

	bad := []rolestore.AccessKey{
		{ID: "ASIAABCDEFGHIJKLMNOP", SecretAccessKey: testSecret, AccountID: acct, Status: rolestore.AccessKeyActive},
		{ID: testKeyID, SecretAccessKey: "short", AccountID: acct, Status: rolestore.AccessKeyActive},
		{ID: "AKIAABCDEFGHIJKLMNO4", SecretAccessKey: testSecret, AccountID: acct, UserName: "nobody", Status: rolestore.AccessKeyActive},
		{ID: "AKIAABCDEFGHIJKLMNO5", SecretAccessKey: testSecret, AccountID: acct, Status: "on"},
	}
	for _, k := range bad {
		_, err := s.PutAccessKey(ctx, k)
		if !isValidationError(err) {
			t.Errorf("PutAccessKey(%s) = %v, want ValidationError", k.ID, err)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Errorf("error reveals the secret")
		}
	}
}

func TestSQLite_MFADevices(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	if _, err := s.PutUser(ctx, validUser()); err != nil {
		t.Fatal(err)
	}
	d := rolestore.MFADevice{SerialNumber: rolestore.MFASerial(acct, "alice"), AccountID: acct, UserName: "alice", Secret: totpSeed}
	got, err := s.PutMFADevice(ctx, d)
	if err != nil {
		t.Fatalf("PutMFADevice() = %v", err)
	}
	d.CreatedAt = epoch
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("PutMFADevice() (-want +got)\n%s", diff)
	}
	if !got.OwnedBy(acct, "ALICE") || got.OwnedBy(acct, "") {
		t.Errorf("OwnedBy wrong")
	}
	if _, err := s.PutMFADevice(ctx, d); !errors.Is(err, rolestore.ErrConflict) {
		t.Errorf("PutMFADevice(duplicate) = %v, want ErrConflict", err)
	}
	if _, err := s.MFADevice(ctx, "arn:aws:iam::123456789012:mfa/none"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("MFADevice(unknown) = %v, want ErrNotFound", err)
	}
	for _, bad := range []rolestore.MFADevice{
		{SerialNumber: "GAHT12345678", AccountID: acct, Secret: totpSeed},
		{SerialNumber: rolestore.MFASerial("999999999999", "x"), AccountID: acct, Secret: totpSeed},
		{SerialNumber: rolestore.MFASerial(acct, "x"), AccountID: acct, Secret: "not base32!"},
	} {
		if _, err := s.PutMFADevice(ctx, bad); !isValidationError(err) {
			t.Errorf("PutMFADevice(%+v) = %v, want ValidationError", bad.SerialNumber, err)
		}
	}
}

func TestSQLite_Providers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	mustPutAccount(t, s, acct)
	p := rolestore.OIDCProvider{AccountID: acct, URL: "http://127.0.0.1:1339", ClientIDs: []string{"sts.amazonaws.com"}}
	got, err := s.PutOIDCProvider(ctx, p)
	if err != nil {
		t.Fatalf("PutOIDCProvider() = %v", err)
	}
	if got.ARN() != "arn:aws:iam::123456789012:oidc-provider/127.0.0.1:1339" || got.HostPath() != "127.0.0.1:1339" {
		t.Errorf("ARN() = %q, HostPath() = %q", got.ARN(), got.HostPath())
	}
	p.ClientIDs = []string{"a", "b"}
	if got, err = s.PutOIDCProvider(ctx, p); err != nil || len(got.ClientIDs) != 2 {
		t.Errorf("PutOIDCProvider(update) = %+v, %v", got, err)
	}
	if list, _ := s.OIDCProviders(ctx, acct); len(list) != 1 {
		t.Errorf("OIDCProviders() = %d providers, want 1 after upsert", len(list))
	}
	for _, bad := range []rolestore.OIDCProvider{
		{AccountID: acct, URL: "http://token.example.com", ClientIDs: []string{"a"}},
		{AccountID: acct, URL: "https://token.example.com?x=1", ClientIDs: []string{"a"}},
		{AccountID: acct, URL: "https://token.example.com"},
		{AccountID: acct, URL: "https://token.example.com", ClientIDs: []string{"a"}, Thumbprints: []string{"abc"}},
		{AccountID: acct, URL: "https://token.example.com", ClientIDs: []string{"a"}, JWKS: `[]`},
	} {
		if _, err := s.PutOIDCProvider(ctx, bad); !isValidationError(err) {
			t.Errorf("PutOIDCProvider(%+v) = %v, want ValidationError", bad, err)
		}
	}

	sp := rolestore.SAMLProvider{AccountID: acct, Name: "corp", MetadataXML: metadata}
	gotSAML, err := s.PutSAMLProvider(ctx, sp)
	if err != nil {
		t.Fatalf("PutSAMLProvider() = %v", err)
	}
	if gotSAML.ARN() != "arn:aws:iam::123456789012:saml-provider/corp" {
		t.Errorf("ARN() = %q", gotSAML.ARN())
	}
	a, n, err := rolestore.ParseSAMLProviderARN(gotSAML.ARN())
	if err != nil || a != acct || n != "corp" {
		t.Errorf("ParseSAMLProviderARN = %q %q %v", a, n, err)
	}
	if _, err := s.SAMLProvider(ctx, acct, "CORP"); err != nil {
		t.Errorf("SAMLProvider(CORP) = %v", err)
	}
	if _, err := s.SAMLProvider(ctx, acct, "other"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("SAMLProvider(other) = %v, want ErrNotFound", err)
	}
	if _, err := s.PutSAMLProvider(ctx, rolestore.SAMLProvider{AccountID: acct, Name: "x", MetadataXML: "not xml"}); !isValidationError(err) {
		t.Errorf("PutSAMLProvider(not xml) = %v, want ValidationError", err)
	}
}

// TestSQLite_Revocations, for a database file and an in-memory one (whose
// copy of the table in memory only its own writes move).
func TestSQLite_Revocations(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		ctx := context.Background()
		s := openStore(t, path)
		mustPutAccount(t, s, acct)
		r, err := s.PutRole(ctx, validRole())
		if err != nil {
			t.Fatal(err)
		}
		if at, err := s.RevokedBefore(ctx, r.ARN()); err != nil || !at.IsZero() {
			t.Fatalf("%q: RevokedBefore(never revoked) = %v, %v; want zero", path, at, err)
		}
		for _, at := range []time.Time{epoch, epoch.Add(time.Hour), epoch.Add(time.Minute)} {
			if err := s.Revoke(ctx, r.ARN(), at); err != nil {
				t.Fatal(err)
			}
			if got, err := s.RevokedBefore(ctx, r.ARN()); err != nil || !got.Equal(at) {
				t.Errorf("%q: RevokedBefore() = %v, %v; want %v", path, got, err, at)
			}
		}
		if err := s.Revoke(ctx, "arn:aws:iam::123456789012:role/nope", epoch); !errors.Is(err, rolestore.ErrNotFound) {
			t.Errorf("%q: Revoke(unknown role) = %v, want ErrNotFound", path, err)
		}
	}
}

func TestSQLite_ApplyUsersAndProviders(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	seed := rolestore.Seed{
		Accounts:      []rolestore.Account{{ID: acct}},
		Users:         []rolestore.User{validUser()},
		OIDCProviders: []rolestore.OIDCProvider{{AccountID: acct, URL: "https://token.example.com", ClientIDs: []string{"sts.amazonaws.com"}}},
		SAMLProviders: []rolestore.SAMLProvider{{AccountID: acct, Name: "corp", MetadataXML: metadata}},
	}
	if err := s.Apply(ctx, seed); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if _, err := s.User(ctx, acct, "alice"); err != nil {
		t.Errorf("User after Apply = %v", err)
	}
	bad := seed
	bad.Users = []rolestore.User{validUser(), validUser()}
	bad.Users[1].Name = "ALICE"
	var se *rolestore.SeedError
	if err := s.Apply(ctx, bad); !errors.As(err, &se) || se.Index != 1 || se.Err.Entity != rolestore.EntityUser {
		t.Errorf("Apply(duplicate user) = %v, want SeedError at Users[1]", err)
	} else if !strings.HasPrefix(err.Error(), "Users[1]: ") {
		t.Errorf("Apply(duplicate user) = %q, want Users[1] prefix", err)
	}
	bad = seed
	bad.SAMLProviders = []rolestore.SAMLProvider{{AccountID: "999999999999", Name: "corp", MetadataXML: metadata}}
	if err := s.Apply(ctx, bad); !errors.As(err, &se) || se.Err.Entity != rolestore.EntitySAMLProvider {
		t.Errorf("Apply(SAML provider in unknown account) = %v, want SeedError", err)
	}
}

func isValidationError(err error) bool {
	var ve *rolestore.ValidationError
	return errors.As(err, &ve)
}

// TestSQLite_DeleteUserAndProfile deletes a user with its keys and MFA
// devices, and an instance profile; a second delete is ErrNotFound.
func TestSQLite_DeleteUserAndProfile(t *testing.T) {
	s := openStore(t, ":memory:")
	ctx := context.Background()
	if err := s.PutAccount(ctx, rolestore.Account{ID: acct}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutUser(ctx, rolestore.User{AccountID: acct, Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAccessKey(ctx, rolestore.AccessKey{ID: testKeyID, SecretAccessKey: testSecret, AccountID: acct, UserName: "alice", Status: rolestore.AccessKeyActive}); err != nil {
		t.Fatal(err)
	}
	d := rolestore.MFADevice{SerialNumber: rolestore.MFASerial(acct, "alice"), AccountID: acct, UserName: "alice", Secret: totpSeed}
	if _, err := s.PutMFADevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.MFADevices(ctx, acct, "ALICE"); err != nil || len(ds) != 1 || ds[0].SerialNumber != d.SerialNumber {
		t.Fatalf("MFADevices = %v, %v", ds, err)
	}
	if ds, err := s.MFADevices(ctx, acct, ""); err != nil || len(ds) != 0 {
		t.Fatalf("root's MFADevices = %v, %v", ds, err)
	}
	if err := s.DeleteUser(ctx, acct, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKey(ctx, testKeyID); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("the deleted user's key: %v", err)
	}
	if _, err := s.MFADevice(ctx, d.SerialNumber); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("the deleted user's MFA device: %v", err)
	}
	if err := s.DeleteUser(ctx, acct, "alice"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("second DeleteUser = %v", err)
	}
	if _, err := s.PutInstanceProfile(ctx, rolestore.InstanceProfile{AccountID: acct, Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInstanceProfile(ctx, acct, "WEB"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInstanceProfile(ctx, acct, "web"); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("second DeleteInstanceProfile = %v", err)
	}
	root := rolestore.MFADevice{SerialNumber: rolestore.MFASerial(acct, "root"), AccountID: acct, Secret: totpSeed}
	if _, err := s.PutMFADevice(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMFADevice(ctx, root.SerialNumber); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMFADevice(ctx, root.SerialNumber); !errors.Is(err, rolestore.ErrNotFound) {
		t.Errorf("second DeleteMFADevice = %v", err)
	}
}

// The attached policies of users, groups and roles and the groups of a
// user come sorted (case-insensitively for names, as IAM's lists), in
// whatever order they were attached or joined, from every read.
func TestSQLite_ListsComeSorted(t *testing.T) {
	ctx := t.Context()
	s := iamStore(t)
	var arns []string
	for _, n := range []string{"c", "a", "B"} {
		p := must(s.CreatePolicy(ctx, rolestore.ManagedPolicy{AccountID: iamAcct, Name: n, Document: allowS3}))(t)
		arns = append(arns, p.ARN())
	}
	arns = append(arns, adminARN)
	// ARNs byte by byte: "B" before "a", and the account's before "aws".
	wantARNs := []string{arns[2], arns[1], arns[0], adminARN}
	must(s.PutRole(ctx, rolestore.Role{AccountID: iamAcct, Name: "app", TrustPolicy: allowAll}))(t)
	must(s.PutGroup(ctx, rolestore.Group{AccountID: iamAcct, Name: "g"}))(t)
	must(s.PutUser(ctx, rolestore.User{AccountID: iamAcct, Name: "u", Groups: []string{"b", "A", "c"}}))(t)
	for _, arn := range arns {
		for what, err := range map[string]error{
			"role":  s.AttachRolePolicy(ctx, iamAcct, "app", arn),
			"group": s.AttachGroupPolicy(ctx, iamAcct, "g", arn),
			"user":  s.AttachUserPolicy(ctx, iamAcct, "u", arn),
		} {
			if err != nil {
				t.Fatalf("attach %s to the %s: %v", arn, what, err)
			}
		}
	}
	check := func(what string, got []string, want []string) {
		t.Helper()
		if !cmp.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	r := must(s.Role(ctx, iamAcct, "app"))(t)
	check("Role().ManagedPolicies", r.ManagedPolicies, wantARNs)
	check("RoleByID().ManagedPolicies", must(s.RoleByID(ctx, r.ID))(t).ManagedPolicies, wantARNs)
	check("Roles()[0].ManagedPolicies", must(s.Roles(ctx, iamAcct))(t)[0].ManagedPolicies, wantARNs)
	check("Group().ManagedPolicies", must(s.Group(ctx, iamAcct, "g"))(t).ManagedPolicies, wantARNs)
	u := must(s.User(ctx, iamAcct, "u"))(t)
	check("User().ManagedPolicies", u.ManagedPolicies, wantARNs)
	check("User().Groups", u.Groups, []string{"A", "b", "c"})
	for _, g := range must(s.Users(ctx, iamAcct))(t) {
		check("Users()[0].Groups", g.Groups, []string{"A", "b", "c"})
	}
}
