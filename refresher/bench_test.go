package refresher_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/refresher"
)

// BenchmarkScheduler_Rotations is the rotation path of a server of 10,000
// instances: one op is one rotation (retire the expired generations, mint
// the next through the Issuer, supersede the current one, reschedule, emit
// the events), with every entry due every 10 ms so that the scheduler runs
// flat out. The Issuer returns a fixed credential at once, so the figures
// are the scheduler's own; rotations/s is what one Run goroutine sustains
// (the target of issue 13 is 1,000/s across all instances).
func BenchmarkScheduler_Rotations(b *testing.B) {
	const entries = 10_000
	var issued atomic.Int64
	var want atomic.Int64
	want.Store(-1)
	done := make(chan struct{})
	var once sync.Once
	s, err := refresher.New(refresher.Options{
		Interval: 10 * time.Millisecond, Lifetime: 40 * time.Millisecond,
		OnEvent: func(ev refresher.Event) {
			if ev.Kind == refresher.EventIssued {
				if n := issued.Add(1); n == want.Load() {
					once.Do(func() { close(done) })
				}
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	iss := refresher.IssuerFunc(func(_ context.Context, key string, life time.Duration) (credential.Value, error) {
		now := time.Now()
		return credential.Value{AccessKeyID: "ASIAEXAMPLEEXAMPLE", SecretAccessKey: "secret", SessionToken: "token", Issued: now, Expires: now.Add(life)}, nil
	})
	for i := range entries {
		s.Add(fmt.Sprintf("profile-%05d", i), iss)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	for issued.Load() < entries { // every entry's first generation
		runtime.Gosched()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	want.Store(issued.Load() + int64(b.N))
	if issued.Load() >= want.Load() {
		once.Do(func() { close(done) })
	}
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rotations/s")
}

// BenchmarkScheduler_Current is a lookup by key among 10,000 entries (the
// identity role credentials' GET path, and a profile's first): keys in
// turn, each entry with a generation.
func BenchmarkScheduler_Current(b *testing.B) {
	const entries = 10_000
	s, err := refresher.New(refresher.Options{})
	if err != nil {
		b.Fatal(err)
	}
	iss := refresher.IssuerFunc(func(_ context.Context, key string, life time.Duration) (credential.Value, error) {
		now := time.Now()
		return credential.Value{AccessKeyID: "ASIAEXAMPLEEXAMPLE", Issued: now, Expires: now.Add(life)}, nil
	})
	keys := make([]string, entries)
	for i := range keys {
		keys[i] = fmt.Sprintf("arn:aws:iam::123456789012:instance-profile/profile-%05d", i)
		if _, err := s.Ensure(context.Background(), keys[i], iss); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if s.Current(keys[i%entries]) == nil {
			b.Fatal("no generation")
		}
	}
}
