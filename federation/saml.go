package federation

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// XML namespaces of SAML 2.0 and XML Signature.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = dsig.Namespace
)

// AWS's SAML endpoint and attribute names.
const (
	// AWSSignInURL is the audience and recipient AWS expects in assertions.
	AWSSignInURL = "https://signin.aws.amazon.com/saml"
	// AWSAudienceURN is the other audience AWS accepts.
	AWSAudienceURN = "urn:amazon:webservices"

	AttrRole              = "https://aws.amazon.com/SAML/Attributes/Role"
	AttrRoleSessionName   = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	AttrSessionDuration   = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	AttrPrincipalTag      = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:" // + tag key
	AttrTransitiveTagKeys = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
	AttrSourceIdentity    = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
)

// Limits of AssumeRoleWithSAML's SAMLAssertion parameter, of the
// SessionDuration attribute, and of session tags.
const (
	MinSAMLAssertionLength = 4
	MaxSAMLAssertionLength = 100000
	MinSessionDuration     = 900 * time.Second
	MaxSessionDuration     = 43200 * time.Second
	maxSessionTags         = 50
	maxTagKeyLength        = 128
	maxTagValueLength      = 256
)

// SAMLClockSkew is how far the assertion's validity window is stretched on
// either side for clock differences between the IdP and imdsemu.
const SAMLClockSkew = 5 * time.Minute

const nameIDFormatPrefix = "urn:oasis:names:tc:SAML:2.0:nameid-format:"

var (
	sessionNameRE = pattern.MustCompile(`^[\w+=,.@-]+$`, 2, 64)
	roleARNRE     = pattern.Lazy(`^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@/-]+)$`)
	providerARNRE = pattern.Lazy(`^arn:aws[a-z-]*:iam::(\d{12}):saml-provider/([\w.-]+)$`)
	recipientRE   = pattern.Lazy(`^https://([a-z0-9-]+\.)?signin\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/saml$`)
	audienceURNRE = pattern.Lazy(`^urn:amazon:webservices(:[a-z0-9-]+)?$`)
	tagKeyRE      = pattern.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`, 1, 128)
	tagValueRE    = pattern.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`, 0, 256)
	errUnsigned   = errors.New("no signature")
)

// SAMLProvider is an IAM SAML provider: its ARN
// (arn:aws:iam::ACCOUNT:saml-provider/NAME) and the IdP's metadata document.
type SAMLProvider struct {
	ARN         string
	MetadataXML []byte
}

// SAMLRole is one value of the Role attribute: a role the user may assume
// and the SAML provider that vouches for it.
type SAMLRole struct {
	RoleARN, PrincipalARN string
}

// SAMLAssertion is what VerifySAML found in a valid assertion, in the terms
// of AssumeRoleWithSAML's response.
type SAMLAssertion struct {
	Issuer string // Issuer (the IdP's entity ID)
	// Subject is the NameID; SubjectType its Format with the
	// urn:oasis:names:tc:SAML:2.0:nameid-format: prefix removed, as STS
	// reports it (persistent, transient, or another format's full URI).
	Subject, SubjectType string
	// Audience is the Recipient of SubjectConfirmationData, which STS
	// returns as Audience (https://signin.aws.amazon.com/saml).
	Audience string
	// Roles are the Role attribute's values; the caller picks the one
	// matching the request's RoleArn and PrincipalArn (see HasRole).
	Roles []SAMLRole
	// SessionName is the RoleSessionName attribute.
	SessionName string
	// SessionDuration is the SessionDuration attribute (zero when absent).
	SessionDuration time.Duration
	// Tags are the PrincipalTag:KEY attributes; TransitiveTagKeys the
	// TransitiveTagKeys attribute's values.
	Tags              map[string]string
	TransitiveTagKeys []string
	// SourceIdentity is the SourceIdentity attribute (empty when absent).
	SourceIdentity string
	// NotOnOrAfter is the AuthnStatement's SessionNotOnOrAfter: the latest
	// a session from this assertion may expire (zero when the IdP sets no
	// limit). The assertion's own validity window has already been checked.
	NotOnOrAfter time.Time
	// NameQualifier is NameQualifier(Issuer, account, provider name) for the
	// provider it was verified against (empty when its ARN is not a SAML
	// provider ARN).
	NameQualifier string
	// ID is the Assertion's ID attribute, for replay detection.
	ID string
}

