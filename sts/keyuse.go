package sts

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// MaxKeySources bounds the addresses KeyUsage keeps per key.
const MaxKeySources = 16

// KeyUse is one request authenticated with a long-term access key.
type KeyUse struct {
	AccessKeyID string
	At          time.Time
	// Service is the signature's service ("sts", "iam"); Region its region.
	Service, Region string
	Source          netip.Addr
}

// KeyUseRecorder is told of every request a long-term (AKIA) key
// authenticates. It is called on the request path and must not block.
type KeyUseRecorder interface {
	KeyUsed(KeyUse)
}

// KeyUsage is a KeyUseRecorder that keeps, in memory, when each key was
// last used and the addresses it was used from (the first MaxKeySources).
// Its memory is bounded by the number of keys. Safe for concurrent use.
type KeyUsage struct {
	mu   sync.Mutex
	keys map[string]*keyUsage
}

type keyUsage struct {
	last    KeyUse
	sources []netip.Addr
}

// NewKeyUsage returns an empty KeyUsage.
func NewKeyUsage() *KeyUsage { return &KeyUsage{keys: map[string]*keyUsage{}} }

// KeyUsed records u.
func (k *KeyUsage) KeyUsed(u KeyUse) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.keys[u.AccessKeyID]
	if e == nil {
		e = &keyUsage{}
		k.keys[u.AccessKeyID] = e
	}
	if !u.At.Before(e.last.At) {
		e.last = u
	}
	if u.Source.IsValid() && len(e.sources) < MaxKeySources && !slices.Contains(e.sources, u.Source) {
		e.sources = append(e.sources, u.Source)
	}
}

// KeyUse returns the last use of key id and the addresses it was used
// from; ok false when it was not used.
func (k *KeyUsage) KeyUse(id string) (at time.Time, service, region string, from []netip.Addr, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e := k.keys[id]
	if e == nil {
		return time.Time{}, "", "", nil, false
	}
	return e.last.At, e.last.Service, e.last.Region, slices.Clone(e.sources), true
}
