package sts

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

func TestNewLongTermKey(t *testing.T) {
	k, err := NewLongTermKey("123456789012", "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(k.ID) || len(k.SecretAccessKey) != 40 {
		t.Errorf("key %s has a malformed id or a %d-character secret", k.ID, len(k.SecretAccessKey))
	}
	if acct, ok := AccountOfAccessKeyID(k.ID); !ok || acct != "123456789012" {
		t.Errorf("AccountOfAccessKeyID(%s) = %q, %v", k.ID, acct, ok)
	}
	if k.AccountID != "123456789012" || k.UserName != "alice" || k.Status != rolestore.AccessKeyActive {
		t.Errorf("key = %+v", k.LogValue())
	}
	if err := k.Validate(); err != nil {
		t.Errorf("the store would refuse it: %v", err)
	}
}

// A device's code is accepted by the STS check for its own period and the
// ones next to it, and not two periods away.
func TestVirtualMFADevice(t *testing.T) {
	d, uri, err := NewVirtualMFADevice("123456789012", "", "root-account-mfa-device", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.SerialNumber != "arn:aws:iam::123456789012:mfa/root-account-mfa-device" || d.UserName != "" || d.Secret == "" {
		t.Errorf("device = %+v", d.LogValue())
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != d.Secret || !strings.Contains(u.Path, "root@123456789012") {
		t.Errorf("URI %q does not carry the seed and label", uri)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	code, err := MFACode(d, now)
	if err != nil || len(code) != 6 {
		t.Fatalf("MFACode = %q, %v", code, err)
	}
	for _, dt := range []time.Duration{0, 30 * time.Second, -30 * time.Second} {
		if !validMFACode(d, code, now.Add(dt)) {
			t.Errorf("code refused %v later", dt)
		}
	}
	if validMFACode(d, code, now.Add(90*time.Second)) {
		t.Error("code accepted three periods later")
	}
}
