package admin

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/imdsemu/imdsemu/internal/sizeclass"
)

func TestTracker_Lifecycle(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	t0 := testNow
	exp1, exp2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	role := "arn:aws:iam::123456789012:role/web-role"
	tr.Record(Event{Type: EventIssued, At: t0, Profile: instanceARN, Role: role, Seq: 1, AccessKeyID: "K1", Expires: &exp1})
	tr.Record(Event{Type: EventServed, At: t0.Add(time.Second), AccessKeyID: "K1", Client: "10.0.0.1", Version: "v1"})
	tr.Record(Event{Type: EventServed, At: t0.Add(2 * time.Second), AccessKeyID: "K1", Client: "10.0.0.1", Version: "v2"})
	tr.Record(Event{Type: EventServed, At: t0.Add(3 * time.Second), AccessKeyID: "K1", Client: "10.0.0.2", Version: "v2"})
	tr.Record(Event{Type: EventServed, At: t0, AccessKeyID: "UNKNOWN", Client: "10.0.0.3", Version: "v2"})
	tr.Record(Event{Type: EventSuperseded, At: t0.Add(time.Minute), Profile: instanceARN, Seq: 1, AccessKeyID: "K1"})
	tr.Record(Event{Type: EventIssued, At: t0.Add(time.Minute), Profile: instanceARN, Role: role, Seq: 2, AccessKeyID: "K2", Expires: &exp2})

	gens, err := tr.Generations(context.Background(), instanceARN, t0.Add(2*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 2 || gens[0].Seq != 2 || gens[1].Seq != 1 {
		t.Fatalf("generations = %+v, want 2 then 1", gens)
	}
	g1 := gens[1]
	if g1.Status != StatusSuperseded || g1.Superseded == nil || g1.Served != 3 || !g1.FirstServed.Equal(t0.Add(time.Second)) {
		t.Errorf("generation 1 = %+v", g1)
	}
	if len(g1.Clients) != 2 || g1.Clients[0].Address != "10.0.0.1" || g1.Clients[0].Versions["v1"] != 1 || g1.Clients[0].Versions["v2"] != 1 ||
		!g1.Clients[0].Last.Equal(t0.Add(2*time.Second)) {
		t.Errorf("clients = %+v", g1.Clients)
	}
	if gens[0].Status != StatusCurrent || gens[0].FirstServed != nil || len(gens[0].Clients) != 0 {
		t.Errorf("generation 2 = %+v", gens[0])
	}

	// Past generation 1's expiry it is reported expired even before the
	// refresher's event; revoked applies to the role's older sessions.
	rev := fakeRevocations{role: t0.Add(30 * time.Second)}
	gens, _ = tr.Generations(context.Background(), instanceARN, t0.Add(90*time.Minute), rev)
	if gens[1].Status != StatusExpired || gens[1].Revoked == nil {
		t.Errorf("generation 1 at 90m = %s (revoked %v), want expired and marked revoked", gens[1].Status, gens[1].Revoked)
	}
	if gens[0].Status != StatusCurrent || gens[0].Revoked != nil {
		t.Errorf("generation 2 = %s, revoked %v; it was issued after the revocation", gens[0].Status, gens[0].Revoked)
	}
	rev = fakeRevocations{role: t0.Add(2 * time.Minute)}
	gens, _ = tr.Generations(context.Background(), "", t0.Add(3*time.Minute), rev)
	if gens[0].Status != StatusRevoked || gens[1].Status != StatusRevoked {
		t.Errorf("statuses after revoking both = %s, %s; want revoked", gens[0].Status, gens[1].Status)
	}

	tr.Record(Event{Type: EventExpired, At: t0.Add(time.Hour), Profile: instanceARN, Seq: 1, AccessKeyID: "K1"})
	gens, _ = tr.Generations(context.Background(), instanceARN, t0.Add(time.Hour), nil)
	if gens[1].Status != StatusExpired || !gens[1].Expired.Equal(t0.Add(time.Hour)) {
		t.Errorf("after the expired event: %+v", gens[1])
	}
}

func TestTracker_Bounded(t *testing.T) {
	tr := NewTracker(TrackerOptions{MaxGenerations: 3, MaxClients: 2})
	for i := 1; i <= 10; i++ {
		tr.Record(Event{Type: EventIssued, At: testNow, Profile: "p", Seq: uint64(i), AccessKeyID: fmt.Sprintf("K%d", i)})
	}
	for i := range 5 {
		tr.Record(Event{Type: EventServed, At: testNow, AccessKeyID: "K10", Client: fmt.Sprintf("10.0.0.%d", i), Version: "v2"})
	}
	tr.Record(Event{Type: EventServed, At: testNow, AccessKeyID: "K1", Client: "10.9.9.9", Version: "v2"}) // forgotten key
	gens, _ := tr.Generations(context.Background(), "p", testNow, nil)
	if len(gens) != 3 || gens[0].Seq != 10 || gens[2].Seq != 8 {
		t.Fatalf("kept %d generations (newest %d), want 10..8", len(gens), gens[0].Seq)
	}
	if len(gens[0].Clients) != 2 || gens[0].ClientsOmitted != 3 || gens[0].Served != 5 {
		t.Errorf("clients %d, omitted %d, served %d; want 2, 3, 5", len(gens[0].Clients), gens[0].ClientsOmitted, gens[0].Served)
	}
	tr.mu.Lock()
	keys := len(tr.byKey)
	tr.mu.Unlock()
	if keys != 3 {
		t.Errorf("key index holds %d, want 3 (forgotten generations dropped)", keys)
	}
}

func TestTracker_ReaddedProfileStartsOver(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	tr.Record(Event{Type: EventIssued, At: testNow, Profile: "p", Seq: 1, AccessKeyID: "OLD"})
	tr.Record(Event{Type: EventIssued, At: testNow.Add(time.Minute), Profile: "p", Seq: 1, AccessKeyID: "NEW"})
	gens, _ := tr.Generations(context.Background(), "p", testNow, nil)
	if len(gens) != 2 || gens[0].AccessKeyID != "NEW" || gens[0].Status != StatusCurrent || gens[1].Status != StatusSuperseded {
		t.Errorf("generations = %+v", gens)
	}
}

// The tracker keeps a generation per instance of a fleet (10,000 in one
// process): its record stays in the 128-byte size class, and its record of
// each client that fetched it in the 96-byte one.
func TestSizeClasses(t *testing.T) {
	sizeclass.Fits(t, "a generation", unsafe.Sizeof(generation{}), 128)
	sizeclass.Fits(t, "a clientRecord", unsafe.Sizeof(clientRecord{}), 96)
}

// A client is listed as the event gave it, whether or not the tracker
// kept that string.
func TestTracker_ClientAddresses(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	tr.Record(Event{Type: EventIssued, At: testNow, Profile: "p", Seq: 1, AccessKeyID: "K1"})
	remote := "10.0.0.1:49152" // as serve gives it: part of the request's RemoteAddr
	clients := []string{remote[:8], "2001:db8::1", "::ffff:10.0.0.2", "fe80::1%eth0", "not-an-address"}
	for i, c := range clients {
		tr.Record(Event{Type: EventServed, At: testNow.Add(time.Duration(i) * time.Second), AccessKeyID: "K1", Client: c, Version: "v2"})
	}
	tr.Record(Event{Type: EventServed, At: testNow.Add(time.Minute), AccessKeyID: "K1", Client: "10.0.0.1", Version: "v1"})
	gens, _ := tr.Generations(context.Background(), "p", testNow, nil)
	got := gens[0].Clients
	if len(got) != len(clients) {
		t.Fatalf("clients = %+v, want %d", got, len(clients))
	}
	for i, c := range clients {
		if got[i].Address != c || !got[i].First.Equal(testNow.Add(time.Duration(i)*time.Second)) {
			t.Errorf("client %d = %q first %v, want %q first %v", i, got[i].Address, got[i].First, c, testNow.Add(time.Duration(i)*time.Second))
		}
	}
	if c := got[0]; c.Versions["v1"] != 1 || c.Versions["v2"] != 1 || !c.Last.Equal(testNow.Add(time.Minute)) {
		t.Errorf("10.0.0.1: versions %v, last %v; want v1 and v2 once each, last at +1m", c.Versions, c.Last)
	}
}

// What the tracker keeps for a profile's first generation, as serve feeds
// it one per instance at start: the record and its places in the two
// maps. It was about 370 bytes (a GenerationInfo inside the record, the
// expiry in an object of its own, and a slice per profile).
func TestTracker_RetainedPerGeneration(t *testing.T) {
	const n, limit = 10_000, 200
	profiles, keys := make([]string, n), make([]string, n)
	for i := range n {
		profiles[i] = fmt.Sprintf("arn:aws:iam::123456789012:instance-profile/profile-%05d", i)
		keys[i] = fmt.Sprintf("ASIA%016d", i)
	}
	role := "arn:aws:iam::123456789012:role/web-role"
	tr := NewTracker(TrackerOptions{})
	before := sizeclass.HeapInUse()
	for i := range n {
		exp := testNow.Add(time.Hour) // as serve's event carries it
		tr.Record(Event{Type: EventIssued, At: testNow, Profile: profiles[i], Role: role, Seq: 1, AccessKeyID: keys[i], Expires: &exp})
	}
	perGen := (sizeclass.HeapInUse() - before) / n
	runtime.KeepAlive(tr)
	t.Logf("%d bytes per generation", perGen)
	if perGen > limit {
		t.Errorf("the tracker keeps %d bytes per first generation, want at most %d", perGen, limit)
	}
}

// The tracker keeps its times as Unix nanoseconds; they come back as they
// came, in the issued event's location, and a time not given stays nil.
func TestTracker_TimesAsGiven(t *testing.T) {
	zone := time.FixedZone("UTC+1", 3600)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, zone)
	exp := at.Add(time.Hour)
	tr := NewTracker(TrackerOptions{})
	tr.Record(Event{Type: EventIssued, At: at, Profile: "p", Seq: 1, AccessKeyID: "K1", Expires: &exp})
	tr.Record(Event{Type: EventServed, At: at.Add(time.Second), AccessKeyID: "K1", Client: "10.0.0.1", Version: "v2"})
	gens, _ := tr.Generations(context.Background(), "p", at, nil)
	g := gens[0]
	if g.Issued != at || g.Expires == nil || *g.Expires != exp || g.FirstServed == nil || *g.FirstServed != at.Add(time.Second) {
		t.Errorf("issued %v, expires %v, first served %v; want %v, %v, %v", g.Issued, g.Expires, g.FirstServed, at, exp, at.Add(time.Second))
	}
	if g.Superseded != nil || g.Expired != nil || g.Revoked != nil {
		t.Errorf("superseded %v, expired %v, revoked %v; want none", g.Superseded, g.Expired, g.Revoked)
	}
	tr.Record(Event{Type: EventIssued, At: at, Profile: "q", Seq: 1, AccessKeyID: "K2"})
	if gens, _ := tr.Generations(context.Background(), "q", at, nil); gens[0].Expires != nil {
		t.Errorf("expires %v for an issued event without one, want nil", gens[0].Expires)
	}
}

// A generation's status follows its events in any order: an expired one
// stays expired when superseded after, a superseded one keeps the time it
// was first superseded.
func TestTracker_StatusFromEvents(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	tr.Record(Event{Type: EventIssued, At: testNow, Profile: "p", Seq: 1, AccessKeyID: "K1"})
	tr.Record(Event{Type: EventIssued, At: testNow, Profile: "q", Seq: 1, AccessKeyID: "K2"})
	tr.Record(Event{Type: EventExpired, At: testNow.Add(time.Hour), Profile: "p", Seq: 1, AccessKeyID: "K1"})
	tr.Record(Event{Type: EventSuperseded, At: testNow.Add(2 * time.Hour), Profile: "p", Seq: 1, AccessKeyID: "K1"})
	tr.Record(Event{Type: EventSuperseded, At: testNow.Add(time.Minute), Profile: "q", Seq: 1, AccessKeyID: "K2"})
	tr.Record(Event{Type: EventIssued, At: testNow.Add(2 * time.Minute), Profile: "q", Seq: 2, AccessKeyID: "K3"})
	gens, _ := tr.Generations(context.Background(), "", testNow, nil)
	if len(gens) != 3 {
		t.Fatalf("generations = %+v, want 3", gens)
	}
	if g := gens[0]; g.Profile != "p" || g.Status != StatusExpired || !g.Expired.Equal(testNow.Add(time.Hour)) || !g.Superseded.Equal(testNow.Add(2*time.Hour)) {
		t.Errorf("p 1 = %s, expired %v, superseded %v; want expired at +1h, superseded at +2h", g.Status, g.Expired, g.Superseded)
	}
	if g := gens[1]; g.Profile != "q" || g.Seq != 2 || g.Status != StatusCurrent || g.Superseded != nil {
		t.Errorf("q 2 = %+v, want current", g)
	}
	if g := gens[2]; g.Profile != "q" || g.Status != StatusSuperseded || !g.Superseded.Equal(testNow.Add(time.Minute)) {
		t.Errorf("q 1 = %s, superseded %v; want superseded at +1m (its own event's time, not the next issue's)", g.Status, g.Superseded)
	}
}
