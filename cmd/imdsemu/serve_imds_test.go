package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/rolestore"
)

func TestTrustGate(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g := newTrustGate(func() time.Time { return now })
	const profile = "arn:aws:iam::123456789012:instance-profile/web"
	role := rolestore.Role{AccountID: "123456789012", Name: "web", Path: "/", TrustPolicy: config.EC2TrustPolicy}
	att := imds.Attachment{ProfileARN: profile, Role: "web"}

	if err := g.check(profile, role); err != nil {
		t.Fatalf("EC2-trusted role: check = %v", err)
	}
	if _, ok := g.attachment(att); ok || g.denied(profile) {
		t.Fatal("EC2-trusted role is denied")
	}

	for name, policy := range map[string]string{
		"lambda only":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		"explicit deny": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		"wrong action":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:TagSession"}]}`,
		"not a policy":  `{"Statement":"nope"}`,
	} {
		t.Run(name, func(t *testing.T) {
			g := newTrustGate(func() time.Time { return now })
			bad := role
			bad.TrustPolicy = policy
			err := g.check(profile, bad)
			var te *trustError
			if !errors.As(err, &te) {
				t.Fatalf("check = %v, want a *trustError", err)
			}
			a, ok := g.attachment(att)
			want := imds.Credentials{
				Code:        "AssumeRoleUnauthorizedAccess",
				Message:     "EC2 cannot assume the role web. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.",
				LastUpdated: now,
			}
			if !ok || a.Credentials != want || a.ProfileARN != profile || a.Role != "web" {
				t.Errorf("attachment = %+v, %t; want the error document", a, ok)
			}
			if !g.denied(profile) || g.denied("arn:aws:iam::123456789012:instance-profile/other") {
				t.Error("denied() does not follow the profile")
			}
			// A standing denial keeps its time; fixing the policy clears it.
			later := now.Add(time.Hour)
			g.now = func() time.Time { return later }
			_ = g.check(profile, bad)
			if a, _ := g.attachment(att); !a.Credentials.LastUpdated.Equal(now) {
				t.Errorf("LastUpdated moved to %v on a repeated denial", a.Credentials.LastUpdated)
			}
			if err := g.check(profile, role); err != nil || g.denied(profile) {
				t.Errorf("after fixing the trust policy: check = %v, denied = %t", err, g.denied(profile))
			}
		})
	}
	var nilGate *trustGate
	if err := nilGate.check(profile, rolestore.Role{TrustPolicy: "{}"}); err != nil || nilGate.denied(profile) {
		t.Error("a nil gate checks something")
	}
}

func TestLoadOrCreateIdentity(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	key, cert, err := loadOrCreateIdentity(dir, "123456789012", now)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 || !key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("key %d bits, certificate matches: %t", key.N.BitLen(), key.PublicKey.Equal(cert.PublicKey))
	}
	info, err := os.Stat(filepath.Join(dir, identityKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("identity.key mode = %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if !strings.Contains(cert.Subject.CommonName, "123456789012") || cert.NotAfter.Before(now.AddDate(10, 0, 0)) {
		t.Errorf("certificate %q valid until %v", cert.Subject.CommonName, cert.NotAfter)
	}

	// The second start reuses both.
	key2, cert2, err := loadOrCreateIdentity(dir, "123456789012", now.Add(time.Hour))
	if err != nil || !key2.Equal(key) || !bytes.Equal(cert2.Raw, cert.Raw) {
		t.Errorf("second load: %v, same key %t, same certificate %t", err, key2.Equal(key), bytes.Equal(cert2.Raw, cert.Raw))
	}

	// A lost certificate is remade for the same key.
	os.Remove(filepath.Join(dir, identityCertFile))
	_, cert3, err := loadOrCreateIdentity(dir, "123456789012", now)
	if err != nil || !key.PublicKey.Equal(cert3.PublicKey) {
		t.Errorf("remade certificate: %v", err)
	}

	// A certificate of another key, and a key others can read, are refused.
	other := t.TempDir()
	if _, _, err := loadOrCreateIdentity(other, "123456789012", now); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(other, identityCertFile))
	if err := os.WriteFile(filepath.Join(dir, identityCertFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateIdentity(dir, "123456789012", now); err == nil || !strings.Contains(err.Error(), "is not the certificate of") {
		t.Errorf("mismatched certificate: %v", err)
	}
	if err := os.Chmod(filepath.Join(other, identityKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateIdentity(other, "123456789012", now); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: %v", err)
	}
}

func TestAlnumReader(t *testing.T) {
	var src bytes.Buffer
	for i := range 1024 {
		src.WriteByte(byte(i))
	}
	buf := make([]byte, 900)
	n, err := alnumReader{&src}.Read(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("Read = %d, %v", n, err)
	}
	for _, c := range buf {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			t.Fatalf("byte %q is not a letter or digit", c)
		}
	}
	// Bytes 248–255 are skipped: 1024 source bytes make 992 characters.
	if n, _ := (alnumReader{bytes.NewReader(make([]byte, 8))}).Read(make([]byte, 9)); n != 8 {
		t.Errorf("Read past the source = %d, want 8", n)
	}
}

func TestApplyIMDSFlags(t *testing.T) {
	var f imdsFlags
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addIMDSFlags(fl, &f)
	if err := fl.Parse([]string{"--hop-limit", "3", "--extended-credentials=false", "--throttle-rps", "2.5", "--ecs-addr", "127.0.0.1:1341"}); err != nil {
		t.Fatal(err)
	}
	yes := true
	s := config.Settings{IPv6Addr: "[fd00:ec2::254]:80", ExtendedCredentials: &yes, InstanceMetadataTags: true, Throttle: config.Throttle{Burst: 4}}
	applyIMDSFlags(fl, &f, &s)
	if s.HopLimit != 3 || *s.ExtendedCredentials || s.Throttle != (config.Throttle{RPS: 2.5, Burst: 4}) ||
		s.ECSAddr != "127.0.0.1:1341" || s.IPv6Addr != "[fd00:ec2::254]:80" || !s.InstanceMetadataTags {
		t.Errorf("settings after flags = %+v", s)
	}
	// Flags left unset change nothing, and the defaults the CLI documents
	// hold when nothing sets them.
	var g imdsFlags
	fl2 := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addIMDSFlags(fl2, &g)
	var empty config.Settings
	applyIMDSFlags(fl2, &g, &empty)
	if empty.ExtendedCredentials != nil || empty.HopLimit != 0 {
		t.Errorf("unset flags changed settings: %+v", empty)
	}
	x := &imdsSetup{s: empty}
	o := x.options(imds.Options{}, nil)
	if !o.ExtendedCredentials || o.HopLimit != 0 {
		t.Errorf("options from empty settings: extended %t, hop limit %d; want on and 0 (imds makes it 1)", o.ExtendedCredentials, o.HopLimit)
	}
}
