package instance

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/imdsemu/imdsemu/imds"
)

// Route is how a Router reaches one instance: its id, the client source
// addresses it serves (addresses as full-length prefixes, or CIDR blocks,
// IPv4 or IPv6), and the handler serving its metadata (its own
// imds.Server, with whatever wraps it).
type Route struct {
	ID      string
	Sources []netip.Prefix
	Handler http.Handler
}

// Router sends each metadata request to the instance that serves its
// client, by source address: the instance one of whose sources holds the
// address, the longest prefix winning (an IPv4-mapped IPv6 client counts
// as its IPv4 address); else the default instance, if one is set; else it
// answers 404 with EC2's error page, whatever the path, so an unknown
// client never sees another instance's role or metadata.
//
// Requests that reach an instance by the listener they arrived on need no
// router: serve the instance's handler on that listener.
//
// A lookup takes no lock and costs one map lookup per distinct prefix
// length in use (one, when every instance has its own address), however
// many instances there are; Set and Remove cost the sources they change,
// so instances can be added and removed while requests are served. Each
// source moves from one instance to another at once; a Set that changes
// several moves them one by one. The zero value is not usable; call
// NewRouter.
type Router struct {
	mu     sync.Mutex         // serialises changes; guards routes and count
	routes map[string]*target // by id
	count  map[lengthKey]int  // prefixes of each length

	// served is who serves each prefix, in shards by the prefix: written
	// under mu (so, there, also who owns it), read without. A change copies
	// the one shard it touches and publishes the copy, so a lookup is an
	// atomic load and a map lookup, and each prefix costs its map slot
	// (where a sync.Map took an entry, a boxed key and its share of the
	// trie's nodes: about 150 bytes more per instance at 10,000).
	served [servedShards]atomic.Pointer[prefixMap]
	lens   atomic.Pointer[lengths]
	def    atomic.Pointer[target]
	// gen counts the changes: a connection's route (ConnContext) holds
	// while it is the same.
	gen atomic.Uint64
}

// target is where a lookup sends a request, and the route it came from:
// one object per instance, shared by its prefixes.
type target struct {
	id      string
	h       http.Handler
	sources []netip.Prefix // normalised; read under Router.mu
}

// prefixMap is one shard of Router.served. Published shards are not
// changed: a change copies the shard.
type prefixMap map[netip.Prefix]*target

// servedShards is how many shards Router.served has: a change copies some
// 40 entries at 10,000 instances, and a router of one instance keeps 2 KB
// of empty shard pointers.
const servedShards = 256

// shardOf is the shard of Router.served that holds p.
func shardOf(p netip.Prefix) int {
	a := p.Addr().As16()
	x := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(a[8:]) ^ uint64(p.Bits())
	x *= 0x9e3779b97f4a7c15 // Fibonacci hashing: the top bits mix all of x
	return int(x >> 56)
}

// load is the target serving p, nil for none.
func (r *Router) load(p netip.Prefix) *target {
	if m := r.served[shardOf(p)].Load(); m != nil {
		return (*m)[p]
	}
	return nil
}

// store has t serve p (t nil: nothing). r.mu is held.
func (r *Router) store(p netip.Prefix, t *target) {
	sh := &r.served[shardOf(p)]
	next := prefixMap{}
	if old := sh.Load(); old != nil {
		next = maps.Clone(*old)
	}
	if t != nil {
		next[p] = t
	} else {
		delete(next, p)
	}
	sh.Store(&next)
}

type lengthKey struct {
	v6   bool
	bits int
}

// lengths are the prefix lengths in use, longest first.
type lengths struct{ v4, v6 []int }

// NewRouter returns a router with no instances.
func NewRouter() *Router {
	r := &Router{routes: map[string]*target{}, count: map[lengthKey]int{}}
	r.lens.Store(&lengths{})
	return r
}

// Set adds the instance rt.ID, or replaces its route. It fails, changing
// nothing, if another instance already serves one of rt.Sources. The
// router may keep rt.Sources: do not change them after.
func (r *Router) Set(rt Route) error {
	if rt.ID == "" || rt.Handler == nil {
		return fmt.Errorf("instance: a route needs an id and a handler")
	}
	rt.Sources = normalise(rt.Sources)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range rt.Sources {
		if other := r.load(p); other != nil && other.id != rt.ID {
			a, b := min(other.id, rt.ID), max(other.id, rt.ID)
			return fmt.Errorf("instance: instances %s and %s both serve %s", a, b, p)
		}
	}
	t := &target{id: rt.ID, h: rt.Handler, sources: rt.Sources}
	for _, p := range rt.Sources {
		if r.load(p) == nil {
			r.count[lengthOf(p)]++
		}
		r.store(p, t)
	}
	if old := r.routes[rt.ID]; old != nil {
		for _, p := range old.sources {
			if !slices.Contains(rt.Sources, p) {
				r.unserve(p)
			}
		}
	}
	r.routes[rt.ID] = t
	if d := r.def.Load(); d != nil && d.id == rt.ID {
		r.def.Store(t)
	}
	r.publishLengths()
	r.gen.Add(1)
	return nil
}

