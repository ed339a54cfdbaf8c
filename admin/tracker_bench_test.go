package admin

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkTracker_Served is what every credential GET costs the
// tracker: recording the served document against its generation, here
// round robin over the current generations of 10,000 profiles (one per
// instance, each served by its own client), so that each finds its
// record cold, as a fleet's requests do.
func BenchmarkTracker_Served(b *testing.B) {
	const n = 10_000
	tr := NewTracker(TrackerOptions{})
	events := make([]Event, n)
	for i := range n {
		key := fmt.Sprintf("ASIA%016d", i)
		exp := testNow.Add(time.Hour)
		tr.Record(Event{Type: EventIssued, At: testNow, Profile: fmt.Sprintf("arn:aws:iam::123456789012:instance-profile/p%05d", i),
			Role: "arn:aws:iam::123456789012:role/r", Seq: 1, AccessKeyID: key, Expires: &exp})
		events[i] = Event{Type: EventServed, At: testNow, AccessKeyID: key, Client: fmt.Sprintf("127.64.%d.%d", i/200, i%200+1), Version: "v2"}
	}
	for _, ev := range events { // each client's record made
		tr.Record(ev)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tr.Record(events[i%n])
	}
}
