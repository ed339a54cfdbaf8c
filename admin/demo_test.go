package admin

import (
	"strings"
	"testing"
)

// TestServer_Demo: a posted narration step comes out of the hub as a demo
// event; a bad one or one without the token publishes nothing.
func TestServer_Demo(t *testing.T) {
	e := newEnv(t)
	sub, err := e.hub.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, tc := range []struct {
		body, auth string
		code       int
	}{
		{`{"demo":"roles-vs-keys","step":{"n":1,"title":"both apps work"}}`, "-", 401},
		{`{"demo":"roles-vs-keys","step":{"n":1}}`, "", 400},
		{`{"demo":"roles-vs-keys","step":{"n":1,"title":"x","bogus":1}}`, "", 400},
		{`{"demo":"roles-vs-keys","step":{"n":1,"title":"` + strings.Repeat("x", maxDemoText) + `"}}`, "", 400},
		{`{"demo":"roles-vs-keys","step":{"n":3,"title":"the copy expires","passed":true,"outcomes":[{"actor":"thief-with-role-copy","want":"ExpiredToken","got":"ExpiredToken"}]}}`, "", 202},
	} {
		if rec := e.do("POST", "/v1/demo", tc.body, tc.auth); rec.Code != tc.code {
			t.Errorf("POST %s: HTTP %d, want %d: %s", tc.body, rec.Code, tc.code, rec.Body)
		}
	}
	select {
	case ev := <-sub.C:
		st, ok := ev.Detail.(DemoStep)
		if ev.Type != EventDemo || ev.Change != "roles-vs-keys" || !ok || st.N != 3 || !st.Passed || st.Outcomes[0].Got != "ExpiredToken" {
			t.Errorf("event %+v", ev)
		}
	default:
		t.Fatal("no demo event published")
	}
	select {
	case ev := <-sub.C:
		t.Errorf("a second event: %+v", ev)
	default:
	}
}
