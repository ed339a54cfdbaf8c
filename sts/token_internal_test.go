package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// A role session's token leaves out what open derives (the principal's ARN
// and id, the issue time to the second) and opens to the session Issue
// returned; a token sealed whole, as every token was before, opens to the
// same session; a session whose principal is not its role's keeps them.
func TestToken_CompactOpensWhole(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 30, 0, 123456789, time.UTC)
	i, err := NewIssuer(IssuerOptions{Key: bytes.Repeat([]byte{1}, KeySize), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	role, err := i.Issue(t.Context(), Request{Action: ActionAssumeRole, AccountID: "123456789012",
		RoleARN: "arn:aws:iam::123456789012:role/path/web", RoleID: "AROAEXAMPLEEXAMPLE01", SessionName: "i-0123456789abcdef0"})
	if err != nil {
		t.Fatal(err)
	}
	user, err := i.Issue(t.Context(), Request{Action: ActionGetSessionToken, AccountID: "123456789012",
		PrincipalARN: "arn:aws:iam::123456789012:user/alice", PrincipalID: "AIDAEXAMPLEEXAMPLE01",
		SourceARN: "arn:aws:iam::123456789012:user/alice"})
	if err != nil {
		t.Fatal(err)
	}
	if s := role.Session; s.PrincipalARN != "arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0" ||
		s.PrincipalID != "AROAEXAMPLEEXAMPLE01:i-0123456789abcdef0" || !s.IssuedAt.Equal(now.Truncate(time.Second)) {
		t.Fatalf("issued %+v", s)
	}
	whole, err := json.Marshal(role.Session)
	if err != nil {
		t.Fatal(err)
	}
	if plain := i.plaintext(t, role.SessionToken); len(plain) > len(whole)-100 ||
		bytes.Contains(plain, []byte(`"p":`)) || bytes.Contains(plain, []byte(`"u":`)) || bytes.Contains(plain, []byte(`"i":`)) {
		t.Errorf("sealed %d bytes (%s), the whole session is %d: want the derivable fields left out", len(plain), plain, len(whole))
	}
	for name, tc := range map[string]struct {
		token string
		want  Session
	}{
		"role, compact": {role.SessionToken, role.Session},
		"role, whole":   {i.sealWhole(t, role.Session), role.Session},
		"user, compact": {user.SessionToken, user.Session},
		"user, whole":   {i.sealWhole(t, user.Session), user.Session},
	} {
		got, err := i.open(tc.token)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: opened\n%+v\nwant\n%+v", name, got, tc.want)
		}
	}
}

// plaintext is the JSON token seals.
func (i *Issuer) plaintext(t *testing.T, token string) []byte {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	head := 1 + len(i.keyID) + i.aead.NonceSize()
	plain, err := i.aead.Open(nil, raw[5:head], raw[head:], raw[:5])
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// sealWhole seals s with every field, as seal did before compact.
func (i *Issuer) sealWhole(t *testing.T, s Session) string {
	t.Helper()
	plain, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1+len(i.keyID)+i.aead.NonceSize())
	head[0] = tokenVersion
	copy(head[1:], i.keyID[:])
	copy(head[5:], "twelve bytes")
	return base64.StdEncoding.EncodeToString(i.aead.Seal(head, head[5:], plain, head[:5]))
}
