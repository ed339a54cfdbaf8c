package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// DefaultSAMLEntityID is the entity ID of the built-in SAML IdP when none
// is configured.
const DefaultSAMLEntityID = DefaultIssuer + "/saml"

// DefaultAssertionTTL is how long an issued assertion may be presented.
const DefaultAssertionTTL = 5 * time.Minute

// SAMLIdP is a minimal SAML 2.0 identity provider for tests and demos: it
// publishes its metadata and issues signed responses carrying the AWS
// attributes. It is safe for concurrent use.
type SAMLIdP struct {
	entityID string
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	now      func() time.Time
	metadata []byte
}

// AssertionRequest describes the assertion SAMLIdP.Assertion issues. Only
// the fields set become attributes, so incomplete assertions can be issued
// on purpose to test how STS rejects them.
type AssertionRequest struct {
	// Roles become the Role attribute ("roleArn,principalArn" values).
	Roles []SAMLRole
	// SessionName becomes RoleSessionName.
	SessionName string
	// Subject is the NameID; empty means SessionName. SubjectFormat is its
	// Format; empty means persistent.
	Subject, SubjectFormat string
	// SessionDuration becomes SessionDuration, in seconds (omitted if zero).
	SessionDuration time.Duration
	// SessionNotOnOrAfter becomes the AuthnStatement's SessionNotOnOrAfter
	// (omitted if zero).
	SessionNotOnOrAfter time.Time
	// Tags become PrincipalTag:KEY attributes, TransitiveTagKeys the
	// TransitiveTagKeys attribute, SourceIdentity the SourceIdentity one.
	Tags              map[string]string
	TransitiveTagKeys []string
	SourceIdentity    string
	// TTL is how long the assertion may be presented (Conditions and
	// SubjectConfirmationData NotOnOrAfter); zero means
	// DefaultAssertionTTL, negative issues an expired assertion.
	TTL time.Duration
	// Audience and Recipient default to https://signin.aws.amazon.com/saml.
	Audience, Recipient string
}

// NewSAMLIdP returns an IdP with entity ID entityID that signs with key;
// cert is key's certificate as published in the metadata (see
// LoadOrCreateCertificate). now nil means time.Now.
func NewSAMLIdP(entityID string, key *rsa.PrivateKey, cert *x509.Certificate, now func() time.Time) (*SAMLIdP, error) {
	if entityID == "" {
		entityID = DefaultSAMLEntityID
	}
	if key == nil || cert == nil {
		return nil, errors.New("federation: the SAML IdP needs a key and its certificate")
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("federation: the SAML IdP's certificate is not for its key")
	}
	if now == nil {
		now = time.Now
	}
	p := &SAMLIdP{entityID: entityID, key: key, cert: cert, now: now}
	p.metadata = p.buildMetadata()
	return p, nil
}

// EntityID is the IdP's entity ID, the Issuer of its assertions.
func (p *SAMLIdP) EntityID() string { return p.entityID }

// Certificate is the IdP's signing certificate.
func (p *SAMLIdP) Certificate() *x509.Certificate { return p.cert }

// Metadata is the IdP's SAML metadata (an md:EntityDescriptor), as uploaded
// to IAM when creating a SAML provider.
func (p *SAMLIdP) Metadata() []byte { return slices.Clone(p.metadata) }

// Provider is the IAM SAML provider entry arn that trusts this IdP.
func (p *SAMLIdP) Provider(arn string) SAMLProvider {
	return SAMLProvider{ARN: arn, MetadataXML: p.Metadata()}
}

func (p *SAMLIdP) buildMetadata() []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", p.entityID)
	idp := ed.CreateElement("md:IDPSSODescriptor")
	idp.CreateAttr("WantAuthnRequestsSigned", "false")
	idp.CreateAttr("protocolSupportEnumeration", nsProtocol)
	kd := idp.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(p.cert.Raw))
	for _, f := range []string{"persistent", "transient"} {
		idp.CreateElement("md:NameIDFormat").SetText(nameIDFormatPrefix + f)
	}
	for _, b := range []string{"HTTP-Redirect", "HTTP-POST"} {
		sso := idp.CreateElement("md:SingleSignOnService")
		sso.CreateAttr("Binding", "urn:oasis:names:tc:SAML:2.0:bindings:"+b)
		sso.CreateAttr("Location", strings.TrimSuffix(p.entityID, "/")+"/sso")
	}
	doc.Indent(2)
	b, _ := doc.WriteToBytes() // writing to memory cannot fail
	return b
}

