package sts

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	keyA = bytes.Repeat([]byte{0xA1}, KeySize)
	keyB = bytes.Repeat([]byte{0xB2}, KeySize)
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func newTestIssuer(t testing.TB, key []byte, clock *fakeClock) *Issuer {
	t.Helper()
	i, err := NewIssuer(IssuerOptions{Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func instanceRequest() Request {
	return Request{
		Action:      ActionInstanceProfile,
		AccountID:   "123456789012",
		RoleARN:     "arn:aws:iam::123456789012:role/app/web",
		RoleID:      "AROAEXAMPLEEXAMPLE123",
		SessionName: "i-0123456789abcdef0",
	}
}

func TestIssuer_IssueShapes(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 500, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	c, err := iss.Issue(context.Background(), instanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(c.AccessKeyID) {
		t.Errorf("AccessKeyID = %q, want ASIA + 16 of [A-Z2-7]", c.AccessKeyID)
	}
	if len(c.SecretAccessKey) != 40 {
		t.Errorf("len(SecretAccessKey) = %d, want 40", len(c.SecretAccessKey))
	}
	if want := clock.t.Truncate(time.Second).Add(6 * time.Hour); !c.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v (default instance-profile lifetime)", c.Expires, want)
	}
	s := c.Session
	if want := "arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0"; s.PrincipalARN != want {
		t.Errorf("PrincipalARN = %q, want %q", s.PrincipalARN, want)
	}
	if want := "AROAEXAMPLEEXAMPLE123:i-0123456789abcdef0"; s.PrincipalID != want {
		t.Errorf("PrincipalID = %q, want %q", s.PrincipalID, want)
	}
	if strings.Contains(c.SessionToken, c.SecretAccessKey) || strings.Contains(c.SessionToken, "assumed-role") {
		t.Error("session token carries the secret or the ARN in the clear")
	}
	again, err := iss.Issue(context.Background(), instanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessKeyID == c.AccessKeyID || again.SecretAccessKey == c.SecretAccessKey || again.SessionToken == c.SessionToken {
		t.Error("two issues share key id, secret or token")
	}
}

func TestIssuer_OpenRoundTrip(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	req := instanceRequest()
	req.SessionPolicy = `{"Version":"2012-10-17"}`
	req.SourceIdentity = "alice"
	c, err := iss.Issue(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// A second issuer with the same key (another process, or after restart) opens it.
	s, err := newTestIssuer(t, keyA, clock).Open(c.SessionToken)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	if s.AccessKeyID != c.AccessKeyID || s.SecretAccessKey != c.SecretAccessKey || !s.Expires.Equal(c.Expires) {
		t.Errorf("Open returned %+v, want the issued session", s.LogValue())
	}
	if s.SourceIdentity != "alice" || s.PolicyDigest == "" || s.Action != ActionInstanceProfile {
		t.Errorf("session fields lost: source identity %q, digest %q, action %q", s.SourceIdentity, s.PolicyDigest, s.Action)
	}
}

func TestIssuer_OpenRejects(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	c, err := iss.Issue(context.Background(), instanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(c.SessionToken)
	flip := func(at int) string {
		b := bytes.Clone(raw)
		b[at] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	foreign, err := newTestIssuer(t, keyB, clock).Issue(context.Background(), instanceRequest())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"Empty", "", ErrMalformed},
		{"NotBase64", "!!!", ErrMalformed},
		{"Short", base64.StdEncoding.EncodeToString(raw[:20]), ErrMalformed},
		{"Version", flip(0), ErrMalformed},
		{"KeyID", flip(2), ErrForeignKey},
		{"Nonce", flip(8), ErrTampered},
		{"Body", flip(len(raw) / 2), ErrTampered},
		{"Tag", flip(len(raw) - 1), ErrTampered},
		{"OtherKey", foreign.SessionToken, ErrForeignKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := iss.Open(tc.token); !errors.Is(err, tc.want) {
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIssuer_OpenExpired(t *testing.T) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(t, keyA, clock)
	req := instanceRequest()
	req.Duration = 90 * time.Second
	c, err := iss.Issue(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(89 * time.Second)
	if _, err := iss.Open(c.SessionToken); err != nil {
		t.Fatalf("Open one second before expiry = %v", err)
	}
	clock.t = clock.t.Add(time.Second)
	s, err := iss.Open(c.SessionToken)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("Open at expiry = %v, want ErrExpired", err)
	}
	if s.AccessKeyID != c.AccessKeyID {
		t.Error("Open of an expired token did not return its session")
	}
	if strings.Contains(err.Error(), c.SecretAccessKey) {
		t.Error("error message carries the secret")
	}
}

func TestSessionDuration(t *testing.T) {
	const h = time.Hour
	cases := []struct {
		name    string
		req     DurationRequest
		want    time.Duration
		wantErr string
	}{
		{"AssumeRoleDefault", DurationRequest{Action: ActionAssumeRole}, h, ""},
		{"AssumeRoleMin", DurationRequest{Action: ActionAssumeRole, Requested: 900 * time.Second}, 900 * time.Second, ""},
		{"AssumeRoleBelowMin", DurationRequest{Action: ActionAssumeRole, Requested: 899 * time.Second}, 0, "greater than or equal to 900"},
		{"AssumeRoleDefaultRoleMax", DurationRequest{Action: ActionAssumeRole, Requested: h + time.Second}, 0, "exceeds the MaxSessionDuration"},
		{"AssumeRoleRoleMax", DurationRequest{Action: ActionAssumeRole, Requested: 12 * h, RoleMax: 12 * h}, 12 * h, ""},
		{"AssumeRoleOverRoleMax", DurationRequest{Action: ActionAssumeRole, Requested: 5 * h, RoleMax: 4 * h}, 0, "exceeds the MaxSessionDuration"},
		{"ChainedOneHour", DurationRequest{Action: ActionAssumeRole, Requested: h, RoleMax: 12 * h, Chained: true}, h, ""},
		{"ChainedOverOneHour", DurationRequest{Action: ActionAssumeRole, Requested: 2 * h, RoleMax: 12 * h, Chained: true}, 0, "1 hour session limit for roles assumed by role chaining"},
		{"WebIdentityDefault", DurationRequest{Action: ActionAssumeRoleWithWebIdentity}, h, ""},
		{"WebIdentityRoleMax", DurationRequest{Action: ActionAssumeRoleWithWebIdentity, Requested: 3 * h, RoleMax: 2 * h}, 0, "exceeds the MaxSessionDuration"},
		{"SAMLRoleMax", DurationRequest{Action: ActionAssumeRoleWithSAML, Requested: 2 * h, RoleMax: 2 * h}, 2 * h, ""},
		{"FederationDefault", DurationRequest{Action: ActionGetFederationToken}, 12 * h, ""},
		{"FederationMax", DurationRequest{Action: ActionGetFederationToken, Requested: 36 * h}, 36 * h, ""},
		{"FederationOverMax", DurationRequest{Action: ActionGetFederationToken, Requested: 36*h + time.Second}, 0, "less than or equal to 129600"},
		{"FederationRootCapped", DurationRequest{Action: ActionGetFederationToken, Requested: 10 * h, Root: true}, h, ""},
		{"FederationRootDefault", DurationRequest{Action: ActionGetFederationToken, Root: true}, h, ""},
		{"SessionTokenDefault", DurationRequest{Action: ActionGetSessionToken}, 12 * h, ""},
		{"SessionTokenBelowMin", DurationRequest{Action: ActionGetSessionToken, Requested: 60 * time.Second}, 0, "greater than or equal to 900"},
		{"SessionTokenRoot", DurationRequest{Action: ActionGetSessionToken, Requested: 2 * h, Root: true}, h, ""},
		{"InstanceProfileDefault", DurationRequest{Action: ActionInstanceProfile}, 6 * h, ""},
		{"InstanceProfileDemo", DurationRequest{Action: ActionInstanceProfile, Requested: 20 * time.Second}, 20 * time.Second, ""},
		{"InstanceProfileIgnoresRoleMax", DurationRequest{Action: ActionInstanceProfile, Requested: 6 * h, RoleMax: h}, 6 * h, ""},
		{"InstanceProfileOverMax", DurationRequest{Action: ActionInstanceProfile, Requested: 13 * h}, 0, "less than or equal to 43200"},
		{"UnknownAction", DurationRequest{Action: "Nope"}, 0, "no duration limits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SessionDuration(tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SessionDuration(%+v) = %v, %v; want error containing %q", tc.req, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("SessionDuration(%+v) = %v, %v; want %v", tc.req, got, err, tc.want)
			}
		})
	}
}

func TestAssumedRoleARN(t *testing.T) {
	cases := []struct{ role, want string }{
		{"arn:aws:iam::123456789012:role/web", "arn:aws:sts::123456789012:assumed-role/web/s"},
		{"arn:aws:iam::123456789012:role/a/b/web", "arn:aws:sts::123456789012:assumed-role/web/s"},
		{"arn:aws-cn:iam::123456789012:role/web", "arn:aws-cn:sts::123456789012:assumed-role/web/s"},
		{"arn:aws:iam::123456789012:user/bob", ""},
		{"arn:aws:iam::123456789012:role/", ""},
		{"arn:aws:sts::123456789012:role/web", ""},
		{"role/web", ""},
	}
	for _, tc := range cases {
		got, err := AssumedRoleARN(tc.role, "s")
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("AssumedRoleARN(%q) = %q, %v; want %q", tc.role, got, err, tc.want)
		}
	}
}

func FuzzOpen(f *testing.F) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	// Fuzz workers are separate processes: a seeded reader makes every one of
	// them issue the same token as the coordinator.
	iss, err := NewIssuer(IssuerOptions{Key: keyA, Now: clock.Now, Rand: rand.NewChaCha8([32]byte{7})})
	if err != nil {
		f.Fatal(err)
	}
	c, err := iss.Issue(context.Background(), instanceRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.SessionToken)
	f.Add("")
	f.Add("AQ==")
	f.Fuzz(func(t *testing.T, token string) {
		s, err := iss.Open(token)
		if err == nil && token != c.SessionToken {
			t.Fatalf("Open accepted a token it did not issue: %q", token)
		}
		if err == nil && s.AccessKeyID != c.AccessKeyID {
			t.Fatal("Open returned another session")
		}
	})
}

// BenchmarkIssuer_Open opens one token again and again: after the first
// time, from the Issuer's memory of opened tokens.
func BenchmarkIssuer_Open(b *testing.B) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(b, keyA, clock)
	c, err := iss.Issue(context.Background(), instanceRequest())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Open(c.SessionToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssuer_Issue is the mint behind every credential rotation: ids,
// secret, the sealed token.
func BenchmarkIssuer_Issue(b *testing.B) {
	clock := &fakeClock{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	iss := newTestIssuer(b, keyA, clock)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Issue(context.Background(), instanceRequest()); err != nil {
			b.Fatal(err)
		}
	}
}
