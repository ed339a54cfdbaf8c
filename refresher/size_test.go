package refresher

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/imdsemu/imdsemu/credential"
	"github.com/imdsemu/imdsemu/internal/sizeclass"
)

// The Scheduler keeps an entry and a current generation for every
// instance of a fleet (10,000 in one process), so their size classes are
// part of the footprint per instance (docs/performance.md). Objects of 512
// bytes or less carry no header.
func TestSizeClasses(t *testing.T) {
	sizeclass.Fits(t, "an entry", unsafe.Sizeof(entry{}), 80)
	sizeclass.Fits(t, "a Generation", unsafe.Sizeof(Generation{}), 112)
}

// What the Scheduler keeps per key, with its first generation: the entry,
// the generation, the key's place in the map and in the queue. With a
// sync.Map of entries (its nodes and the key boxed in an interface, about
// 125 bytes per key) and the larger entry and generation, it was about
// 400 bytes.
func TestScheduler_RetainedPerEntry(t *testing.T) {
	const n, limit = 10_000, 260
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("arn:aws:iam::123456789012:instance-profile/profile-%05d", i)
	}
	iss := IssuerFunc(func(_ context.Context, key string, life time.Duration) (credential.Value, error) {
		return credential.Value{AccessKeyID: "ASIAEXAMPLEEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}, nil
	})
	before := sizeclass.HeapInUse()
	for _, k := range keys {
		if _, err := s.Ensure(context.Background(), k, iss); err != nil {
			t.Fatal(err)
		}
	}
	perKey := (sizeclass.HeapInUse() - before) / n
	runtime.KeepAlive(s)
	t.Logf("%d bytes per key", perKey)
	if perKey > limit {
		t.Errorf("the Scheduler keeps %d bytes per key with its first generation, want at most %d", perKey, limit)
	}
}