// Assertion issues a SAML response for a, with both the Assertion and the
// Response signed (RSA-SHA256, exclusive canonicalization), and returns it
// base64-encoded, as an IdP posts it and AssumeRoleWithSAML takes it.
func (p *SAMLIdP) Assertion(a AssertionRequest) (string, error) {
	doc, err := p.response(a, true, true)
	if err != nil {
		return "", err
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		return "", fmt.Errorf("federation: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// response builds the Response document, signing the Assertion and the
// Response as asked.
func (p *SAMLIdP) response(a AssertionRequest, signAssertion, signResponse bool) (*etree.Document, error) {
	now := p.now().UTC()
	ttl := a.TTL
	if ttl == 0 {
		ttl = DefaultAssertionTTL
	}
	audience, recipient := a.Audience, a.Recipient
	if audience == "" {
		audience = AWSSignInURL
	}
	if recipient == "" {
		recipient = AWSSignInURL
	}
	subject, format := a.Subject, a.SubjectFormat
	if subject == "" {
		subject = a.SessionName
	}
	if subject == "" {
		subject = "imdsemu-user"
	}
	if format == "" {
		format = nameIDFormatPrefix + "persistent"
	}
	respID, err := newSAMLID()
	if err != nil {
		return nil, err
	}
	asID, err := newSAMLID()
	if err != nil {
		return nil, err
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", nsAssertion)
	as.CreateAttr("ID", asID)
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("IssueInstant", ts(now))
	as.CreateElement("saml:Issuer").SetText(p.entityID)
	subj := as.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", format)
	nid.SetText(subject)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", ts(now.Add(ttl)))
	scd.CreateAttr("Recipient", recipient)
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(now.Add(-time.Minute)))
	cond.CreateAttr("NotOnOrAfter", ts(now.Add(ttl)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)
	authn := as.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", ts(now))
	authn.CreateAttr("SessionIndex", asID)
	if !a.SessionNotOnOrAfter.IsZero() {
		authn.CreateAttr("SessionNotOnOrAfter", ts(a.SessionNotOnOrAfter))
	}
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").
		SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")

	st := as.CreateElement("saml:AttributeStatement")
	attr := func(name string, values ...string) {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", name)
		at.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		for _, v := range values {
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	if len(a.Roles) > 0 {
		vals := make([]string, len(a.Roles))
		for i, r := range a.Roles {
			vals[i] = r.RoleARN + "," + r.PrincipalARN
		}
		attr(AttrRole, vals...)
	}
	if a.SessionName != "" {
		attr(AttrRoleSessionName, a.SessionName)
	}
	if a.SessionDuration != 0 {
		attr(AttrSessionDuration, strconv.FormatInt(int64(a.SessionDuration/time.Second), 10))
	}
	keys := make([]string, 0, len(a.Tags))
	for k := range a.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		attr(AttrPrincipalTag+k, a.Tags[k])
	}
	if len(a.TransitiveTagKeys) > 0 {
		attr(AttrTransitiveTagKeys, a.TransitiveTagKeys...)
	}
	if a.SourceIdentity != "" {
		attr(AttrSourceIdentity, a.SourceIdentity)
	}
	if len(st.ChildElements()) == 0 {
		as.RemoveChild(st)
	}
	if signAssertion {
		if err := p.sign(as); err != nil {
			return nil, err
		}
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", respID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(now))
	resp.CreateAttr("Destination", recipient)
	resp.CreateElement("saml:Issuer").SetText(p.entityID)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").
		CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	resp.AddChild(as)
	if signResponse {
		if err := p.sign(resp); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	return doc, nil
}

// sign adds an enveloped signature to el, after its Issuer as the SAML
// schema wants it.
func (p *SAMLIdP) sign(el *etree.Element) error {
	ctx, err := dsig.NewSigningContext(p.key, [][]byte{p.cert.Raw})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return fmt.Errorf("federation: sign %s: %w", el.Tag, err)
	}
	idx := 0
	if iss := el.SelectElement("saml:Issuer"); iss != nil {
		idx = iss.Index() + 1
	}
	el.InsertChildAt(idx, sig)
	return nil
}

// newSAMLID is an xs:ID: it must not start with a digit.
func newSAMLID() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("federation: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}