// HasRole reports whether the assertion lets roleARN be assumed through the
// SAML provider principalARN.
func (a SAMLAssertion) HasRole(roleARN, principalARN string) bool {
	return slices.Contains(a.Roles, SAMLRole{RoleARN: roleARN, PrincipalARN: principalARN})
}

// NameQualifier is STS's NameQualifier for a SAML subject:
// BASE64(SHA1(issuer + accountID + "/" + providerName)).
func NameQualifier(issuer, accountID, providerName string) string {
	sum := sha1.Sum([]byte(issuer + accountID + "/" + providerName))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// SAMLMetadata is what VerifySAML uses from an IdP's metadata document.
type SAMLMetadata struct {
	EntityID     string
	Certificates []*x509.Certificate // signing certificates of the IDPSSODescriptor
}

// ParseSAMLMetadata reads an EntityDescriptor (or the first one with an
// IDPSSODescriptor in an EntitiesDescriptor) and returns its entityID and
// the IDPSSODescriptor's signing certificates. It is meant for checking a
// provider's metadata when it is registered.
func ParseSAMLMetadata(data []byte) (SAMLMetadata, error) {
	doc, err := readXML(data)
	if err != nil {
		return SAMLMetadata{}, fmt.Errorf("federation: SAML metadata: %w", err)
	}
	root := doc.Root()
	var ed *etree.Element
	switch {
	case isElement(root, nsMetadata, "EntityDescriptor"):
		ed = root
	case isElement(root, nsMetadata, "EntitiesDescriptor"):
		for _, c := range children(root, nsMetadata, "EntityDescriptor") {
			if len(children(c, nsMetadata, "IDPSSODescriptor")) > 0 {
				ed = c
				break
			}
		}
	}
	if ed == nil {
		return SAMLMetadata{}, errors.New("federation: SAML metadata: the root element must be an md:EntityDescriptor (urn:oasis:names:tc:SAML:2.0:metadata) with an IDPSSODescriptor")
	}
	md := SAMLMetadata{EntityID: strings.TrimSpace(ed.SelectAttrValue("entityID", ""))}
	if md.EntityID == "" {
		return SAMLMetadata{}, errors.New("federation: SAML metadata: EntityDescriptor has no entityID")
	}
	idps := children(ed, nsMetadata, "IDPSSODescriptor")
	if len(idps) == 0 {
		return SAMLMetadata{}, fmt.Errorf("federation: SAML metadata for %s has no IDPSSODescriptor", md.EntityID)
	}
	for _, idp := range idps {
		for _, kd := range children(idp, nsMetadata, "KeyDescriptor") {
			if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
				continue
			}
			for _, ki := range children(kd, nsDSig, "KeyInfo") {
				for _, xd := range children(ki, nsDSig, "X509Data") {
					for _, xc := range children(xd, nsDSig, "X509Certificate") {
						cert, err := parseBase64Cert(xc.Text())
						if err != nil {
							return SAMLMetadata{}, fmt.Errorf("federation: SAML metadata for %s: signing certificate: %w", md.EntityID, err)
						}
						md.Certificates = append(md.Certificates, cert)
					}
				}
			}
		}
	}
	if len(md.Certificates) == 0 {
		return SAMLMetadata{}, fmt.Errorf("federation: SAML metadata for %s has no signing certificate (KeyDescriptor use=\"signing\" with ds:X509Certificate)", md.EntityID)
	}
	return md, nil
}

func parseBase64Cert(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(stripSpace(s))
	if err != nil {
		return nil, errors.New("X509Certificate is not valid base64")
	}
	return x509.ParseCertificate(der)
}

