package fault

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRule decodes arbitrary JSON as a rule. Whatever Validate accepts must
// be accepted by Add and must serve requests without panicking; whatever it
// refuses, Add must refuse too.
func FuzzRule(f *testing.F) {
	for _, seed := range []string{
		`{"action":"status","status":403,"path":"/latest/api/token","method":"PUT","times":3}`,
		`{"action":"latency","delay":"1ms","probability":0.5,"every":2,"first":4}`,
		`{"action":"malformed","body":"wrong-types"}`,
		`{"action":"expiring","expires-in":30,"client":"10.0.0.0/8","version":"v1"}`,
		`{"action":"expired","path":"/latest/meta-data/iam/security-credentials/x"}`,
		`{"action":"refuse","client":"::1","for":"1s"}`,
		`{"action":"status","status":99}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var r Rule
		if json.Unmarshal([]byte(data), &r) != nil {
			return
		}
		valid := r.Validate() == nil
		in, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		_, err = in.Add(r)
		if (err == nil) != valid {
			t.Fatalf("Validate ok = %v but Add error = %v", valid, err)
		}
		if valid && len(in.Rules()) != 1 {
			t.Fatalf("Add(valid rule) ok, but Rules() = %+v", in.Rules())
		}
		if r.Action == ActionBlackhole || r.Action == ActionReset || r.Action == ActionRefuse ||
			(r.Action == ActionLatency && r.Delay > 1000000) {
			// Serving these needs a real connection or time: TestHandler_*
			// and TestListener_* cover them.
			return
		}
		h := in.Handler(&backend{})
		for _, p := range []string{rolePath, "/latest/api/token", "/"} {
			for _, m := range []string{http.MethodGet, http.MethodPut} {
				req := httptest.NewRequest(m, p, nil)
				req.RemoteAddr = "10.1.2.3:4"
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
	})
}
