package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/imdsemu/imdsemu/audit"
	"github.com/imdsemu/imdsemu/fault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testToken = "test-token-0123456789abcdef"

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type fakeMetadata struct {
	mu sync.Mutex
	o  MetadataOptions
}

func (f *fakeMetadata) MetadataOptions() MetadataOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.o
}

func (f *fakeMetadata) SetMetadataOptions(o MetadataOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.o = o
	return nil
}

const (
	instanceARN = "arn:aws:iam::123456789012:instance-profile/web"
	otherARN    = "arn:aws:iam::123456789012:instance-profile/batch/worker"
	dupARN      = "arn:aws:iam::210987654321:instance-profile/worker"
)

// fakeProfiles keeps three profiles; RotateNow publishes an issued event
// (or mint_failed for the profile named "broken") on the hub.
type fakeProfiles struct {
	mu      sync.Mutex
	hub     *Hub
	frozen  map[string]bool
	rotated []string
	seq     map[string]uint64
}

func (f *fakeProfiles) Profiles(ctx context.Context) ([]Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := []Profile{
		{ARN: instanceARN, Name: "web", Account: "123456789012", Role: "web-role", Instance: true},
		{ARN: otherARN, Name: "worker", Account: "123456789012", Role: "worker-role"},
		{ARN: dupARN, Name: "worker", Account: "210987654321", Role: "worker-role"},
	}
	for i := range ps {
		ps[i].Frozen = f.frozen[ps[i].ARN]
		ps[i].Generation = f.seq[ps[i].ARN]
	}
	return ps, nil
}

func (f *fakeProfiles) RotateNow(arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen[arn] {
		return Errorf(ErrConflict, "rotation of %s is frozen; unfreeze it first", arn)
	}
	f.rotated = append(f.rotated, arn)
	f.seq[arn]++
	exp := testNow.Add(6 * time.Hour)
	f.hub.Publish(Event{Type: EventIssued, Profile: arn, Seq: f.seq[arn], AccessKeyID: fmt.Sprintf("ASIATEST%012d", f.seq[arn]), Expires: &exp})
	return nil
}

func (f *fakeProfiles) Freeze(arn string, frozen bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen[arn] = frozen
	return nil
}

type fakeAttacher struct {
	mu sync.Mutex
	a  Attachment
}

func (f *fakeAttacher) Attachment() Attachment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.a
}

func (f *fakeAttacher) Attach(ctx context.Context, role string) (Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if role != "web-role" && role != "other-role" {
		return Attachment{}, Errorf(ErrNotFound, "no role %q in account 123456789012", role)
	}
	f.a.Role = role
	return f.a, nil
}

func (f *fakeAttacher) Detach(ctx context.Context) (Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.a.Role = ""
	return f.a, nil
}

type fakeRevocations map[string]time.Time

func (f fakeRevocations) RevokedBefore(ctx context.Context, role string) (time.Time, error) {
	return f[role], nil
}

// env is a Server with fakes behind it.
type env struct {
	srv      *Server
	meta     *fakeMetadata
	faults   *fault.Injector
	profiles *fakeProfiles
	attacher *fakeAttacher
	tracker  *Tracker
	hub      *Hub
}

func newEnv(t *testing.T) *env {
	t.Helper()
	hub := NewHub(8, func() time.Time { return testNow })
	t.Cleanup(hub.Close)
	in, err := fault.New(fault.Options{
		Now: func() time.Time { return testNow },
		Scenarios: []fault.Scenario{{Name: "flaky-start", Steps: []fault.Step{
			{Fault: &fault.Rule{Action: fault.ActionStatus, Status: 500, Path: "/latest/api/token", Times: 3}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	e := &env{
		meta:     &fakeMetadata{o: MetadataOptions{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1, ExtendedCredentials: true}},
		faults:   in,
		profiles: &fakeProfiles{hub: hub, frozen: map[string]bool{}, seq: map[string]uint64{}},
		attacher: &fakeAttacher{a: Attachment{Profile: instanceARN, Role: "web-role"}},
		tracker:  NewTracker(TrackerOptions{}),
		hub:      hub,
	}
	e.srv, err = New(Options{
		Token: testToken, Metadata: e.meta, Faults: in, Profiles: e.profiles, Attacher: e.attacher,
		Tracker: e.tracker, Hub: hub, Revocations: fakeRevocations{}, Auditor: fakeAuditor{},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "# metrics\n") }),
		Health:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }),
		Now:     func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fakeAuditor audits a small fixed account: a root key, no MFA anywhere.
type fakeAuditor struct{}

func (fakeAuditor) Audit(context.Context) (audit.Report, error) {
	return audit.Run(audit.Input{Now: testNow, Accounts: []audit.Account{{ID: "123456789012",
		RootKeys: []audit.Key{{ID: "AKIAROOTROOTROOTROOT", Active: true, Created: testNow}},
		Users: []audit.User{{Name: "alice", ARN: "arn:aws:iam::123456789012:user/alice", MFA: true,
			Keys: []audit.Key{{ID: "AKIAALICEALICEALICE2", Active: true, Created: testNow.AddDate(0, 0, -100), LastUsed: &audit.KeyUse{At: testNow}}}}},
	}}}), nil
}

// do sends one request with the token (auth="" means the right one,
// "-" none) and returns the recorder.
func (e *env) do(method, path, body, auth string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	switch auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+testToken)
	case "-":
	default:
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// state is everything a control request can change, as JSON.
func (e *env) state(t *testing.T) string {
	t.Helper()
	ps, _ := e.profiles.Profiles(context.Background())
	gens, _ := e.tracker.Generations(context.Background(), "", testNow, nil)
	e.profiles.mu.Lock()
	rotated := append([]string(nil), e.profiles.rotated...)
	e.profiles.mu.Unlock()
	b, err := json.Marshal(map[string]any{
		"options": e.meta.MetadataOptions(), "faults": e.faults.Rules(), "scenarios": e.faults.Scenarios(),
		"profiles": ps, "rotated": rotated, "attachment": e.attacher.Attachment(), "generations": gens,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeBody(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
}
