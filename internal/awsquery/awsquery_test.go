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
