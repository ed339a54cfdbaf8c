package instance

import (
	"cmp"
	"fmt"
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
// Lookups are one atomic load and a scan of the prefixes (bounded by the
// config); Set, Remove and SetDefault copy the table, so instances can be
// added and removed while requests are served. The zero value is not
// usable; call NewRouter.
type Router struct {
	mu    sync.Mutex // serialises changes
	table atomic.Pointer[routeTable]
}

type routeTable struct {
	routes   map[string]Route
	prefixes []prefixRoute // longest first
	def      string
}

type prefixRoute struct {
	prefix netip.Prefix
	id     string
}

// NewRouter returns a router with no instances.
func NewRouter() *Router {
	r := &Router{}
	r.table.Store(&routeTable{routes: map[string]Route{}})
	return r
}

// Set adds the instance rt.ID, or replaces its route. It fails, changing
// nothing, if another instance already serves one of rt.Sources.
func (r *Router) Set(rt Route) error {
	if rt.ID == "" || rt.Handler == nil {
		return fmt.Errorf("instance: a route needs an id and a handler")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.table.Load()
	next := cur.clone()
	next.routes[rt.ID] = Route{ID: rt.ID, Sources: normalise(rt.Sources), Handler: rt.Handler}
	if err := next.index(); err != nil {
		return err
	}
	r.table.Store(next)
	return nil
}

// Remove removes the instance id (and makes it no longer the default);
// it reports whether there was one.
func (r *Router) Remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.table.Load()
	if _, ok := cur.routes[id]; !ok {
		return false
	}
	next := cur.clone()
	delete(next.routes, id)
	if next.def == id {
		next.def = ""
	}
	_ = next.index() // removing a route cannot make a conflict
	r.table.Store(next)
	return true
}

// SetDefault makes instance id serve the clients no instance matches; ""
// means none (they get 404).
func (r *Router) SetDefault(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.table.Load()
	if _, ok := cur.routes[id]; id != "" && !ok {
		return fmt.Errorf("instance: no instance %s to make the default", id)
	}
	next := cur.clone()
	next.def = id
	_ = next.index()
	r.table.Store(next)
	return nil
}

// Default is the id of the default instance, "" for none.
func (r *Router) Default() string { return r.table.Load().def }

// Routes are the routes, by id.
func (r *Router) Routes() []Route {
	t := r.table.Load()
	out := make([]Route, 0, len(t.routes))
	for _, rt := range t.routes {
		out = append(out, rt)
	}
	slices.SortFunc(out, func(a, b Route) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Lookup is the instance that serves a client at addr: its id and handler,
// ok false when none does.
func (r *Router) Lookup(addr netip.Addr) (id string, h http.Handler, ok bool) {
	t := r.table.Load()
	addr = addr.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.prefix.Contains(addr) {
			return p.id, t.routes[p.id].Handler, true
		}
	}
	if t.def != "" {
		return t.def, t.routes[t.def].Handler, true
	}
	return "", nil, false
}

// ServeHTTP routes the request by its RemoteAddr.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		if _, h, ok := r.Lookup(ap.Addr()); ok {
			h.ServeHTTP(w, req)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	if req.Method != http.MethodHead {
		w.Write(imds.ErrorPage(http.StatusNotFound))
	}
}

func (t *routeTable) clone() *routeTable {
	next := &routeTable{routes: make(map[string]Route, len(t.routes)+1), def: t.def}
	for id, rt := range t.routes {
		next.routes[id] = rt
	}
	return next
}

// index rebuilds the prefix list, longest first; two instances with the
// same prefix are an error.
func (t *routeTable) index() error {
	owner := map[netip.Prefix]string{}
	t.prefixes = t.prefixes[:0]
	for _, rt := range t.routes {
		for _, p := range rt.Sources {
			if other, dup := owner[p]; dup && other != rt.ID {
				a, b := min(other, rt.ID), max(other, rt.ID)
				return fmt.Errorf("instance: instances %s and %s both serve %s", a, b, p)
			}
			owner[p] = rt.ID
			t.prefixes = append(t.prefixes, prefixRoute{p, rt.ID})
		}
	}
	slices.SortFunc(t.prefixes, func(a, b prefixRoute) int {
		if c := cmp.Compare(b.prefix.Bits(), a.prefix.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return nil
}

// normalise unmaps IPv4-mapped prefixes and masks every prefix.
func normalise(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}
