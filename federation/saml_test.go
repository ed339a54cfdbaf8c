package federation

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

const (
	testEntityID    = "https://idp.example.com/saml"
	testProviderARN = "arn:aws:iam::123456789012:saml-provider/ExampleIdP"
	testRoleARN     = "arn:aws:iam::123456789012:role/Admin"
)

func baseRequest() AssertionRequest {
	return AssertionRequest{
		Roles:       []SAMLRole{{RoleARN: testRoleARN, PrincipalARN: testProviderARN}},
		SessionName: "alice@example.com",
	}
}

// encodeDoc serializes doc as AssumeRoleWithSAML takes it.
func encodeDoc(tb testing.TB, doc *etree.Document) string {
	tb.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// rewrite decodes a base64 response, applies edit to its XML text and
// encodes it again.
func rewrite(tb testing.TB, b64 string, edit func(string) string) string {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	out := edit(string(raw))
	if out == string(raw) {
		tb.Fatal("rewrite changed nothing")
	}
	return base64.StdEncoding.EncodeToString([]byte(out))
}

func TestVerifySAML(t *testing.T) {
	clock := newClock()
	idp := newTestSAMLIdP(t, testEntityID, 0, clock)
	impostor := newTestSAMLIdP(t, testEntityID, 1, clock) // same entity ID, other key
	provider := idp.Provider(testProviderARN)

	issue := func(edit func(*AssertionRequest)) string {
		a := baseRequest()
		if edit != nil {
			edit(&a)
		}
		s, err := idp.Assertion(a)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	build := func(signAssertion, signResponse bool) string {
		doc, err := idp.response(baseRequest(), signAssertion, signResponse)
		if err != nil {
			t.Fatal(err)
		}
		return encodeDoc(t, doc)
	}
	good := issue(nil)
	sessionEnd := t0.Add(8 * time.Hour)

	cases := []struct {
		name     string
		response string
		provider *SAMLProvider
		at       time.Duration // after t0
		code     string
		msg      string
		check    func(t *testing.T, a SAMLAssertion)
	}{
		{name: "good signed response and assertion", response: issue(func(a *AssertionRequest) {
			a.Subject = "alice"
			a.SessionDuration = 2 * time.Hour
			a.SessionNotOnOrAfter = sessionEnd
			a.SourceIdentity = "alice"
		}), check: func(t *testing.T, a SAMLAssertion) {
			want := SAMLAssertion{
				Issuer: testEntityID, Subject: "alice", SubjectType: "persistent", Audience: AWSSignInURL,
				Roles:       []SAMLRole{{RoleARN: testRoleARN, PrincipalARN: testProviderARN}},
				SessionName: "alice@example.com", SessionDuration: 2 * time.Hour, SourceIdentity: "alice",
				NotOnOrAfter:  sessionEnd,
				NameQualifier: NameQualifier(testEntityID, "123456789012", "ExampleIdP"),
				ID:            a.ID,
			}
			if d := cmp.Diff(want, a); d != "" {
				t.Errorf("assertion (-want +got):\n%s", d)
			}
			if !strings.HasPrefix(a.ID, "_") || !a.HasRole(testRoleARN, testProviderARN) || a.HasRole(testRoleARN, "arn:aws:iam::123456789012:saml-provider/Other") {
				t.Errorf("ID %q / HasRole wrong", a.ID)
			}
		}},
		{name: "only the assertion signed", response: build(true, false)},
		{name: "only the response signed", response: build(false, true)},
		{name: "role attribute in both orders", response: issue(func(a *AssertionRequest) {
			a.Roles = []SAMLRole{
				{RoleARN: testProviderARN, PrincipalARN: testRoleARN}, // emitted as "provider,role"
				{RoleARN: "arn:aws:iam::123456789012:role/path/ReadOnly", PrincipalARN: testProviderARN},
			}
		}), check: func(t *testing.T, a SAMLAssertion) {
			want := []SAMLRole{
				{RoleARN: testRoleARN, PrincipalARN: testProviderARN},
				{RoleARN: "arn:aws:iam::123456789012:role/path/ReadOnly", PrincipalARN: testProviderARN},
			}
			if d := cmp.Diff(want, a.Roles); d != "" {
				t.Errorf("roles (-want +got):\n%s", d)
			}
		}},
		{name: "tags and transitive keys", response: issue(func(a *AssertionRequest) {
			a.Tags = map[string]string{"Project": "unicorn", "CostCenter": "12345", "Empty": ""}
			a.TransitiveTagKeys = []string{"Project", "CostCenter"}
		}), check: func(t *testing.T, a SAMLAssertion) {
			if d := cmp.Diff(map[string]string{"Project": "unicorn", "CostCenter": "12345", "Empty": ""}, a.Tags); d != "" {
				t.Errorf("tags (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"Project", "CostCenter"}, a.TransitiveTagKeys); d != "" {
				t.Errorf("transitive keys (-want +got):\n%s", d)
			}
		}},
		{name: "urn audience and regional recipient", response: issue(func(a *AssertionRequest) {
			a.Audience = AWSAudienceURN
			a.Recipient = "https://us-east-1.signin.aws.amazon.com/saml"
		}), check: func(t *testing.T, a SAMLAssertion) {
			if a.Audience != "https://us-east-1.signin.aws.amazon.com/saml" {
				t.Errorf("Audience = %q, want the recipient", a.Audience)
			}
		}},
		{name: "transient subject", response: issue(func(a *AssertionRequest) {
			a.SubjectFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
		}), check: func(t *testing.T, a SAMLAssertion) {
			if a.SubjectType != "transient" {
				t.Errorf("SubjectType = %q, want transient", a.SubjectType)
			}
		}},
		{name: "email subject format kept whole", response: issue(func(a *AssertionRequest) {
			a.SubjectFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
		}), check: func(t *testing.T, a SAMLAssertion) {
			if a.SubjectType != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
				t.Errorf("SubjectType = %q", a.SubjectType)
			}
		}},
		{name: "within clock skew after expiry", response: good, at: DefaultAssertionTTL + SAMLClockSkew - time.Second},
		{name: "whitespace in base64", response: good[:100] + "\r\n" + good[100:]},

		// Signatures.
		{name: "unsigned", response: build(false, false),
			code: CodeInvalidIdentityToken, msg: "neither the SAML Response nor its Assertion is signed"},
		{name: "tampered assertion", response: rewrite(t, good, func(s string) string {
			return strings.Replace(s, testRoleARN, "arn:aws:iam::123456789012:role/Root", 1)
		}), code: CodeInvalidIdentityToken, msg: "Response Signature Invalid"},
		{name: "tampered session name, only assertion signed", response: rewrite(t, build(true, false), func(s string) string {
			return strings.Replace(s, "alice@example.com", "mallory", 1)
		}), code: CodeInvalidIdentityToken, msg: "Response Signature Invalid"},
		{name: "wrong certificate", response: func() string {
			s, err := impostor.Assertion(baseRequest())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}(), code: CodeInvalidIdentityToken, msg: "not in the SAML provider's metadata"},
		{name: "wrong certificate without KeyInfo", response: func() string {
			doc, err := impostor.response(baseRequest(), true, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, ki := range doc.FindElements("//KeyInfo") {
				ki.Parent().RemoveChild(ki)
			}
			return encodeDoc(t, doc)
		}(), code: CodeInvalidIdentityToken, msg: "does not verify"},
		{name: "wrapped: injected second assertion", response: rewrite(t, good, func(s string) string {
			i := strings.Index(s, "<saml:Assertion")
			evil := `<saml:Assertion ID="_evil" Version="2.0"><saml:Issuer>` + testEntityID + `</saml:Issuer></saml:Assertion>`
			return s[:i] + evil + s[i:]
		}), code: CodeInvalidIdentityToken, msg: "Response Signature Invalid"},
		{name: "signature references another element", response: rewrite(t, build(true, false), func(s string) string {
			return strings.Replace(s, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="`, `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_other" OldID="`, 1)
		}), code: CodeInvalidIdentityToken, msg: "references"},

		// Time.
		{name: "expired", response: good, at: DefaultAssertionTTL + SAMLClockSkew,
			code: CodeExpiredToken, msg: "Token expired: current date/time"},
		{name: "expired TTL", response: issue(func(a *AssertionRequest) { a.TTL = -time.Hour }),
			code: CodeExpiredToken},
		{name: "not yet valid", response: good, at: -time.Hour,
			code: CodeInvalidIdentityToken, msg: "not valid yet"},

		// Audience, recipient, issuer.
		{name: "wrong audience", response: issue(func(a *AssertionRequest) { a.Audience = "https://app.example.com/sp" }),
			code: CodeInvalidIdentityToken, msg: "audience"},
		{name: "wrong recipient", response: issue(func(a *AssertionRequest) { a.Recipient = "https://evil.example.com/saml" }),
			code: CodeInvalidIdentityToken, msg: "Destination"},
		{name: "wrong issuer", response: func() string {
			other, err := NewSAMLIdP("https://other.example.com", rsaKey(t, 0), idp.Certificate(), clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			s, err := other.Assertion(baseRequest())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}(), code: CodeInvalidIdentityToken, msg: `Issuer "https://other.example.com" is not the entity ID`},

		// Attributes.
		{name: "missing RoleSessionName", response: issue(func(a *AssertionRequest) { a.SessionName = "" }),
			code: CodeInvalidIdentityToken, msg: "no https://aws.amazon.com/SAML/Attributes/RoleSessionName attribute"},
		{name: "invalid RoleSessionName", response: issue(func(a *AssertionRequest) { a.SessionName = "alice smith" }),
			code: CodeInvalidIdentityToken, msg: "2 to 64 characters"},
		{name: "missing Role", response: issue(func(a *AssertionRequest) { a.Roles = nil }),
			code: CodeInvalidIdentityToken, msg: "no https://aws.amazon.com/SAML/Attributes/Role attribute"},
		{name: "Role without provider", response: issue(func(a *AssertionRequest) {
			a.Roles = []SAMLRole{{RoleARN: testRoleARN, PrincipalARN: "arn:aws:iam::123456789012:role/Other"}}
		}), code: CodeInvalidIdentityToken, msg: "ROLE_ARN,SAML_PROVIDER_ARN"},
		{name: "SessionDuration too short", response: issue(func(a *AssertionRequest) { a.SessionDuration = 899 * time.Second }),
			code: CodeInvalidIdentityToken, msg: "900 to 43200"},
		{name: "SessionDuration too long", response: issue(func(a *AssertionRequest) { a.SessionDuration = 43201 * time.Second }),
			code: CodeInvalidIdentityToken, msg: "900 to 43200"},
		{name: "aws: tag key", response: issue(func(a *AssertionRequest) { a.Tags = map[string]string{"aws:x": "y"} }),
			code: CodeInvalidIdentityToken, msg: "must not start with aws:"},
		{name: "invalid SourceIdentity", response: issue(func(a *AssertionRequest) { a.SourceIdentity = "a" }),
			code: CodeInvalidIdentityToken, msg: "SourceIdentity"},

		// Encoding and shape.
		{name: "not base64", response: "!!!!not base64!!!!", code: CodeInvalidIdentityToken, msg: "base64"},
		{name: "not XML", response: base64.StdEncoding.EncodeToString([]byte("<a><b></a>")), code: CodeInvalidIdentityToken, msg: "not valid XML"},
		{name: "DOCTYPE", response: base64.StdEncoding.EncodeToString([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)),
			code: CodeInvalidIdentityToken, msg: "DOCTYPE"},
		{name: "bare assertion", response: base64.StdEncoding.EncodeToString([]byte(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>`)),
			code: CodeInvalidIdentityToken, msg: "must be a samlp:Response"},
		{name: "failed status", response: base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/></samlp:Status></samlp:Response>`)),
			code: CodeInvalidIdentityToken, msg: "not Success"},
		{name: "encrypted assertion", response: base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:EncryptedAssertion/></samlp:Response>`)),
			code: CodeInvalidIdentityToken, msg: "EncryptedAssertion"},
		{name: "too short", response: "abc", code: CodeValidation, msg: "between 4 and 100000"},
		{name: "too long", response: strings.Repeat("A", MaxSAMLAssertionLength+4), code: CodeValidation, msg: "between 4 and 100000"},
		{name: "unusable metadata", response: good, provider: &SAMLProvider{ARN: testProviderARN, MetadataXML: []byte("<x/>")},
			code: CodeInvalidIdentityToken, msg: "metadata of SAML provider"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := provider
			if tc.provider != nil {
				p = *tc.provider
			}
			a, err := VerifySAML(tc.response, p, t0.Add(tc.at))
			if got := errCode(t, err); got != tc.code {
				t.Fatalf("VerifySAML code = %q (%v), want %q", got, err, tc.code)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("VerifySAML error = %q, want it to contain %q", err, tc.msg)
				}
				return
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func TestNameQualifier(t *testing.T) {
	// The example of the STS API reference; the value was computed with
	// printf '%s' "https://example.com/saml123456789012/MySAMLIdP" | openssl sha1 -binary | base64
	got := NameQualifier("https://example.com/saml", "123456789012", "MySAMLIdP")
	if want := "1uAJanUnBc2XeUkHURMht+xam2c="; got != want {
		t.Errorf("NameQualifier(example) = %q, want %q", got, want)
	}
}

func TestParseRoleValue(t *testing.T) {
	want := SAMLRole{RoleARN: testRoleARN, PrincipalARN: testProviderARN}
	cases := []struct {
		in string
		ok bool
	}{
		{testRoleARN + "," + testProviderARN, true},
		{testProviderARN + "," + testRoleARN, true},
		{" " + testRoleARN + " , " + testProviderARN + " ", true},
		{testRoleARN, false},
		{testRoleARN + "," + testRoleARN, false},
		{testProviderARN + "," + testProviderARN, false},
		{"arn:aws:iam::12345:role/x," + testProviderARN, false},
		{"", false},
	}
	for _, tc := range cases {
		got, err := parseRoleValue(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != want) {
			t.Errorf("parseRoleValue(%q) = %+v, %v; want ok=%v", tc.in, got, err, tc.ok)
		}
	}
}

func TestParseSAMLMetadata(t *testing.T) {
	clock := newClock()
	idp := newTestSAMLIdP(t, testEntityID, 0, clock)
	md, err := ParseSAMLMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != testEntityID || len(md.Certificates) != 1 || !md.Certificates[0].Equal(idp.Certificate()) {
		t.Errorf("ParseSAMLMetadata = %q, %d certs; want %q and the IdP's certificate", md.EntityID, len(md.Certificates), testEntityID)
	}
	wrapped := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="sp"><md:SPSSODescriptor/></md:EntityDescriptor>` +
		strings.TrimPrefix(string(idp.Metadata()), `<?xml version="1.0" encoding="UTF-8"?>`) + `</md:EntitiesDescriptor>`
	if md, err := ParseSAMLMetadata([]byte(wrapped)); err != nil || md.EntityID != testEntityID {
		t.Errorf("ParseSAMLMetadata(EntitiesDescriptor) = %q, %v", md.EntityID, err)
	}

	bad := []struct{ name, xml, msg string }{
		{"not XML", "<", "SAML metadata"},
		{"wrong root", `<x/>`, "EntityDescriptor"},
		{"no entityID", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:IDPSSODescriptor/></md:EntityDescriptor>`, "no entityID"},
		{"SP only", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"><md:SPSSODescriptor/></md:EntityDescriptor>`, "no IDPSSODescriptor"},
		{"no cert", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"><md:IDPSSODescriptor/></md:EntityDescriptor>`, "no signing certificate"},
		{"bad cert", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="e"><md:IDPSSODescriptor><md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>`, "signing certificate"},
	}
	for _, tc := range bad {
		if _, err := ParseSAMLMetadata([]byte(tc.xml)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseSAMLMetadata(%s) = %v, want an error containing %q", tc.name, err, tc.msg)
		}
	}
}

func TestNewSAMLIdP_Errors(t *testing.T) {
	key := rsaKey(t, 0)
	if _, err := NewSAMLIdP("e", key, testCert(t, rsaKey(t, 1)), nil); err == nil {
		t.Error("NewSAMLIdP with a certificate for another key succeeded")
	}
	if _, err := NewSAMLIdP("e", nil, nil, nil); err == nil {
		t.Error("NewSAMLIdP without a key succeeded")
	}
	p, err := NewSAMLIdP("", key, testCert(t, key), nil)
	if err != nil || p.EntityID() != DefaultSAMLEntityID {
		t.Errorf("NewSAMLIdP(\"\") = %v, %v; want entity ID %q", p, err, DefaultSAMLEntityID)
	}
}