// VerifySAML verifies a base64 SAMLResponse (the SAMLAssertion parameter of
// AssumeRoleWithSAML) against provider at time now and returns the
// assertion's contents. Errors are *Error:
//
//   - ValidationError: shorter than 4 or longer than 100000 characters.
//   - InvalidIdentityToken: not base64 or XML; not a SAML Response with one
//     Assertion; neither Response nor Assertion signed; bad signature or a
//     certificate not in the metadata; wrong Issuer, Audience or Recipient;
//     a missing or invalid Role or RoleSessionName, or an invalid optional
//     attribute; the provider's metadata is unusable.
//   - ExpiredTokenException: Conditions NotOnOrAfter or the bearer
//     SubjectConfirmationData NotOnOrAfter has passed.
func VerifySAML(samlResponseB64 string, provider SAMLProvider, now time.Time) (SAMLAssertion, error) {
	if n := len(samlResponseB64); n < MinSAMLAssertionLength || n > MaxSAMLAssertionLength {
		return SAMLAssertion{}, newError(CodeValidation,
			"1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length between %d and %d (it has %d)",
			MinSAMLAssertionLength, MaxSAMLAssertionLength, n)
	}
	md, err := ParseSAMLMetadata(provider.MetadataXML)
	if err != nil {
		return SAMLAssertion{}, invalidToken("The metadata of SAML provider %s is not usable: %s", provider.ARN, strings.TrimPrefix(err.Error(), "federation: "))
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(samlResponseB64))
	if err != nil {
		return SAMLAssertion{}, invalidToken("The SAML assertion is not valid base64: pass the base64-encoded SAMLResponse the IdP posted")
	}
	doc, err := readXML(raw)
	if err != nil {
		return SAMLAssertion{}, invalidToken("The SAML response is not valid XML: %v", err)
	}
	resp := doc.Root()
	if !isElement(resp, nsProtocol, "Response") {
		return SAMLAssertion{}, invalidToken("The SAML assertion must be a samlp:Response (urn:oasis:names:tc:SAML:2.0:protocol), not %s", describe(resp))
	}
	assertion, err := verifiedAssertion(resp, md.Certificates, now)
	if err != nil {
		return SAMLAssertion{}, err
	}
	a, err := readAssertion(assertion, resp, md.EntityID, now)
	if err != nil {
		return SAMLAssertion{}, err
	}
	if account, name, ok := samlProviderARN(provider.ARN); ok {
		a.NameQualifier = NameQualifier(a.Issuer, account, name)
	}
	return a, nil
}

// verifiedAssertion returns the response's Assertion as covered by a valid
// signature: the Response's (then the Assertion is read from the signed
// Response, and a signature of its own must be valid too) or the
// Assertion's. Nothing outside what a signature covers is returned.
func verifiedAssertion(resp *etree.Element, certs []*x509.Certificate, now time.Time) (*etree.Element, error) {
	if status, err := only(resp, nsProtocol, "Status"); err != nil {
		return nil, err
	} else if status != nil {
		v := ""
		if code, _ := only(status, nsProtocol, "StatusCode"); code != nil {
			v = code.SelectAttrValue("Value", "")
		}
		if v != "urn:oasis:names:tc:SAML:2.0:status:Success" {
			return nil, invalidToken("The SAML response's status is %q, not Success: the IdP did not authenticate the user", short(v))
		}
	}
	signedResp, err := verifySigned(resp, certs, now)
	switch {
	case err == nil:
		resp = signedResp
	case errors.Is(err, errUnsigned):
	default:
		return nil, err
	}
	if len(children(resp, nsAssertion, "EncryptedAssertion")) > 0 {
		return nil, invalidToken("The SAML response holds an EncryptedAssertion; imdsemu accepts only unencrypted assertions: turn off assertion encryption for this IdP")
	}
	as := children(resp, nsAssertion, "Assertion")
	if len(as) != 1 {
		return nil, invalidToken("The SAML response must hold exactly one saml:Assertion, not %d", len(as))
	}
	signedAssertion, aerr := verifySigned(as[0], certs, now)
	switch {
	case aerr == nil:
		return signedAssertion, nil
	case errors.Is(aerr, errUnsigned) && err == nil:
		return as[0], nil
	case errors.Is(aerr, errUnsigned):
		return nil, invalidToken("Response Signature Invalid: neither the SAML Response nor its Assertion is signed; configure the IdP to sign the response or the assertion")
	default:
		return nil, aerr
	}
}

