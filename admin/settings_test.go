package admin

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseOptionSettings(t *testing.T) {
	cur := MetadataOptions{HTTPTokens: "optional", HopLimit: 1, Throttle: Throttle{RPS: 4, Burst: 8}}
	off := MetadataOptions{}
	cases := []struct {
		args []string
		cur  MetadataOptions
		want string // the patch as JSON
	}{
		{[]string{"http-tokens", "required", "extended-credentials", "false"}, cur, `{"http-tokens":"required","extended-credentials":false}`},
		{[]string{"hop-limit", "2", "instance-metadata-tags", "true", "http-endpoint", "disabled"}, cur, `{"http-endpoint":"disabled","hop-limit":2,"instance-metadata-tags":true}`},
		{[]string{"throttle-rps", "2.5"}, off, `{"throttle":{"rps":2.5,"burst":3}}`},
		{[]string{"throttle-rps", "2"}, cur, `{"throttle":{"rps":2,"burst":8}}`},
		{[]string{"throttle-burst", "1"}, cur, `{"throttle":{"rps":4,"burst":1}}`},
		{[]string{"throttle-rps", "0"}, cur, `{"throttle":{"rps":0,"burst":0}}`},
	}
	for _, tc := range cases {
		s, err := ParseOptionSettings(tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got, _ := json.Marshal(s.Patch(tc.cur))
		if string(got) != tc.want {
			t.Errorf("%v: patch %s, want %s", tc.args, got, tc.want)
		}
		if s.ChangesThrottle() != strings.Contains(tc.want, "throttle") {
			t.Errorf("%v: ChangesThrottle = %v", tc.args, s.ChangesThrottle())
		}
	}
	for args, want := range map[string]string{
		"":                           "want KEY VALUE pairs",
		"http-tokens":                "want KEY VALUE pairs",
		"bogus 1":                    `unknown option "bogus"`,
		"hop-limit two":              "hop-limit: want a number",
		"extended-credentials maybe": "want true or false",
		"throttle-rps NaN":           "throttle-rps: want a number",
		"throttle-burst 1.5":         "throttle-burst: want a whole number",
	} {
		if _, err := ParseOptionSettings(strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", args, err, want)
		}
	}
}
