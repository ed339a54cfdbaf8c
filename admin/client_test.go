package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsemu/imdsemu/fault"
)

func newTestClient(t *testing.T, e *env, opts ClientOptions) *Client {
	t.Helper()
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	c, err := NewClient(strings.TrimPrefix(ts.URL, "http://"), testToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClient_EveryEndpoint drives the real Server through every typed
// method and checks what each returns against the server's state.
func TestClient_EveryEndpoint(t *testing.T) {
	e := newEnv(t)
	var answers []string
	c := newTestClient(t, e, ClientOptions{OnAnswer: func(b []byte) { answers = append(answers, string(b)) }})
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	o, err := c.Options(ctx)
	must(err)
	if o != e.meta.MetadataOptions() {
		t.Errorf("Options = %+v", o)
	}
	tok := "required"
	o, err = c.PatchOptions(ctx, MetadataPatch{HTTPTokens: &tok, Throttle: &Throttle{RPS: 2, Burst: 3}})
	must(err)
	if o.HTTPTokens != "required" || o.Throttle.Burst != 3 || e.meta.MetadataOptions() != o {
		t.Errorf("PatchOptions = %+v", o)
	}
	if len(answers) != 2 || !strings.Contains(answers[1], `"http-tokens": "required"`) {
		t.Errorf("OnAnswer got %q", answers)
	}

	st, err := c.AddFault(ctx, fault.Rule{Action: fault.ActionLatency, Delay: fault.Duration(2e9), Times: 1})
	must(err)
	got, err := c.Fault(ctx, st.ID)
	must(err)
	list, err := c.Faults(ctx)
	must(err)
	if got.ID != st.ID || len(list) != 1 || list[0].ID != st.ID {
		t.Errorf("Fault %+v, Faults %+v; want rule %s", got, list, st.ID)
	}
	must(c.RemoveFault(ctx, st.ID))
	if _, err := c.AddFault(ctx, fault.Rule{Action: fault.ActionRefuse}); err != nil {
		t.Fatal(err)
	}
	n, err := c.ClearFaults(ctx)
	must(err)
	if n != 1 || len(e.faults.Rules()) != 0 {
		t.Errorf("ClearFaults = %d, %d left", n, len(e.faults.Rules()))
	}

	sc, err := c.DefineScenario(ctx, fault.Scenario{Name: "outage", Steps: []fault.Step{{Fault: &fault.Rule{Action: fault.ActionRefuse}}}})
	must(err)
	if sc.Name != "outage" || len(sc.Steps) != 1 {
		t.Errorf("DefineScenario = %+v", sc)
	}
	if sc, err = c.StartScenario(ctx, "outage"); err != nil || !sc.Running {
		t.Errorf("StartScenario = %+v, %v", sc, err)
	}
	if sc, err = c.StopScenario(ctx, "outage"); err != nil || sc.Running {
		t.Errorf("StopScenario = %+v, %v", sc, err)
	}
	scs, err := c.Scenarios(ctx)
	must(err)
	one, err := c.Scenario(ctx, "flaky-start")
	must(err)
	if len(scs) != 2 || one.Name != "flaky-start" {
		t.Errorf("Scenarios = %+v, Scenario = %+v", scs, one)
	}

	ps, err := c.Profiles(ctx)
	must(err)
	p, err := c.Profile(ctx, otherARN)
	must(err)
	if len(ps) != 3 || p.ARN != otherARN {
		t.Errorf("Profiles = %+v, Profile = %+v", ps, p)
	}
	r, err := c.Rotate(ctx, "web", false)
	must(err)
	if r != (RotateResult{Profile: instanceARN, Status: RotationRequested}) {
		t.Errorf("Rotate = %+v", r)
	}
	sub, err := e.hub.Subscribe()
	must(err)
	r, err = c.Rotate(ctx, "web", true)
	must(err)
	if r.Status != Rotated || r.Seq != 2 || r.AccessKeyID != "ASIATEST000000000002" || r.Expires == nil {
		t.Errorf("Rotate(wait) = %+v", r)
	}
	for len(sub.C) > 0 {
		e.tracker.Record(<-sub.C)
	}
	sub.Close()
	if p, err = c.Freeze(ctx, "web", true); err != nil || !p.Frozen {
		t.Errorf("Freeze = %+v, %v", p, err)
	}
	if p, err = c.Freeze(ctx, "web", false); err != nil || p.Frozen {
		t.Errorf("unfreeze = %+v, %v", p, err)
	}
	all, err := c.Generations(ctx, "")
	must(err)
	web, err := c.Generations(ctx, "web")
	must(err)
	if len(all) != 1 || !cmp.Equal(all, web) || all[0].AccessKeyID != "ASIATEST000000000002" {
		t.Errorf("Generations = %+v, of web %+v", all, web)
	}

	a, err := c.Attach(ctx, "other-role")
	must(err)
	if a.Role != "other-role" {
		t.Errorf("Attach = %+v", a)
	}
	if a, err = c.Detach(ctx); err != nil || a.Role != "" {
		t.Errorf("Detach = %+v, %v", a, err)
	}
	if a, err = c.Attachment(ctx); err != nil || a != (Attachment{Profile: instanceARN}) {
		t.Errorf("Attachment = %+v, %v", a, err)
	}
}

func TestClient_Errors(t *testing.T) {
	e := newEnv(t)
	c := newTestClient(t, e, ClientOptions{})
	ctx := context.Background()
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
		is     error
		msg    string
	}{
		{"not found", func() error { return c.RemoveFault(ctx, "9") }, 404, CodeNotFound, ErrNotFound, `no active fault rule "9"`},
		{"invalid", func() error { _, err := c.AddFault(ctx, fault.Rule{Action: "bogus"}); return err }, 400, CodeInvalid, ErrInvalid, "invalid fault rule"},
		{"conflict", func() error { _, err := c.StopScenario(ctx, "flaky-start"); return err }, 409, CodeConflict, ErrConflict, "is not running"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || !strings.Contains(ae.Message, tc.msg) || !errors.Is(err, tc.is) {
				t.Errorf("err = %#v", ae)
			}
		})
	}
	_, err := c.AddFault(ctx, fault.Rule{Action: fault.ActionStatus, Status: 700})
	var ae *Error
	if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != "status" {
		t.Errorf("validation error = %#v, want the status field", err)
	}
	if got := (&Error{Status: 409, Message: "frozen"}).Error(); got != "409 Conflict: frozen" {
		t.Errorf("Error() = %q", got)
	}

	bad, err := NewClient(strings.TrimPrefix(c.BaseURL(), "http://"), "wrong-token-wrong-token", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Options(ctx); !errors.As(err, &ae) || ae.Code != CodeUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	for _, addr := range []string{"", "ftp://host:1", "http://"} {
		if _, err := NewClient(addr, testToken, ClientOptions{}); err == nil {
			t.Errorf("NewClient(%q): no error", addr)
		}
	}
}

// TestClient_Events reads the stream through the client: the events come
// back as the server wrote them, Detail byte for byte.
func TestClient_Events(t *testing.T) {
	e := newEnv(t)
	c := newTestClient(t, e, ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Events(ctx, "bogus"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
	s, err := c.Events(ctx, EventOptionsChanged, EventIssued)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitSubscribers(t, e.hub, 1)
	sent := []Event{
		{Type: EventServed, Client: "10.0.0.1"}, // filtered out
		{Type: EventOptionsChanged, Change: "options", Detail: e.meta.MetadataOptions()},
		{Type: EventIssued, Profile: instanceARN, Seq: 1, AccessKeyID: "ASIATEST"},
	}
	for _, ev := range sent {
		e.hub.Publish(ev)
	}
	for i, want := range sent[1:] {
		got, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		want.ID, want.At = uint64(i+2), testNow
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(got)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("event %d = %s, want %s", i, gotJSON, wantJSON)
		}
	}
	cancel()
	if _, err := s.Next(); !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		t.Errorf("after cancel: %v", err)
	}
}
