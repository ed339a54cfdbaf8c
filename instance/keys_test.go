package instance

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	webRole   = "arn:aws:iam::123456789012:role/web"
	batchRole = "arn:aws:iam::123456789012:role/batch"
)

// ids are the ids of the instances keeping key in fl, the latest first.
func keepers(fl *Fleet, key string) []string {
	var out []string
	for _, in := range fl.keys.keepers(key) {
		out = append(out, in.ID())
	}
	return out
}

// seedProfiles adds profiles p0..p(n-1), each with the role of the same
// name, or all with role shared when shared is not "".
func (f *fixture) seedProfiles(t *testing.T, n int, shared string) {
	t.Helper()
	var seed rolestore.Seed
	for i := range n {
		name, role := fmt.Sprintf("p%d", i), shared
		if role == "" {
			role = name
			seed.Roles = append(seed.Roles, rolestore.Role{AccountID: acct, Name: role, TrustPolicy: ec2Trust})
		}
		seed.InstanceProfiles = append(seed.InstanceProfiles, rolestore.InstanceProfile{AccountID: acct, Name: name, Roles: []string{role}})
	}
	if err := f.store.Apply(t.Context(), seed); err != nil {
		t.Fatal(err)
	}
}

// fleetOptions let the fleet add instances of the fixture.
func (f *fixture) fleetOptions(t *testing.T) FleetOptions {
	return FleetOptions{
		Scheduler: f.sched, ParseSource: parseSource, Several: true,
		Check: func(admin.InstanceSpec) error { return nil },
		Build: func(_ context.Context, spec admin.InstanceSpec) (*Member, error) {
			return f.member(t, spec.ID, spec.Profile, spec.Sources...), nil
		},
	}
}

// profileFleet is a fleet of a primary without a profile and n
// instances of profiles p0..p(n-1) (seedProfiles), primary first.
func profileFleet(t *testing.T, n int, shared string) (*Fleet, []*Member) {
	t.Helper()
	f := newFixture(t)
	f.seedProfiles(t, n, shared)
	members := []*Member{f.member(t, firstID, "", "10.0.0.1")}
	for i := range n {
		members = append(members, f.member(t, fmt.Sprintf("i-%017x", i+1), fmt.Sprintf("p%d", i), fmt.Sprintf("10.1.0.%d", i+1)))
	}
	fl, err := NewFleet(t.Context(), FleetOptions{Scheduler: f.sched, ParseSource: parseSource, Several: true}, members, firstID)
	if err != nil {
		t.Fatal(err)
	}
	return fl, members
}

func profileARN(name string) string { return "arn:aws:iam::123456789012:instance-profile/" + name }

func TestFleet_EventsReachTheirKeepers(t *testing.T) {
	f := newFixture(t)
	opts := f.fleetOptions(t)
	web := f.member(t, firstID, "web", "10.0.0.1")
	primary := f.member(t, secondID, "batch", "10.0.0.2")
	fl, err := NewFleet(t.Context(), opts, []*Member{web, primary}, secondID)
	if err != nil {
		t.Fatal(err)
	}
	webID, primaryID := web.Instance.IdentityRoleKey(), primary.Instance.IdentityRoleKey()

	// A profile's key is its instance's and the primary's, which keeps
	// every profile; an identity role's is nobody's (its events concern no
	// instance).
	for key, want := range map[string][]string{
		webID:     nil,
		primaryID: nil,
		webARN:    {secondID, firstID},
		batchARN:  nil, // no role: nobody keeps it
	} {
		if got := keepers(fl, key); !slices.Equal(got, want) {
			t.Errorf("keepers of %s = %v, want %v", key, got, want)
		}
	}
	if role := fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: webID}); role != "" {
		t.Errorf("identity event's role = %q, want none", role)
	}
	if isReady(web.Instance) {
		t.Fatal("web ready before its profile's first generation")
	}
	if role := fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: webARN}); role != webRole || !isReady(web.Instance) {
		t.Errorf("web profile's event: role %q (want %s), web ready %t", role, webRole, isReady(web.Instance))
	}

	// Re-attaching puts the instance first, with the new role, which the
	// events now carry (not the primary's older record of the profile).
	if _, err := web.Instance.Attach(t.Context(), "batch"); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, webARN); !slices.Equal(got, []string{firstID, secondID}) {
		t.Errorf("keepers of web after Attach = %v", got)
	}
	if role := fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: webARN}); role != batchRole {
		t.Errorf("role after Attach = %q, want %s", role, batchRole)
	}
	if _, err := web.Instance.Detach(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, webARN); !slices.Equal(got, []string{secondID}) {
		t.Errorf("keepers of web after Detach = %v, want the primary only", got)
	}
	// The IAM API's change reaches the instance started with the profile.
	if err := fl.ProfileChanged(t.Context(), webARN, "web"); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, webARN); !slices.Equal(got, []string{firstID, secondID}) || web.Instance.Attachment().Role != "web" {
		t.Errorf("after ProfileChanged: keepers %v, attachment %+v", got, web.Instance.Attachment())
	}

	// Added and removed instances come and go from the index.
	f.seedProfiles(t, 1, "")
	if _, err := fl.AddInstance(t.Context(), admin.InstanceSpec{ID: thirdID, Profile: "p0", Sources: []string{"10.0.0.3"}}); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, profileARN("p0")); !slices.Equal(got, []string{thirdID}) {
		t.Errorf("keepers of p0 after AddInstance = %v, want the new instance", got)
	}
	third := fl.byID[thirdID].Instance
	if got := keepers(fl, third.IdentityRoleKey()); got != nil {
		t.Errorf("keepers of the new identity key = %v, want none", got)
	}
	if _, err := fl.RemoveInstance(t.Context(), firstID); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, webID); got != nil {
		t.Errorf("keepers of a removed instance's identity key = %v", got)
	}
	if got := keepers(fl, webARN); !slices.Equal(got, []string{secondID}) {
		t.Errorf("keepers of web after its instance left = %v, want the primary", got)
	}
	// A removed instance no longer tells the index anything.
	if _, err := web.Instance.Attach(t.Context(), "batch"); err != nil {
		t.Fatal(err)
	}
	if got := keepers(fl, webARN); !slices.Equal(got, []string{secondID}) {
		t.Errorf("keepers of web after a removed instance attached = %v", got)
	}
}

