package sts

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIssuer_SealMessage(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	a, b := newTestIssuer(t, keyA, clock), newTestIssuer(t, keyB, clock)
	msg := []byte(`{"allowed":false}`)
	sealed, err := a.SealMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "allowed") {
		t.Error("sealed message shows its content")
	}
	if got, err := a.OpenMessage(sealed); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("OpenMessage(SealMessage(m)) = %q, %v; want %q", got, err, msg)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)/2] ^= 1
	for name, in := range map[string]string{
		"OtherKey": sealed, "Tampered": string(tampered), "Garbage": "not a message", "Empty": "",
	} {
		iss := a
		if name == "OtherKey" {
			iss = b
		}
		if _, err := iss.OpenMessage(in); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: OpenMessage = %v, want ErrBadMessage", name, err)
		}
	}
	// A message is never a session token, nor the reverse.
	c, err := a.Issue(context.Background(), instanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.OpenMessage(c.SessionToken); !errors.Is(err, ErrBadMessage) {
		t.Errorf("OpenMessage(session token) = %v, want ErrBadMessage", err)
	}
	if _, err := a.Open(sealed); err == nil {
		t.Error("Open(sealed message) = nil error")
	}
}

func TestAccessKeyIDForAccount(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	for _, acct := range []string{"123456789012", "000000000000", "999999999999", "000000000001"} {
		req := instanceRequest()
		req.AccountID = acct
		c, err := iss.Issue(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AccountOfAccessKeyID(c.AccessKeyID); !ok || got != acct {
			t.Errorf("AccountOfAccessKeyID(key of %s) = %q, %t", acct, got, ok)
		}
	}
	for _, bad := range []string{"", "ASIA", "AKIAIOSFODNN7EXAMPLE1", "ASIA7777777777777777", "ASIA!!!!!!!!!!!!!!!!"} {
		if got, ok := AccountOfAccessKeyID(bad); ok {
			t.Errorf("AccountOfAccessKeyID(%q) = %q, true; want false", bad, got)
		}
	}
	// A non-numeric account gives a random key id, not an error.
	req := instanceRequest()
	req.AccountID = "not-an-account"
	if _, err := iss.Issue(context.Background(), req); err != nil {
		t.Errorf("Issue(odd account) = %v", err)
	}
}

func TestIssuer_SealsSessionFields(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	req := instanceRequest()
	req.Action = ActionAssumeRole
	req.SessionPolicy = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}"
	req.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	req.Tags = []Tag{{Key: "team", Value: "blue"}}
	req.TransitiveTagKeys = []string{"team"}
	req.MFAAuthenticatedAt = clock.t.Add(-time.Minute + 500*time.Millisecond)
	req.SourceIdentity = "alice"
	c, err := iss.Issue(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s, err := iss.Open(c.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionPolicy != `{"Version":"2012-10-17","Statement":[]}` || s.PolicyDigest == "" {
		t.Errorf("SessionPolicy = %q (digest %q), want it compacted", s.SessionPolicy, s.PolicyDigest)
	}
	if len(s.PolicyARNs) != 1 || len(s.Tags) != 1 || len(s.TransitiveTagKeys) != 1 || s.SourceIdentity != "alice" {
		t.Errorf("session = %+v", s)
	}
	if want := clock.t.Add(-time.Minute); !s.MFAAuthenticatedAt.Equal(want) {
		t.Errorf("MFAAuthenticatedAt = %v, want %v", s.MFAAuthenticatedAt, want)
	}
	if n := len(c.SessionToken); n > 1200 {
		t.Errorf("token is %d characters; keep tokens near AWS's ~1 KB", n)
	}
	req.SessionPolicy = "{"
	if _, err := iss.Issue(context.Background(), req); err == nil {
		t.Error("Issue(session policy not JSON) = nil error")
	}
}
