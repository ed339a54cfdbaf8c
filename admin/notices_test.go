package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// fakeNotices keeps posted notices by id; kind "rebalance" is refused as
// not applicable, as on an on-demand instance.
type fakeNotices struct{ posted []Notice }

func (f *fakeNotices) Notices() []Notice { return f.posted }

func (f *fakeNotices) FireNotice(r fault.Notice) (Notice, error) {
	switch r.Kind {
	case "rebalance":
		return Notice{}, Errorf(ErrConflict, "rebalance notice: the instance is on-demand")
	case "spot-interruption":
	default:
		return Notice{}, Errorf(ErrInvalid, "unknown notice kind %q", r.Kind)
	}
	at := testNow.Add(time.Duration(r.In))
	n := Notice{ID: r.Kind, Kind: r.Kind, Posted: testNow, Action: r.Action, Time: &at}
	f.posted = append(f.posted, n)
	return n, nil
}

func (f *fakeNotices) CancelNotice(id string) (Notice, error) {
	for i, n := range f.posted {
		if n.ID == id {
			f.posted = append(f.posted[:i], f.posted[i+1:]...)
			return n, nil
		}
	}
	return Notice{}, Errorf(ErrNotFound, "no notice %q", id)
}

func (f *fakeNotices) ClearNotices() int {
	n := len(f.posted)
	f.posted = nil
	return n
}

func TestServer_Notices(t *testing.T) {
	e := newEnv(t)
	notices := &fakeNotices{}
	srv, err := New(Options{
		Token: testToken, Metadata: e.meta, Faults: e.faults, Profiles: e.profiles, Attacher: e.attacher,
		Tracker: e.tracker, Hub: e.hub, Notices: notices, Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	sub, err := e.hub.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	for _, tc := range []struct {
		method, path, body string
		code               int
		answer             string // a substring of the answer
		change             string // the notice event published, "" none
	}{
		{"GET", "/v1/notices", "", 200, `"notices": []`, ""},
		{"POST", "/v1/notices", `{"kind":"spot-interruption","action":"stop","in":"2m"}`, 201, `"time": "2030-01-02T03:06:05Z"`, "posted"},
		{"POST", "/v1/notices", `{"kind":"rebalance"}`, 409, "on-demand", ""},
		{"POST", "/v1/notices", `{"kind":"meteor"}`, 400, "unknown notice kind", ""},
		{"POST", "/v1/notices", `{"kind":"spot-interruption","when":"now"}`, 400, "when", ""},
		{"GET", "/v1/notices", "", 200, `"action": "stop"`, ""},
		{"DELETE", "/v1/notices/spot-interruption", "", 200, `"id": "spot-interruption"`, "withdrawn"},
		{"DELETE", "/v1/notices/spot-interruption", "", 404, "no notice", ""},
		{"DELETE", "/v1/notices", "", 200, `"removed": 0`, "cleared"},
	} {
		rec := e.do(tc.method, tc.path, tc.body, "")
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.answer) {
			t.Errorf("%s %s %s = %d %s, want %d with %q", tc.method, tc.path, tc.body, rec.Code, rec.Body, tc.code, tc.answer)
		}
		if tc.change == "" {
			continue
		}
		select {
		case ev := <-sub.C:
			if ev.Type != EventNotice || ev.Change != tc.change {
				t.Errorf("%s %s: event %s/%s, want notice/%s", tc.method, tc.path, ev.Type, ev.Change, tc.change)
			}
		default:
			t.Errorf("%s %s: no event published", tc.method, tc.path)
		}
	}
	if rec := e.do("GET", "/v1/notices", "", "-"); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /v1/notices without the token = %d, want 401", rec.Code)
	}
}
