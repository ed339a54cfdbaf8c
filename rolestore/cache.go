package rolestore

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// caches are the reads the store keeps in memory, because STS makes them
// on every request: effective permissions, and for a request signed with a
// long-term key the key and its user. Each answer holds while nothing is
// committed (see commitCache). Instance profiles and roles, which every
// mint reads, are not kept: with 10,000 instances that would be a
// megabyte or more for reads a few times a minute each.
type caches struct {
	perms commitCache[permKey, permEntry] // UserPermissions, RolePermissions
	keys  commitCache[string, AccessKey]  // AccessKey, by key ID
	users commitCache[userKey, User]      // User and UserByID
}

type permKey struct {
	user roleKey // account and lower-case name, for a user
	role string  // the role ARN, for a role
}

type permEntry struct {
	user User
	role Role
	perm Permissions
}

// userKey is a user's account and name as asked for, or its ID.
type userKey struct{ account, name, id string }

// commitCache keeps what was read while the database's committed state
// stays the same: any commit, through this store or by another process
// (`imdsemu user create` while serve runs), moves the state that
// revocations.now reports and empties the cache, so an answer is never
// staler than the last commit. The state is taken before the read, so a
// commit racing with the read only makes the entry short-lived. It is
// bounded: when full it starts over.
type commitCache[K comparable, V any] struct {
	mu sync.Mutex
	at committed
	m  map[K]V
}

const commitCacheSize = 4096

// get returns the entry for key if it was read in the committed state at.
func (c *commitCache[K, V]) get(at committed, key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != at {
		c.at, c.m = at, nil
	}
	v, hit := c.m[key]
	return v, hit
}

// put keeps an entry read in state at, unless the state has moved since.
func (c *commitCache[K, V]) put(at committed, key K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != at && c.m != nil {
		return
	}
	if c.m == nil || len(c.m) >= commitCacheSize {
		c.at, c.m = at, make(map[K]V)
	}
	c.m[key] = v
}

// cachedRead answers from c what was read since the last commit, and
// otherwise reads and keeps the answer; errors are not kept. Where commits
// of other processes cannot be noticed (revocations.now), it always reads.
func cachedRead[K comparable, V any](ctx context.Context, s *SQLite, c *commitCache[K, V], key K, read func() (V, error)) (V, error) {
	at, ok, err := s.rev.now(ctx, s.db)
	if err != nil || !ok {
		return read()
	}
	if v, hit := c.get(at, key); hit {
		return v, nil
	}
	v, err := read()
	if err == nil {
		c.put(at, key, v)
	}
	return v, err
}

// clone returns u with copies of its maps and slices, so that a caller may
// modify what it got without touching the cached user.
func (u User) clone() User {
	u.Groups, u.ManagedPolicies, u.Tags = slices.Clone(u.Groups), slices.Clone(u.ManagedPolicies), slices.Clone(u.Tags)
	u.Policies = maps.Clone(u.Policies)
	return u
}