// verifySigned checks el's enveloped signature against each trusted
// certificate and returns el as the signature covers it. It returns
// errUnsigned when el has no Signature child.
func verifySigned(el *etree.Element, certs []*x509.Certificate, now time.Time) (*etree.Element, error) {
	sigEl, err := only(el, nsDSig, "Signature")
	if err != nil {
		return nil, err
	}
	if sigEl == nil {
		return nil, errUnsigned
	}
	what := "Response"
	if el.Tag == "Assertion" {
		what = "Assertion"
	}
	if err := checkReference(el, sigEl); err != nil {
		return nil, invalidToken("Response Signature Invalid: the %s's signature %v", what, err)
	}
	// A certificate in KeyInfo must be one from the metadata; trust comes
	// from the metadata only, so the signature is then checked against the
	// metadata's certificates with KeyInfo removed.
	for _, ki := range children(sigEl, nsDSig, "KeyInfo") {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				cert, err := parseBase64Cert(xc.Text())
				if err != nil {
					return nil, invalidToken("Response Signature Invalid: the %s's signature carries an unreadable certificate: %v", what, err)
				}
				if !slices.ContainsFunc(certs, cert.Equal) {
					return nil, invalidToken("Response Signature Invalid: the %s is signed with a certificate (subject %q) that is not in the SAML provider's metadata; upload the IdP's current metadata", what, cert.Subject.String())
				}
			}
		}
	}
	ctx, err := parentContext(el)
	if err == nil {
		ctx, err = ctx.SubContext(el)
	}
	var detached *etree.Element
	if err == nil {
		detached, err = etreeutils.NSDetatch(ctx, el)
	}
	if err != nil {
		return nil, invalidToken("Response Signature Invalid: the %s's namespaces cannot be resolved: %v", what, err)
	}
	for _, s := range children(detached, nsDSig, "Signature") {
		for _, ki := range children(s, nsDSig, "KeyInfo") {
			s.RemoveChild(ki)
		}
	}
	var lastErr error
	for _, cert := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.IdAttribute = "ID"
		vc.Clock = dsig.NewFakeClockAt(now)
		signed, err := vc.Validate(detached)
		if err == nil {
			return signed, nil
		}
		lastErr = err
	}
	return nil, invalidToken("Response Signature Invalid: the %s's signature does not verify with the signing certificates in the SAML provider's metadata (%v)", what, lastErr)
}

// checkReference enforces the SAML signature profile (saml-core §5.4.2):
// one Reference, to "#" + the signed element's ID.
func checkReference(el, sig *etree.Element) error {
	si, err := only(sig, nsDSig, "SignedInfo")
	if err != nil || si == nil {
		return errors.New("has no single SignedInfo")
	}
	refs := children(si, nsDSig, "Reference")
	if len(refs) != 1 {
		return fmt.Errorf("has %d References; it must have exactly one", len(refs))
	}
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return errors.New("signs an element without an ID")
	}
	if uri := refs[0].SelectAttrValue("URI", ""); uri != "#"+id {
		return fmt.Errorf("references %q, not the signed element %q", short(uri), short("#"+id))
	}
	return nil
}

// parentContext is the namespace context el's ancestors declare.
func parentContext(el *etree.Element) (etreeutils.NSContext, error) {
	p := el.Parent()
	if p == nil {
		return etreeutils.NewDefaultNSContext(), nil
	}
	ctx, err := parentContext(p)
	if err != nil {
		return ctx, err
	}
	return ctx.SubContext(p)
}

