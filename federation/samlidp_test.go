package federation

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"testing"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// An independent SAML service provider implementation (crewjam/saml),
// configured as AWS's sign-in endpoint, accepts the built-in IdP's metadata
// and responses: they are not only verifiable by our own code.
func TestSAMLIdP_AcceptedByCrewjamSAML(t *testing.T) {
	clock := newClock()
	idp := newTestSAMLIdP(t, DefaultSAMLEntityID, 0, clock)
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(idp.Metadata(), &md); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	acs, err := url.Parse(AWSSignInURL)
	if err != nil {
		t.Fatal(err)
	}
	sp := saml.ServiceProvider{
		EntityID:          AWSSignInURL,
		AcsURL:            *acs,
		IDPMetadata:       &md,
		AllowIDPInitiated: true,
		Clock:             dsig.NewFakeClockAt(clock.Now()),
	}
	req := baseRequest()
	req.Tags = map[string]string{"team": "blue"}
	b64, err := idp.Assertion(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sp.ParseXMLResponse(raw, nil, *acs)
	if err != nil {
		if ie, ok := err.(*saml.InvalidResponseError); ok {
			err = ie.PrivateErr
		}
		t.Fatalf("crewjam/saml rejects the response: %v", err)
	}
	got := map[string]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if len(at.Values) > 0 {
				got[at.Name] = at.Values[0].Value
			}
		}
	}
	want := map[string]string{
		AttrRole:                  testRoleARN + "," + testProviderARN,
		AttrRoleSessionName:       "alice@example.com",
		AttrPrincipalTag + "team": "blue",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k], v)
		}
	}
	if a.Issuer.Value != DefaultSAMLEntityID || a.Subject.NameID.Value != "alice@example.com" {
		t.Errorf("issuer %q subject %q", a.Issuer.Value, a.Subject.NameID.Value)
	}
}
