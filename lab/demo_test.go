package lab

import (
	"strings"
	"testing"
)

// TestDemoError names the step and every outcome that was not as narrated.
func TestDemoError(t *testing.T) {
	err := &DemoError{Step: DemoStep{N: 3, Title: "the copy expires", Outcomes: []DemoOutcome{
		{Actor: ActorThiefRole, Want: "ExpiredToken", Got: "ok"},
		{Actor: ActorThiefKey, Want: "ok", Got: "ok"},
		{Actor: ActorAppRole, Got: "AccessDenied"}, // any outcome is fine
	}}}
	msg := err.Error()
	for _, s := range []string{"step 3 (the copy expires)", "thief-with-role-copy got ok, want ExpiredToken"} {
		if !strings.Contains(msg, s) {
			t.Errorf("%q lacks %q", msg, s)
		}
	}
	for _, s := range []string{ActorThiefKey, ActorAppRole} {
		if strings.Contains(msg, s) {
			t.Errorf("%q names %s, which was as narrated", msg, s)
		}
	}
}

func TestShortKey(t *testing.T) {
	if got := shortKey("AKIAABCDEFGHIJKLWLKJ"); got != "AKIA…WLKJ" {
		t.Errorf("shortKey = %q", got)
	}
}