// unserve stops serving p. r.mu is held.
func (r *Router) unserve(p netip.Prefix) {
	r.store(p, nil)
	if k := lengthOf(p); r.count[k] <= 1 {
		delete(r.count, k)
	} else {
		r.count[k]--
	}
}

// publishLengths has lookups probe the lengths in use. r.mu is held.
func (r *Router) publishLengths() {
	var ls lengths
	for k := range r.count {
		if k.v6 {
			ls.v6 = append(ls.v6, k.bits)
		} else {
			ls.v4 = append(ls.v4, k.bits)
		}
	}
	longestFirst := func(a, b int) int { return cmp.Compare(b, a) }
	slices.SortFunc(ls.v4, longestFirst)
	slices.SortFunc(ls.v6, longestFirst)
	r.lens.Store(&ls)
}

func lengthOf(p netip.Prefix) lengthKey { return lengthKey{v6: !p.Addr().Is4(), bits: p.Bits()} }

// Remove removes the instance id (and makes it no longer the default);
// it reports whether there was one.
func (r *Router) Remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.routes[id]
	if !ok {
		return false
	}
	if d := r.def.Load(); d != nil && d.id == id {
		r.def.Store(nil)
	}
	for _, p := range t.sources {
		r.unserve(p)
	}
	delete(r.routes, id)
	r.publishLengths()
	r.gen.Add(1)
	return true
}

// SetDefault makes instance id serve the clients no instance matches; ""
// means none (they get 404).
func (r *Router) SetDefault(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.gen.Add(1)
	if id == "" {
		r.def.Store(nil)
		return nil
	}
	t, ok := r.routes[id]
	if !ok {
		return fmt.Errorf("instance: no instance %s to make the default", id)
	}
	r.def.Store(t)
	return nil
}

// Default is the id of the default instance, "" for none.
func (r *Router) Default() string {
	if d := r.def.Load(); d != nil {
		return d.id
	}
	return ""
}

// Routes are the routes, by id.
func (r *Router) Routes() []Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Route, 0, len(r.routes))
	for _, t := range r.routes {
		out = append(out, Route{ID: t.id, Sources: slices.Clone(t.sources), Handler: t.h})
	}
	slices.SortFunc(out, func(a, b Route) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Lookup is the instance that serves a client at addr: its id and handler,
// ok false when none does.
func (r *Router) Lookup(addr netip.Addr) (id string, h http.Handler, ok bool) {
	if t := r.lookup(addr); t != nil {
		return t.id, t.h, true
	}
	return "", nil, false
}

// lookup is the target serving addr, nil for none.
func (r *Router) lookup(addr netip.Addr) *target {
	addr = addr.Unmap().WithZone("")
	ls := r.lens.Load()
	bits := ls.v6
	if addr.Is4() {
		bits = ls.v4
	}
	for _, b := range bits {
		p, err := addr.Prefix(b)
		if err != nil {
			continue
		}
		if t := r.load(p); t != nil {
			return t
		}
	}
	return r.def.Load()
}

// connRoute is where a connection's requests go: the target its client's
// address found, while the routes are still those of generation gen.
type connRoute struct {
	gen uint64
	t   *target
}

// connRouteKey keys a connection's *atomic.Pointer[connRoute] in its
// context.
type connRouteKey struct{}

// ConnContext gives a connection a place for its route, so that its
// requests (all from one client address) find their instance with one
// load and a comparison, until the routes change, instead of parsing the
// address and looking it up each time: with many instances the lookup
// reads memory no other request of the connection's instance needs. Set
// it as (part of) the metadata listener's http.Server.ConnContext.
func (r *Router) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connRouteKey{}, new(atomic.Pointer[connRoute]))
}

// ServeHTTP routes the request by its RemoteAddr.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// With no source prefixes (a single instance, say) every client gets
	// the default: its address need not be parsed.
	if ls := r.lens.Load(); len(ls.v4) == 0 && len(ls.v6) == 0 {
		if d := r.def.Load(); d != nil {
			d.h.ServeHTTP(w, req)
			return
		}
	}
	cr, _ := req.Context().Value(connRouteKey{}).(*atomic.Pointer[connRoute])
	gen := r.gen.Load()
	if cr != nil {
		if c := cr.Load(); c != nil && c.gen == gen {
			c.t.h.ServeHTTP(w, req)
			return
		}
	}
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		if t := r.lookup(ap.Addr()); t != nil {
			if cr != nil {
				cr.Store(&connRoute{gen: gen, t: t})
			}
			t.h.ServeHTTP(w, req)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	if req.Method != http.MethodHead {
		w.Write(imds.ErrorPage(http.StatusNotFound))
	}
}

// normalise unmaps IPv4-mapped prefixes, masks every prefix and drops
// repeats. Prefixes that need none of it are returned as they are, not
// copied (with many instances the copy is an object per instance).
func normalise(ps []netip.Prefix) []netip.Prefix {
	if normal(ps) {
		return ps
	}
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if p = p.Masked(); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// normal reports whether normalise would return ps unchanged.
func normal(ps []netip.Prefix) bool {
	for i, p := range ps {
		if p.Addr().Is4In6() && p.Bits() >= 96 || p.Masked() != p || slices.Contains(ps[:i], p) {
			return false
		}
	}
	return true
}
