package instance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/rolestore"
)

const thirdID = "i-0aaaaaaaaaaaaaaa1"

// parseSource is config.ParseSource's contract, enough for the tests:
// an address or a CIDR block.
func parseSource(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad source %q", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// member builds a member of the fixture: instance id with profile, its
// metadata server, served to sources.
func (f *fixture) member(t *testing.T, id, profile string, sources ...string) *Member {
	t.Helper()
	in := f.instance(t, id, profile)
	srv, err := imds.New(imds.Options{Credentials: in, Instance: imds.Instance{ID: in.ID(), AccountID: in.AccountID()}, TokenKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return &Member{Instance: in, Metadata: srv, Profile: profile, Sources: sources}
}

func routedTo(t *testing.T, fl *Fleet, addr string) string {
	t.Helper()
	id, ok := fl.InstanceFor(netip.MustParseAddr(addr))
	if !ok {
		return ""
	}
	return id
}

func TestFleet(t *testing.T) {
	f := newFixture(t)
	built := 0
	opts := FleetOptions{
		Scheduler: f.sched, ParseSource: parseSource, Several: true,
		Check: func(spec admin.InstanceSpec) error {
			if !strings.HasPrefix(spec.ID, "i-") {
				return admin.Errorf(admin.ErrInvalid, "id: bad")
			}
			return nil
		},
		Build: func(ctx context.Context, spec admin.InstanceSpec) (*Member, error) {
			built++
			if spec.Profile == "missing" {
				return nil, fmt.Errorf("profile: %w", rolestore.ErrNotFound)
			}
			return f.member(t, spec.ID, spec.Profile, spec.Sources...), nil
		},
	}
	web := f.member(t, firstID, "web", "10.0.0.0/24")
	batch := f.member(t, secondID, "batch", "10.0.1.5")
	fl, err := NewFleet(t.Context(), opts, []*Member{web, batch}, secondID)
	if err != nil {
		t.Fatal(err)
	}
	if fl.Primary() != batch || fl.Default() != secondID {
		t.Errorf("primary %s, default %q; want the default instance %s", fl.Primary().Instance.ID(), fl.Default(), secondID)
	}
	// The others keep their own profile, named after them; the primary
	// keeps the rest.
	if g := f.sched.Current(webARN); g == nil || f.session(t, g.Credentials).SessionName != firstID {
		t.Errorf("web's session is not named after %s: %+v", firstID, g)
	}
	for addr, want := range map[string]string{"10.0.0.9": firstID, "10.0.1.5": secondID, "192.0.2.1": secondID} {
		if got := routedTo(t, fl, addr); got != want {
			t.Errorf("%s routed to %q, want %s", addr, got, want)
		}
	}
	infos := fl.Instances()
	if len(infos) != 2 || infos[0].ID != firstID || infos[0].Sources[0] != "10.0.0.0/24" || infos[0].Default ||
		infos[1].Sources[0] != "10.0.1.5" || !infos[1].Default || infos[0].Role != "web" || infos[0].Account != acct {
		t.Errorf("Instances() = %+v", infos)
	}
	if h, ok := fl.Control(firstID); !ok || h != web.Control {
		t.Errorf("Control(%s) = %v, %v", firstID, h, ok)
	}
	if _, ok := fl.Control("i-0000000000000000f"); ok {
		t.Error("Control of an unknown instance succeeded")
	}

	kind := func(err error) error {
		for _, k := range []error{admin.ErrInvalid, admin.ErrNotFound, admin.ErrConflict} {
			if errors.Is(err, k) {
				return k
			}
		}
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"sources that do not parse", second(fl.SetSources(firstID, []string{"ten"})), admin.ErrInvalid},
		{"sources of an unknown instance", second(fl.SetSources("i-0000000000000000f", nil)), admin.ErrNotFound},
		{"no sources, no listener, not the default", second(fl.SetSources(firstID, nil)), admin.ErrInvalid},
		{"another instance's source", second(fl.SetSources(firstID, []string{"10.0.1.5"})), admin.ErrConflict},
		{"remove the primary", second(fl.RemoveInstance(t.Context(), secondID)), admin.ErrConflict},
		{"remove an unknown instance", second(fl.RemoveInstance(t.Context(), "i-0000000000000000f")), admin.ErrNotFound},
		{"add: Check refuses", second(fl.AddInstance(t.Context(), admin.InstanceSpec{ID: "x"})), admin.ErrInvalid},
		{"add: the id is taken", second(fl.AddInstance(t.Context(), admin.InstanceSpec{ID: firstID})), admin.ErrConflict},
		{"add: the profile is attached", second(fl.AddInstance(t.Context(), admin.InstanceSpec{ID: thirdID, Profile: "WEB"})), admin.ErrConflict},
		{"add: no such profile", second(fl.AddInstance(t.Context(), admin.InstanceSpec{ID: thirdID, Profile: "missing"})), admin.ErrNotFound},
		{"add: a taken source", second(fl.AddInstance(t.Context(), admin.InstanceSpec{ID: thirdID, Sources: []string{"10.0.1.5"}})), admin.ErrConflict},
	} {
		if got := kind(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if built != 2 {
		t.Errorf("Build called %d times, want 2 (not for specs refused before)", built)
	}
	if got := routedTo(t, fl, "10.0.0.9"); got != firstID {
		t.Errorf("after refused changes 10.0.0.9 routed to %q", got)
	}

	info, err := fl.SetSources(firstID, []string{"10.0.2.0/24", "::ffff:10.0.3.1"})
	if err != nil || len(info.Sources) != 2 {
		t.Fatalf("SetSources = %+v, %v", info, err)
	}
	if got := routedTo(t, fl, "10.0.0.9"); got != secondID {
		t.Errorf("10.0.0.9 after SetSources routed to %q, want the default", got)
	}
	info, err = fl.AddInstance(t.Context(), admin.InstanceSpec{ID: thirdID, Sources: []string{"10.0.9.9"}})
	if err != nil || info.ID != thirdID || info.Account != acct || routedTo(t, fl, "10.0.9.9") != thirdID {
		t.Fatalf("AddInstance = %+v, %v", info, err)
	}
	if n := len(fl.Members()); n != 3 {
		t.Errorf("%d members after AddInstance, want 3", n)
	}
	if _, err := fl.RemoveInstance(t.Context(), firstID); err != nil {
		t.Fatal(err)
	}
	if got := routedTo(t, fl, "10.0.2.9"); got != secondID {
		t.Errorf("a removed instance's client routed to %q, want the default", got)
	}
	// The primary takes the removed instance's profile back: it is still
	// minted, now named after the primary.
	if g := f.sched.Current(webARN); g == nil || f.session(t, g.Credentials).SessionName != secondID {
		t.Errorf("web's profile after %s was removed: %+v, want credentials minted as %s", firstID, g, secondID)
	}
}

func second[T any](_ T, err error) error { return err }

// A member without a control API gets one from FleetOptions.Control on its
// first request, once; one that cannot be made answers 500 with the reason
// and is tried again.
func TestFleet_ControlMadeOnFirstRequest(t *testing.T) {
	f := newFixture(t)
	builds := map[string]int{}
	fail := true
	opts := FleetOptions{Scheduler: f.sched, ParseSource: parseSource, Several: true,
		Control: func(m *Member) (http.Handler, error) {
			builds[m.Instance.ID()]++
			if m.Instance.ID() == secondID && fail {
				return nil, errors.New("no tracker")
			}
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), nil
		}}
	fl, err := NewFleet(t.Context(), opts, []*Member{f.member(t, firstID, "web", "10.0.0.0/24"), f.member(t, secondID, "batch", "10.0.1.5")}, firstID)
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 0 {
		t.Fatalf("control APIs made before any request: %v", builds)
	}
	status := func(id string) (int, string) {
		h, ok := fl.Control(id)
		if !ok {
			t.Fatalf("no control API for %s", id)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/attachment", nil))
		return w.Code, w.Body.String()
	}
	for range 2 {
		if code, _ := status(firstID); code != http.StatusTeapot {
			t.Errorf("%s: status %d, want the control API's", firstID, code)
		}
	}
	if code, body := status(secondID); code != http.StatusInternalServerError || !strings.Contains(body, "no tracker") {
		t.Errorf("failed control API: %d %q, want 500 with the reason", code, body)
	}
	fail = false
	if code, _ := status(secondID); code != http.StatusTeapot {
		t.Errorf("after the failure went away: status %d, want the control API's", code)
	}
	if builds[firstID] != 1 || builds[secondID] != 2 {
		t.Errorf("made %v, want %s once and %s twice (once failed)", builds, firstID, secondID)
	}
}