func TestFleet_EventsAreIndexedWithManyInstances(t *testing.T) {
	for _, shared := range []string{"", "web"} {
		t.Run("shared role "+shared, func(t *testing.T) {
			const n = 50
			fl, members := profileFleet(t, n, shared)
			for i, m := range members[1:] {
				want := fmt.Sprintf("arn:aws:iam::123456789012:role/p%d", i)
				if shared != "" {
					want = webRole
				}
				key := profileARN(fmt.Sprintf("p%d", i))
				if got := keepers(fl, key); !slices.Equal(got, []string{firstID, m.Instance.ID()}) {
					t.Errorf("keepers of %s = %v, want the primary and its instance", key, got)
				}
				if role := fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: key}); role != want || !isReady(m.Instance) {
					t.Errorf("%s: role %q (want %s), ready %t", key, role, want, isReady(m.Instance))
				}
				if got := keepers(fl, m.Instance.IdentityRoleKey()); got != nil {
					t.Errorf("keepers of %s's identity key = %v, want none", m.Instance.ID(), got)
				}
			}
			if got := len(fl.keys.byKey); got != n+1 {
				t.Errorf("index holds %d keys, want %d (n+1 profiles with web)", got, n+1)
			}
		})
	}
}

// TestFleet_EventsWhileChanging runs under -race: events go to the index
// while instances are added, removed and re-attached.
func TestFleet_EventsWhileChanging(t *testing.T) {
	f := newFixture(t)
	const n = 8
	f.seedProfiles(t, n, "")
	opts := f.fleetOptions(t)
	web := f.member(t, firstID, "web", "10.0.0.1")
	fl, err := NewFleet(t.Context(), opts, []*Member{web}, firstID)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: profileARN(fmt.Sprintf("p%d", k%n))})
			fl.OnEvent(refresher.Event{Kind: refresher.EventIssued, Key: webARN})
		}
	})
	for i := range n {
		id := fmt.Sprintf("i-%017x", i+1)
		if _, err := fl.AddInstance(t.Context(), admin.InstanceSpec{ID: id, Profile: fmt.Sprintf("p%d", i), Sources: []string{fmt.Sprintf("10.1.0.%d", i+1)}}); err != nil {
			t.Error(err)
		}
		if _, err := web.Instance.Attach(t.Context(), []string{"batch", "web"}[i%2]); err != nil {
			t.Error(err)
		}
		if i%2 == 1 {
			if _, err := fl.RemoveInstance(t.Context(), id); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if got := len(fl.Members()); got != 1+n/2 {
		t.Errorf("%d members, want %d", got, 1+n/2)
	}
}

// The primary records every profile's ARN and role ARN in the strings
// the profile's own instance recorded, not in copies of its own.
func TestFleet_PrimarySharesTheInstancesStrings(t *testing.T) {
	fl, members := profileFleet(t, 8, "")
	primary := fl.Primary().Instance
	for _, m := range members[1:] {
		own := m.Instance.roles.few
		if len(own) != 1 {
			t.Fatalf("%s records %d roles, want its own", m.Instance.ID(), len(own))
		}
		var key string
		for k := range primary.roles.keys() {
			if k == own[0].key {
				key = k
			}
		}
		role := primary.RoleARN(own[0].key)
		if key == "" || role != own[0].role {
			t.Fatalf("the primary records %q -> %q, want %s -> %s", key, role, own[0].key, own[0].role)
		}
		if unsafe.StringData(key) != unsafe.StringData(own[0].key) || unsafe.StringData(role) != unsafe.StringData(own[0].role) {
			t.Errorf("the primary's record of %s is a copy of %s's strings, not the same", own[0].key, m.Instance.ID())
		}
	}
}

func TestIsRoleARN(t *testing.T) {
	for _, c := range []struct {
		arn, account, name string
		want               bool
	}{
		{"arn:aws:iam::123456789012:role/web", "123456789012", "web", true},
		{"arn:aws:iam::123456789012:role/team/a/web", "123456789012", "web", true},
		{"arn:aws:iam::123456789012:role/team/aweb", "123456789012", "web", false},
		{"arn:aws:iam::123456789012:role/webx", "123456789012", "web", false},
		{"arn:aws:iam::210987654321:role/web", "123456789012", "web", false},
		{"arn:aws:iam::123456789012:instance-profile/web", "123456789012", "web", false},
		{"", "123456789012", "web", false},
	} {
		if got := isRoleARN(c.arn, c.account, c.name); got != c.want {
			t.Errorf("isRoleARN(%q, %s, %s) = %t, want %t", c.arn, c.account, c.name, got, c.want)
		}
	}
}
