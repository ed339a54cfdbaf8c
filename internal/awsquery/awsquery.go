// Package awsquery is what AWS's Query protocol APIs share on the wire, for
// imdsemu's STS and IAM servers: the error value (code, HTTP status,
// message) and its ErrorResponse document, the <ActionResponse> document of
// a result, the request id, and parameter validation worded as AWS's Coral
// frontends word it. It knows no action. Pure; no state; safe for
// concurrent use.
package awsquery

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Error is an error as it goes on the wire: an AWS error code, the HTTP
// status AWS answers it with, and a message. Messages never contain secrets
// or session tokens; they may contain access key ids and ARNs, as AWS's do.
type Error struct {
	Code   string
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// Type is "Sender" for 4xx errors and "Receiver" for 5xx, as in the
// ErrorResponse document.
func (e *Error) Type() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// Errorf returns an Error; the message is format with args, or format as
// it stands when there are none.
func Errorf(code string, status int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Status: status, Msg: msg}
}

// Validation collects parameter constraint violations and renders them the
// way AWS's Coral frontends do: "2 validation errors detected: Value 'x' at
// 'roleSessionName' failed to satisfy constraint: ...; Value ...".
type Validation struct {
	msgs []string
}

// Fail records that value at member breaks constraint.
func (v *Validation) Fail(member, value, constraint string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

// Add records a violation worded by the caller.
func (v *Validation) Add(msg string) { v.msgs = append(v.msgs, msg) }

// Missing records a required member that is absent.
func (v *Validation) Missing(member string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
}

// Err is the ValidationError (400) of what was recorded, or nil.
func (v *Validation) Err() *Error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return Errorf("ValidationError", http.StatusBadRequest, "1 validation error detected: %s", v.msgs[0])
	}
	return Errorf("ValidationError", http.StatusBadRequest, "%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
}

// RequestID returns a random UUID (version 4) read from r, as AWS's request
// ids are. r need not be safe for concurrent use: the caller serialises.
func RequestID(r io.Reader) string {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:36], b[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}

// Writer writes a Query API's response documents. Make one with
// NewWriter and keep it: it reuses its XML encoders between responses.
type Writer struct {
	namespace string
	now       func() time.Time
	log       *slog.Logger
	encoders  sync.Pool // of *encoder
	// contentType is the Content-Type header's value of every document.
	// net/http only reads a header's values, and Header.Add appends to a
	// copy of a full slice, so every response may share it.
	contentType []string
	// date is the last Date header written, for its second: formatting
	// it for every response allocated twice.
	date atomic.Pointer[dateHeader]
}

// dateHeader is a Date header value and the second it names.
type dateHeader struct {
	unix  int64
	value []string
}

// NewWriter returns a Writer of documents in namespace (their xmlns),
// dated by now (the Date header), logging encoding failures to log.
func NewWriter(namespace string, now func() time.Time, log *slog.Logger) *Writer {
	w := &Writer{namespace: namespace, now: now, log: log, contentType: []string{"text/xml"}}
	w.encoders.New = newEncoder
	return w
}

// encoder is a response buffer and an XML encoder writing into it, kept
// in Writer.encoders between requests: each new xml.Encoder allocates and
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

// Result writes <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata>…</ResponseMetadata></ActionResponse>; a nil result (an
// action whose output is empty) writes no ActionResult.
func (wr *Writer) Result(w http.ResponseWriter, action, id string, result any) {
	e := wr.encoders.Get().(*encoder)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: wr.namespace}}}
	err := e.enc.EncodeToken(start)
	if err == nil && result != nil {
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
		wr.log.Error("encoding response", "action", action, "err", err)
		wr.Error(w, id, &Error{Code: "InternalFailure", Status: http.StatusInternalServerError,
			Msg: "The request processing has failed because of an unknown error, exception or failure."})
		return
	}
	e.buf.WriteByte('\n')
	wr.document(w, id, http.StatusOK, e.buf.Bytes())
	e.buf.Reset()
	wr.encoders.Put(e)
}

// dateHeader is the Date header's value now, formatted once a second.
func (wr *Writer) dateHeader() []string {
	now := wr.now()
	d := wr.date.Load()
	if d == nil || d.unix != now.Unix() {
		d = &dateHeader{unix: now.Unix(), value: []string{now.UTC().Format(http.TimeFormat)}}
		wr.date.Store(d)
	}
	return d.value
}

// Element is one <Name>Text</Name> of a flat result.
type Element struct{ Name, Text string }

// ResultElements writes what Result writes for a result struct whose
// fields are strings, one element each, in the order of elems (as
// GetCallerIdentity's), without encoding/xml: a fifth of answering
// GetCallerIdentity went to reflection and the encoder's buffers. The
// bytes are Result's (TestResultElements, FuzzResultElements). Names are
// element names as they stand; texts are escaped as encoding/xml escapes.
func (wr *Writer) ResultElements(w http.ResponseWriter, action, id string, elems ...Element) {
	e := wr.encoders.Get().(*encoder)
	b := &e.buf
	b.WriteString("<")
	b.WriteString(action)
	b.WriteString(`Response xmlns="`)
	escapeText(b, wr.namespace)
	b.WriteString(`"><`)
	b.WriteString(action)
	b.WriteString("Result>")
	for _, el := range elems {
		b.WriteByte('<')
		b.WriteString(el.Name)
		b.WriteByte('>')
		escapeText(b, el.Text)
		b.WriteString("</")
		b.WriteString(el.Name)
		b.WriteByte('>')
	}
	b.WriteString("</")
	b.WriteString(action)
	b.WriteString("Result><ResponseMetadata><RequestId>")
	escapeText(b, id)
	b.WriteString("</RequestId></ResponseMetadata></")
	b.WriteString(action)
	b.WriteString("Response>\n")
	wr.document(w, id, http.StatusOK, b.Bytes())
	b.Reset()
	wr.encoders.Put(e)
}

// escapeText writes s as encoding/xml writes character data: a string of
// printable ASCII without " & ' < > as it is (ARNs, ids, account numbers),
// anything else through xml.EscapeText.
func escapeText(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '&', c == '\'', c == '<', c == '>':
			_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
			return
		}
	}
	b.WriteString(s)
}

// Error writes an ErrorResponse document.
func (wr *Writer) Error(w http.ResponseWriter, id string, e *Error) {
	doc := errorResponse{Xmlns: wr.namespace, Error: errorBody{Type: e.Type(), Code: e.Code, Message: e.Msg}, RequestID: id}
	b, err := xml.Marshal(doc)
	if err != nil {
		b = []byte(`<ErrorResponse xmlns="` + wr.namespace + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>`)
	}
	wr.document(w, id, e.Status, append(b, '\n'))
}

// document sends an XML document with the headers AWS sends: the SDKs
// read the request id from x-amzn-RequestId and correct their clock skew
// from Date.
func (wr *Writer) document(w http.ResponseWriter, id string, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = wr.contentType
	h["x-amzn-RequestId"] = []string{id} // as AWS spells it
	h["Date"] = wr.dateHeader()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
