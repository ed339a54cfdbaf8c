package sts

import (
	"net/http"
	"time"

	"github.com/imdsemu/imdsemu/internal/awsquery"
)

// Response documents, shaped as AWS STS's (botocore's STS model and the
// aws-sdk-go-v2 service/sts deserializers are the reference).

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func credentialsXML(c Credentials) xmlCredentials {
	return xmlCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      isoTime(c.Expires),
	}
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type getAccessKeyInfoResult struct {
	Account string `xml:"Account"`
}

type decodeAuthorizationMessageResult struct {
	DecodedMessage string `xml:"DecodedMessage"`
}

type assumeRoleResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
}

type getSessionTokenResult struct {
	Credentials xmlCredentials `xml:"Credentials"`
}

type xmlFederatedUser struct {
	Arn             string `xml:"Arn"`
	FederatedUserID string `xml:"FederatedUserId"`
}

type getFederationTokenResult struct {
	Credentials      xmlCredentials   `xml:"Credentials"`
	FederatedUser    xmlFederatedUser `xml:"FederatedUser"`
	PackedPolicySize *int             `xml:"PackedPolicySize,omitempty"`
}

type assumeRoleWithWebIdentityResult struct {
	Credentials                 xmlCredentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize            *int               `xml:"PackedPolicySize,omitempty"`
	Provider                    string             `xml:"Provider"`
	Audience                    string             `xml:"Audience"`
	SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
}

type assumeRoleWithSAMLResult struct {
	Credentials      xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
	Subject          string             `xml:"Subject"`
	SubjectType      string             `xml:"SubjectType"`
	Issuer           string             `xml:"Issuer"`
	Audience         string             `xml:"Audience"`
	NameQualifier    string             `xml:"NameQualifier"`
	SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
}

// writeResult writes <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata>…</ResponseMetadata></ActionResponse>.
// GetCallerIdentity, the call a client makes most, is written without
// encoding/xml (the same bytes, awsquery.ResultElements).
func (s *Server) writeResult(w http.ResponseWriter, action, id string, result any) {
	if r, ok := result.(getCallerIdentityResult); ok {
		s.out.ResultElements(w, action, id,
			awsquery.Element{Name: "Arn", Text: r.Arn}, awsquery.Element{Name: "UserId", Text: r.UserID}, awsquery.Element{Name: "Account", Text: r.Account})
		return
	}
	s.out.Result(w, action, id, result)
}

// writeError writes an ErrorResponse document.
func (s *Server) writeError(w http.ResponseWriter, id string, e *Error) { s.out.Error(w, id, e) }