// readAssertion checks a verified assertion's issuer, conditions and
// subject at time now and reads its AWS attributes. resp is the response
// the assertion came in (its Issuer and Destination are checked when
// present).
func readAssertion(as, resp *etree.Element, entityID string, now time.Time) (SAMLAssertion, error) {
	a := SAMLAssertion{ID: as.SelectAttrValue("ID", "")}
	issuer, err := only(as, nsAssertion, "Issuer")
	if err != nil {
		return a, err
	}
	if issuer == nil {
		return a, invalidToken("The SAML assertion has no Issuer; it must be the IdP's entity ID %q", entityID)
	}
	a.Issuer = strings.TrimSpace(issuer.Text())
	if a.Issuer != entityID {
		return a, invalidToken("The SAML assertion's Issuer %q is not the entity ID %q in the SAML provider's metadata", short(a.Issuer), entityID)
	}
	if ri, _ := only(resp, nsAssertion, "Issuer"); ri != nil && strings.TrimSpace(ri.Text()) != entityID {
		return a, invalidToken("The SAML response's Issuer %q is not the entity ID %q in the SAML provider's metadata", short(strings.TrimSpace(ri.Text())), entityID)
	}
	if d := resp.SelectAttrValue("Destination", ""); d != "" && !recipientRE.MatchString(d) {
		return a, invalidToken("The SAML response's Destination %q is not %s", short(d), AWSSignInURL)
	}
	if err := checkConditions(as, now); err != nil {
		return a, err
	}
	if err := readSubject(as, &a, now); err != nil {
		return a, err
	}
	for _, st := range children(as, nsAssertion, "AuthnStatement") {
		if v := st.SelectAttrValue("SessionNotOnOrAfter", ""); v != "" {
			t, err := parseSAMLTime(v)
			if err != nil {
				return a, invalidToken("The AuthnStatement's SessionNotOnOrAfter %q is not an xs:dateTime", v)
			}
			if a.NotOnOrAfter.IsZero() || t.Before(a.NotOnOrAfter) {
				a.NotOnOrAfter = t
			}
		}
	}
	return a, readAttributes(as, &a)
}

