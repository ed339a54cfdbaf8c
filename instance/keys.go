package instance

import (
	"slices"
	"sync"

	"github.com/imdsemu/imdsemu/refresher"
)

// keyIndex is which instances of a Fleet keep each instance profile's
// scheduler key, its ARN: its own instance, and the primary, which keeps
// every profile. A scheduler event goes to the instances keeping its key
// and no other, so an event costs the same with one instance or ten
// thousand. An identity role's key is in no index: its events concern no
// instance's readiness, and carry no role. The instances tell it what
// they keep (Instance.setRole); the fleet forgets an instance it removes.
// Safe for concurrent use.
type keyIndex struct {
	mu    sync.RWMutex
	byKey map[string][]*Instance // the latest to record the key first
}

func newKeyIndex() *keyIndex { return &keyIndex{byKey: map[string][]*Instance{}} }

// keep records that in keeps key, ahead of the instances that recorded
// it before: the latest to set the key's role knows it best.
func (x *keyIndex) keep(key string, in *Instance) {
	x.mu.Lock()
	defer x.mu.Unlock()
	cur := x.byKey[key]
	if len(cur) > 0 && cur[0] == in {
		return
	}
	// A new slice: event may be going over the old one.
	next := make([]*Instance, 1, len(cur)+1)
	next[0] = in
	for _, o := range cur {
		if o != in {
			next = append(next, o)
		}
	}
	x.byKey[key] = next
}

// join has in tell x what it keeps, now and from now on.
func (x *keyIndex) join(in *Instance) {
	in.rolesMu.Lock() // as setRole does
	defer in.rolesMu.Unlock()
	in.index.Store(x)
	for k := range in.roles.keys() {
		x.keep(k, in)
	}
}

// drop forgets that in keeps key.
func (x *keyIndex) drop(key string, in *Instance) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(key, in)
}

func (x *keyIndex) dropLocked(key string, in *Instance) {
	cur := x.byKey[key]
	i := slices.Index(cur, in)
	switch {
	case i < 0:
		return
	case len(cur) == 1:
		delete(x.byKey, key)
	default:
		// A new slice, as in keep.
		x.byKey[key] = slices.Delete(slices.Clone(cur), i, i+1)
	}
}

// forget drops in from every key it keeps.
func (x *keyIndex) forget(in *Instance) {
	in.rolesMu.Lock() // as setRole does
	defer in.rolesMu.Unlock()
	in.index.Store(nil)
	x.mu.Lock()
	defer x.mu.Unlock()
	for k := range in.roles.keys() {
		x.dropLocked(k, in)
	}
}

// recorded is key and its role as an instance keeping key recorded
// them, the latest first; ok is false when none has. The primary records
// every profile's ARN and role ARN, which their own instances hold
// already (about 190 bytes per instance of a large fleet for a copy of
// each).
func (x *keyIndex) recorded(key string) (k, role string, ok bool) {
	for _, in := range x.keepers(key) {
		in.rolesMu.Lock() // keepers let go of x.mu: setRole takes rolesMu first
		k, role, ok = in.roles.entry(key)
		in.rolesMu.Unlock()
		if ok {
			return k, role, true
		}
	}
	return "", "", false
}

// keepers are the instances keeping key, the latest first. The slice is
// shared: do not change it.
func (x *keyIndex) keepers(key string) []*Instance {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byKey[key]
}

// event passes ev to the instances keeping its key and returns the ARN
// of the role its credentials are for ("" for a key nobody keeps, such as
// an identity role's).
func (x *keyIndex) event(ev refresher.Event) (role string) {
	for _, in := range x.keepers(ev.Key) {
		in.OnEvent(ev)
		if role == "" {
			role = in.RoleARN(ev.Key)
		}
	}
	return role
}
