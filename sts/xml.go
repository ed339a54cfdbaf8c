package sts

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"
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

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name  `xml:"ErrorResponse"`
	Xmlns     string    `xml:"xmlns,attr"`
	Error     errorBody `xml:"Error"`
	RequestID string    `xml:"RequestId"`
}

type errorBody struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeResult writes <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata>…</ResponseMetadata></ActionResponse>.
func (s *Server) writeResult(w http.ResponseWriter, action, id string, result any) {
	e := s.encoders.Get().(*encoder)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}
	err := e.enc.EncodeToken(start)
	if err == nil {
		err = e.enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = e.enc.EncodeElement(responseMetadata{RequestID: id}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = e.enc.EncodeToken(start.End())
	}
	if err == nil {
		err = e.enc.Flush()
	}
	if err != nil {
		// e is dropped: its encoder may be left inside an element.
		s.log.Error("sts: encoding response", "action", action, "err", err)
		s.writeError(w, id, errInternal())
		return
	}
	e.buf.WriteByte('\n')
	s.writeDocument(w, id, http.StatusOK, e.buf.Bytes())
	e.buf.Reset()
	s.encoders.Put(e)
}

// encoder is a response buffer and an XML encoder writing into it, kept
// in Server.encoders between requests: each new xml.Encoder allocates and
// clears a 4 KB buffer, about a tenth of answering GetCallerIdentity.
type encoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

func newEncoder() any {
	e := &encoder{}
	e.enc = xml.NewEncoder(&e.buf)
	return e
}

// writeError writes an ErrorResponse document.
func (s *Server) writeError(w http.ResponseWriter, id string, e *Error) {
	doc := errorResponse{Xmlns: Namespace, Error: errorBody{Type: e.Type(), Code: e.Code, Message: e.Msg}, RequestID: id}
	b, err := xml.Marshal(doc)
	if err != nil {
		b = []byte(`<ErrorResponse xmlns="` + Namespace + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>`)
	}
	s.writeDocument(w, id, e.Status, append(b, '\n'))
}

// writeDocument sends an XML document with the headers AWS sends: the SDKs
// read the request id from x-amzn-RequestId and correct their clock skew
// from Date.
func (s *Server) writeDocument(w http.ResponseWriter, id string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h["x-amzn-RequestId"] = []string{id} // as AWS spells it
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