func checkConditions(as *etree.Element, now time.Time) error {
	cond, err := only(as, nsAssertion, "Conditions")
	if err != nil {
		return err
	}
	if cond == nil {
		return invalidToken("The SAML assertion has no Conditions; it needs an AudienceRestriction with Audience %s", AWSSignInURL)
	}
	if v := cond.SelectAttrValue("NotBefore", ""); v != "" {
		t, err := parseSAMLTime(v)
		if err != nil {
			return invalidToken("The assertion's Conditions NotBefore %q is not an xs:dateTime", v)
		}
		if now.Add(SAMLClockSkew).Before(t) {
			return invalidToken("The SAML assertion is not valid yet: NotBefore is %s, the current time is %s; check the IdP's clock", t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if v := cond.SelectAttrValue("NotOnOrAfter", ""); v != "" {
		t, err := parseSAMLTime(v)
		if err != nil {
			return invalidToken("The assertion's Conditions NotOnOrAfter %q is not an xs:dateTime", v)
		}
		if !now.Before(t.Add(SAMLClockSkew)) {
			return expiredError(now.Unix(), t.Unix())
		}
	}
	restrictions := children(cond, nsAssertion, "AudienceRestriction")
	if len(restrictions) == 0 {
		return invalidToken("The SAML assertion has no AudienceRestriction; its Audience must be %s", AWSSignInURL)
	}
	for _, r := range restrictions {
		var seen []string
		ok := false
		for _, au := range children(r, nsAssertion, "Audience") {
			v := strings.TrimSpace(au.Text())
			seen = append(seen, v)
			ok = ok || recipientRE.MatchString(v) || audienceURNRE.MatchString(v)
		}
		if !ok {
			return invalidToken("The SAML assertion's audience %q is not AWS: set the IdP's audience (SP entity ID) to %s or %s", short(strings.Join(seen, " ")), AWSSignInURL, AWSAudienceURN)
		}
	}
	return nil
}

func readSubject(as *etree.Element, a *SAMLAssertion, now time.Time) error {
	subj, err := only(as, nsAssertion, "Subject")
	if err != nil {
		return err
	}
	if subj == nil {
		return invalidToken("The SAML assertion has no Subject")
	}
	nameID, err := only(subj, nsAssertion, "NameID")
	if err != nil {
		return err
	}
	if nameID == nil || strings.TrimSpace(nameID.Text()) == "" {
		return invalidToken("The SAML assertion's Subject has no NameID")
	}
	a.Subject = strings.TrimSpace(nameID.Text())
	a.SubjectType = strings.TrimPrefix(nameID.SelectAttrValue("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"), nameIDFormatPrefix)

	var expired *Error
	var recipients []string
	for _, sc := range children(subj, nsAssertion, "SubjectConfirmation") {
		if sc.SelectAttrValue("Method", "") != "urn:oasis:names:tc:SAML:2.0:cm:bearer" {
			continue
		}
		for _, d := range children(sc, nsAssertion, "SubjectConfirmationData") {
			r := d.SelectAttrValue("Recipient", "")
			recipients = append(recipients, r)
			if !recipientRE.MatchString(r) {
				continue
			}
			v := d.SelectAttrValue("NotOnOrAfter", "")
			if v == "" {
				return invalidToken("The bearer SubjectConfirmationData has no NotOnOrAfter; the IdP must limit how long the assertion may be used")
			}
			t, err := parseSAMLTime(v)
			if err != nil {
				return invalidToken("The SubjectConfirmationData NotOnOrAfter %q is not an xs:dateTime", v)
			}
			if !now.Before(t.Add(SAMLClockSkew)) {
				expired = expiredError(now.Unix(), t.Unix())
				continue
			}
			a.Audience = r
			return nil
		}
	}
	if expired != nil {
		return expired
	}
	if len(recipients) == 0 {
		return invalidToken("The SAML assertion has no bearer SubjectConfirmation with SubjectConfirmationData; its Recipient must be %s", AWSSignInURL)
	}
	return invalidToken("The SAML assertion's SubjectConfirmationData Recipient %q is not %s; set the IdP's ACS URL to it", short(strings.Join(recipients, " ")), AWSSignInURL)
}

// readAttributes reads the AWS attributes of the assertion's
// AttributeStatements into a.
func readAttributes(as *etree.Element, a *SAMLAssertion) error {
	attrs := map[string][]string{}
	var order []string
	for _, st := range children(as, nsAssertion, "AttributeStatement") {
		for _, at := range children(st, nsAssertion, "Attribute") {
			name := at.SelectAttrValue("Name", "")
			if _, ok := attrs[name]; !ok {
				order = append(order, name)
			}
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				attrs[name] = append(attrs[name], strings.TrimSpace(v.Text()))
			}
			if attrs[name] == nil {
				attrs[name] = []string{}
			}
		}
	}

	roles := attrs[AttrRole]
	if len(roles) == 0 {
		return invalidToken("The SAML assertion has no %s attribute; add one with the value \"ROLE_ARN,SAML_PROVIDER_ARN\"", AttrRole)
	}
	for _, v := range roles {
		r, err := parseRoleValue(v)
		if err != nil {
			return err
		}
		a.Roles = append(a.Roles, r)
	}

	names := attrs[AttrRoleSessionName]
	if len(names) == 0 || names[0] == "" {
		return invalidToken("The SAML assertion has no %s attribute; add one with 2 to 64 characters of [\\w+=,.@-] (for example the user's email or login)", AttrRoleSessionName)
	}
	if len(names) > 1 {
		return invalidToken("The %s attribute must have one value, not %d", AttrRoleSessionName, len(names))
	}
	if !sessionNameRE.MatchString(names[0]) {
		return invalidToken("The %s attribute %q must be 2 to 64 characters of upper- and lower-case letters, digits and +=,.@-", AttrRoleSessionName, short(names[0]))
	}
	a.SessionName = names[0]

	if ds, ok := attrs[AttrSessionDuration]; ok {
		if len(ds) != 1 {
			return invalidToken("The %s attribute must have one value, not %d", AttrSessionDuration, len(ds))
		}
		n, err := strconv.Atoi(ds[0])
		d := time.Duration(n) * time.Second
		if err != nil || d < MinSessionDuration || d > MaxSessionDuration {
			return invalidToken("The %s attribute %q must be a whole number of seconds from 900 to 43200", AttrSessionDuration, short(ds[0]))
		}
		a.SessionDuration = d
	}

	for _, name := range order {
		key, ok := strings.CutPrefix(name, AttrPrincipalTag)
		if !ok {
			continue
		}
		vals := attrs[name]
		if !tagKeyRE.MatchString(key) || strings.HasPrefix(strings.ToLower(key), "aws:") {
			return invalidToken("The session tag key %q (attribute %s) must be 1 to 128 letters, digits, spaces or _.:/=+-@ and must not start with aws:", short(key), short(name))
		}
		if len(vals) != 1 {
			return invalidToken("The session tag %q must have one value, not %d", short(key), len(vals))
		}
		if !tagValueRE.MatchString(vals[0]) {
			return invalidToken("The value of session tag %q must be at most 256 letters, digits, spaces or _.:/=+-@", short(key))
		}
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		for k := range a.Tags {
			if strings.EqualFold(k, key) {
				return invalidToken("The session tag key %q appears twice (tag keys are case-insensitive)", short(key))
			}
		}
		a.Tags[key] = vals[0]
	}
	if len(a.Tags) > maxSessionTags {
		return invalidToken("The SAML assertion passes %d session tags; at most %d are allowed", len(a.Tags), maxSessionTags)
	}
	for _, k := range attrs[AttrTransitiveTagKeys] {
		if !tagKeyRE.MatchString(k) {
			return invalidToken("The transitive tag key %q is not a valid tag key", short(k))
		}
		a.TransitiveTagKeys = append(a.TransitiveTagKeys, k)
	}

	if si, ok := attrs[AttrSourceIdentity]; ok {
		if len(si) != 1 || !sessionNameRE.MatchString(si[0]) || strings.HasPrefix(strings.ToLower(si[0]), "aws:") {
			return invalidToken("The %s attribute must have one value of 2 to 64 characters of letters, digits and +=,.@- not starting with aws:", AttrSourceIdentity)
		}
		a.SourceIdentity = si[0]
	}
	return nil
}

// samlProviderARN returns the account and name of a SAML provider ARN
// (a name of 1 to 128 characters).
func samlProviderARN(s string) (account, name string, ok bool) {
	m := providerARNRE.FindStringSubmatch(s)
	if m == nil || len(m[2]) > 128 {
		return "", "", false
	}
	return m[1], m[2], true
}

// isRoleARN reports whether s is a role ARN with a path and name of at most
// 512 characters.
func isRoleARN(s string) bool {
	m := roleARNRE.FindStringSubmatch(s)
	return m != nil && len(m[1]) <= 512
}

// parseRoleValue reads "roleArn,principalArn", in either order.
func parseRoleValue(v string) (SAMLRole, error) {
	x, y, ok := strings.Cut(v, ",")
	x, y = strings.TrimSpace(x), strings.TrimSpace(y)
	if _, _, isProvider := samlProviderARN(x); ok && isProvider {
		x, y = y, x
	}
	_, _, isProvider := samlProviderARN(y)
	if !ok || !isRoleARN(x) || !isProvider {
		return SAMLRole{}, invalidToken("The %s attribute value %q must be \"ROLE_ARN,SAML_PROVIDER_ARN\", e.g. arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/MyIdP", AttrRole, short(v))
	}
	return SAMLRole{RoleARN: x, PrincipalARN: y}, nil
}

// readXML parses untrusted XML (strictly, at most 1024 levels deep, as
// etree's defaults have it) and refuses DTDs.
func readXML(data []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	for _, t := range doc.Child {
		if d, ok := t.(*etree.Directive); ok && strings.HasPrefix(strings.TrimSpace(d.Data), "DOCTYPE") {
			return nil, errors.New("document type declarations (DOCTYPE) are not allowed")
		}
	}
	if doc.Root() == nil {
		return nil, errors.New("no root element")
	}
	return doc, nil
}

func isElement(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isElement(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// only returns el's one child ns:tag, nil if it has none, and an
// InvalidIdentityToken error if it has several.
func only(el *etree.Element, ns, tag string) (*etree.Element, error) {
	cs := children(el, ns, tag)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, invalidToken("The SAML %s has %d %s elements; it must have at most one", el.Tag, len(cs), tag)
}

func describe(el *etree.Element) string {
	if ns := el.NamespaceURI(); ns != "" {
		return fmt.Sprintf("%s (%s)", short(el.Tag), short(ns))
	}
	return short(el.Tag)
}

func parseSAMLTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
