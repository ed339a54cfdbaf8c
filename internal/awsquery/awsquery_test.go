package awsquery

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidation(t *testing.T) {
	var v Validation
	if v.Err() != nil {
		t.Fatal("no violations, an error")
	}
	v.Missing("userName")
	if e := v.Err(); e.Code != "ValidationError" || e.Status != 400 ||
		e.Msg != "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null" {
		t.Errorf("one = %+v", e)
	}
	v.Fail("path", "x", "Member must satisfy regular expression pattern: /")
	if e := v.Err(); e.Msg != "2 validation errors detected: Value null at 'userName' failed to satisfy constraint: Member must not be null; Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: /" {
		t.Errorf("two = %q", e.Msg)
	}
}

func TestWriter(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	wr := NewWriter("https://iam.amazonaws.com/doc/2010-05-08/", func() time.Time { return at }, slog.New(slog.DiscardHandler))
	type result struct {
		Name string `xml:"Name"`
	}
	rec := httptest.NewRecorder()
	wr.Result(rec, "GetThing", "id-1", result{"x"})
	want := `<GetThingResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetThingResult><Name>x</Name></GetThingResult><ResponseMetadata><RequestId>id-1</RequestId></ResponseMetadata></GetThingResponse>` + "\n"
	if rec.Code != 200 || rec.Body.String() != want || rec.Header()["x-amzn-RequestId"][0] != "id-1" || rec.Header().Get("Date") != "Sun, 06 Dec 2026 20:00:00 GMT" {
		t.Errorf("Result = %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	rec = httptest.NewRecorder()
	wr.Result(rec, "DeleteThing", "id-2", nil)
	if want := `<DeleteThingResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>id-2</RequestId></ResponseMetadata></DeleteThingResponse>` + "\n"; rec.Body.String() != want {
		t.Errorf("empty Result = %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	wr.Error(rec, "id-3", Errorf("NoSuchEntity", 404, "The user with name %s cannot be found.", "bob"))
	if want := `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error><RequestId>id-3</RequestId></ErrorResponse>` + "\n"; rec.Code != 404 || rec.Body.String() != want {
		t.Errorf("Error = %d %s", rec.Code, rec.Body)
	}
	if id := RequestID(bytes.NewReader(make([]byte, 16))); id != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("RequestID(zeros) = %s", id)
	}
}

// resultOracle is a three-string result as Result encodes it.
type resultOracle struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// resultElementsMatch reports whether ResultElements writes what Result
// writes for the same fields, headers included.
func resultElementsMatch(t *testing.T, wr *Writer, action, id string, r resultOracle) {
	t.Helper()
	want, got := httptest.NewRecorder(), httptest.NewRecorder()
	wr.Result(want, action, id, r)
	wr.ResultElements(got, action, id, Element{"Arn", r.Arn}, Element{"UserId", r.UserID}, Element{"Account", r.Account})
	if got.Body.String() != want.Body.String() || got.Code != want.Code {
		t.Fatalf("ResultElements = %d %q\nResult         = %d %q", got.Code, got.Body, want.Code, want.Body)
	}
	for k, v := range want.Header() {
		if g := got.Header()[k]; len(g) != len(v) || len(g) > 0 && g[0] != v[0] {
			t.Fatalf("ResultElements header %s = %q, Result %q", k, g, v)
		}
	}
}

// TestResultElements: the hand-written GetCallerIdentity document is the
// encoder's, byte for byte, for plain and for awkward values.
func TestResultElements(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	wr := NewWriter("https://sts.amazonaws.com/doc/2011-06-15/", func() time.Time { return at }, slog.New(slog.DiscardHandler))
	for _, r := range []resultOracle{
		{"arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0", "AROAEXAMPLE:i-0123456789abcdef0", "123456789012"},
		{"arn:aws:iam::123456789012:user/a+b=c,d.e@f-g_h", "AIDAEXAMPLE", "123456789012"},
		{"", "", ""},
		{`<&>"'`, "tab\tnew\nline\rcr", "é\u00a0\ufffd\x00\xff"},
	} {
		resultElementsMatch(t, wr, "GetCallerIdentity", "6f1c2a4e-0000-4000-8000-000000000000", r)
	}
}

// FuzzResultElements holds ResultElements to Result for any texts.
func FuzzResultElements(f *testing.F) {
	f.Add("arn:aws:sts::123456789012:assumed-role/r/s", "AROA:s", "123456789012", "id")
	f.Add("<&>\"'", "\t\n\r", "\xff\x00", "\ufffd")
	at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	wr := NewWriter("https://sts.amazonaws.com/doc/2011-06-15/", func() time.Time { return at }, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, arn, userID, account, id string) {
		resultElementsMatch(t, wr, "GetCallerIdentity", id, resultOracle{arn, userID, account})
	})
}

// TestRequestID: a version 4 UUID, laid out as AWS's.
func TestRequestID(t *testing.T) {
	b := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	if id := RequestID(bytes.NewReader(b)); id != "01234567-89ab-4def-bedc-ba9876543210" {
		t.Errorf("RequestID = %s", id)
	}
}
