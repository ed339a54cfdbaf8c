package admin

import (
	"context"
	"math"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// Generation statuses.
const (
	StatusCurrent    = "current"
	StatusSuperseded = "superseded"
	StatusExpired    = "expired"
	StatusRevoked    = "revoked"
)

// Defaults of TrackerOptions.
const (
	DefaultMaxGenerations = 20
	DefaultMaxClients     = 32
)

// Revocations tells when a role's sessions were revoked: sessions issued
// before the returned time are denied; the zero time means never. It is
// declared here, where it is used; rolestore's SQLite store satisfies it.
type Revocations interface {
	RevokedBefore(ctx context.Context, roleARN string) (time.Time, error)
}

// TrackerOptions bound a Tracker's memory. Zero values get the defaults.
type TrackerOptions struct {
	// MaxGenerations is how many generations are kept per profile, newest
	// first. Default DefaultMaxGenerations.
	MaxGenerations int
	// MaxClients is how many clients are kept per generation; later ones
	// are only counted. Default DefaultMaxClients.
	MaxClients int
}

// Tracker keeps the recent credential generations of every profile, what
// happened to them and which clients fetched them. It is fed events
// (Record) and is safe for concurrent use.
type Tracker struct {
	maxGens, maxClients int

	mu       sync.Mutex
	profiles map[string]*generation // the newest; each links to the one before
	byKey    map[string]*generation // access key id -> generation
}

// GenerationInfo is one generation as listed.
type GenerationInfo struct {
	Profile     string     `json:"profile"`
	Role        string     `json:"role,omitempty"`
	Seq         uint64     `json:"seq"`
	AccessKeyID string     `json:"access_key_id"`
	Status      string     `json:"status"`
	Issued      time.Time  `json:"issued"`
	Expires     *time.Time `json:"expires,omitempty"`
	FirstServed *time.Time `json:"first_served,omitempty"`
	Superseded  *time.Time `json:"superseded,omitempty"`
	Expired     *time.Time `json:"expired,omitempty"`
	// Revoked is when the role's sessions were revoked, if this one is
	// among them.
	Revoked *time.Time `json:"revoked,omitempty"`
	// Served counts the credential documents served with this generation.
	Served  uint64       `json:"served"`
	Clients []ClientInfo `json:"clients"`
	// ClientsOmitted counts clients beyond the tracker's bound.
	ClientsOmitted uint64 `json:"clients_omitted,omitempty"`
}

// ClientInfo is one client that fetched a generation.
type ClientInfo struct {
	Address string `json:"address"`
	// Versions counts the fetches by IMDS version (v1, v2, ecs).
	Versions map[string]uint64 `json:"versions"`
	First    time.Time         `json:"first"`
	Last     time.Time         `json:"last"`
}

// generation is one generation as tracked: one per instance of a fleet,
// so it is kept in 128 bytes, a size class (TestGeneration_SizeClass),
// where a GenerationInfo is 176 and each of its times 24 more. It keeps
// nothing it can derive: its profile is the key it is listed under, its
// status follows from its times, when it was first served is when its
// first client was. What a served document updates comes first and
// inline, so that recording one (on the request path, for one of
// thousands of instances whose memory is cold) touches few cache lines:
// no map per client or per version. The strings are the event's, shared,
// not copied.
type generation struct {
	served  uint64
	omitted uint64         // clients beyond the bound
	clients []clientRecord // the first was the first served

	prev              *generation // the profile's one before, nil for the oldest kept
	role, accessKeyID string
	seq               uint64
	// loc is the location of the times, the issued event's: snapshot
	// gives them back as they came.
	loc    *time.Location
	issued stamp
	// expires is noStamp when the issued event had no expiry; superseded
	// and expired are noStamp until then.
	expires, superseded, expired stamp
}

// status is the generation's status as tracked (revoked is found when
// listed): expired once expired, else superseded once superseded.
func (g *generation) status() string {
	switch {
	case g.expired != noStamp:
		return StatusExpired
	case g.superseded != noStamp:
		return StatusSuperseded
	default:
		return StatusCurrent
	}
}

// stamp is a time as Unix nanoseconds (8 bytes where a time.Time is 24),
// or noStamp, or zeroStamp. Times before 1678 or after 2262 do not fit;
// the tracker's come from the clock.
type stamp int64

const (
	noStamp   = stamp(math.MinInt64)     // no time
	zeroStamp = stamp(math.MinInt64 + 1) // the zero time
)

// stampOf is t's stamp.
func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return zeroStamp
	}
	return stamp(t.UnixNano())
}

// time is the time of s in loc, the zero time for noStamp.
func (s stamp) time(loc *time.Location) time.Time {
	if s == noStamp || s == zeroStamp {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).In(loc)
}

// ptr is the time of s in loc, or nil for noStamp.
func (s stamp) ptr(loc *time.Location) *time.Time {
	if s == noStamp {
		return nil
	}
	t := s.time(loc)
	return &t
}

// clientRecord is one client of a generation: 88 bytes, the 96-byte
// size class (TestClientRecord_SizeClass), where with its times as
// time.Time it took 144.
type clientRecord struct {
	ip netip.Addr // the client's address, when it is one
	// client is as the event gave it, "" when that is ip as ip writes
	// itself (the event's string is often part of a longer one: kept, it
	// would keep that).
	client      string
	first, last stamp // in the generation's location
	versions    [len(servedVersions)]uint64
	other       map[string]uint64 // versions not in servedVersions
}

// newClientRecord is the record of client (ip, when valid, is its parsed
// address), first served at.
func newClientRecord(ip netip.Addr, client string, at time.Time) clientRecord {
	c := clientRecord{ip: ip, client: client, first: stampOf(at), last: stampOf(at)}
	var buf [64]byte
	if ip.IsValid() && string(ip.AppendTo(buf[:0])) == client {
		c.client = ""
	}
	return c
}

// address is the client as the event gave it.
func (c *clientRecord) address() string {
	if c.client == "" && c.ip.IsValid() {
		return c.ip.String()
	}
	return c.client
}

// servedVersions are the IMDS versions counted inline, per client.
var servedVersions = [...]string{"v1", "v2", "ecs"}

// client is g's record of client (ip, when valid, is its parsed
// address), or nil.
func (g *generation) client(ip netip.Addr, client string) *clientRecord {
	for i := range g.clients {
		c := &g.clients[i]
		if ip.IsValid() && c.ip == ip || !ip.IsValid() && !c.ip.IsValid() && c.client == client {
			return c
		}
	}
	return nil
}

func (c *clientRecord) count(version string) {
	for i, v := range servedVersions {
		if v == version {
			c.versions[i]++
			return
		}
	}
	if c.other == nil {
		c.other = map[string]uint64{}
	}
	c.other[version]++
}

// NewTracker returns an empty Tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	if opts.MaxGenerations <= 0 {
		opts.MaxGenerations = DefaultMaxGenerations
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	return &Tracker{
		maxGens:    opts.MaxGenerations,
		maxClients: opts.MaxClients,
		profiles:   map[string]*generation{},
		byKey:      map[string]*generation{},
	}
}

// Record updates the tracker with one event. Events of other types are
// ignored, as are served events for keys it does not know.
func (t *Tracker) Record(ev Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Type {
	case EventIssued:
		g := &generation{
			prev: t.profiles[ev.Profile], role: ev.Role, accessKeyID: ev.AccessKeyID, seq: ev.Seq,
			loc: ev.At.Location(), issued: stampOf(ev.At), expires: noStamp, superseded: noStamp, expired: noStamp,
		}
		if ev.Expires != nil {
			g.expires = stampOf(*ev.Expires)
		}
		// A profile removed and added again (a new role attached) starts
		// over at 1; whatever was current before is no longer. Past the
		// bound, the oldest are forgotten.
		kept := 1
		for old := g; old.prev != nil; old = old.prev {
			if old.prev.status() == StatusCurrent {
				old.prev.superseded = stampOf(ev.At)
			}
			if kept++; kept > t.maxGens {
				for gone := old.prev; gone != nil; gone = gone.prev {
					delete(t.byKey, gone.accessKeyID)
				}
				old.prev = nil
				break
			}
		}
		t.profiles[ev.Profile] = g
		t.byKey[ev.AccessKeyID] = g
	case EventSuperseded:
		// A current one becomes superseded; an expired one stays expired.
		if g := t.byKey[ev.AccessKeyID]; g != nil && g.superseded == noStamp {
			g.superseded = stampOf(ev.At)
		}
	case EventExpired:
		if g := t.byKey[ev.AccessKeyID]; g != nil {
			g.expired = stampOf(ev.At)
		}
	case EventServed:
		g := t.byKey[ev.AccessKeyID]
		if g == nil {
			return
		}
		g.served++
		ip, _ := netip.ParseAddr(ev.Client) // the zero Addr if it is not one
		c := g.client(ip, ev.Client)
		if c == nil {
			if len(g.clients) >= t.maxClients {
				g.omitted++
				return
			}
			g.clients = append(g.clients, newClientRecord(ip, ev.Client, ev.At))
			c = &g.clients[len(g.clients)-1]
		}
		c.count(ev.Version)
		c.last = stampOf(ev.At)
	}
}

// Generations returns the tracked generations of profile ("" for every
// profile), newest first within a profile, profiles in ARN order. A
// generation is reported expired once its expiry has passed at now, and
// revoked (while not expired) when rev says its role's sessions issued
// after it were revoked. rev may be nil.
func (t *Tracker) Generations(ctx context.Context, profile string, now time.Time, rev Revocations) ([]GenerationInfo, error) {
	t.mu.Lock()
	var out []GenerationInfo
	var names []string
	for p := range t.profiles {
		if profile == "" || p == profile {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		for g := t.profiles[p]; g != nil; g = g.prev {
			out = append(out, g.snapshot(p))
		}
	}
	t.mu.Unlock()

	revoked := map[string]*time.Time{}
	for i := range out {
		g := &out[i]
		if g.Status != StatusExpired && g.Expires != nil && !g.Expires.After(now) {
			g.Status = StatusExpired
			at := *g.Expires
			g.Expired = &at
		}
		if rev == nil || g.Role == "" {
			continue
		}
		before, seen := revoked[g.Role]
		if !seen {
			b, err := rev.RevokedBefore(ctx, g.Role)
			if err != nil {
				return nil, err
			}
			if !b.IsZero() {
				before = &b
			}
			revoked[g.Role] = before
		}
		if before != nil && g.Issued.Before(*before) {
			at := *before
			g.Revoked = &at
			if g.Status != StatusExpired {
				g.Status = StatusRevoked
			}
		}
	}
	return out, nil
}

// snapshot is g as listed, a generation of profile.
func (g *generation) snapshot(profile string) GenerationInfo {
	info := GenerationInfo{
		Profile: profile, Role: g.role, Seq: g.seq, AccessKeyID: g.accessKeyID, Status: g.status(),
		Issued: g.issued.time(g.loc), Expires: g.expires.ptr(g.loc),
		Superseded: g.superseded.ptr(g.loc), Expired: g.expired.ptr(g.loc),
		Served: g.served, ClientsOmitted: g.omitted,
	}
	if len(g.clients) > 0 { // every served generation has its first client
		info.FirstServed = g.clients[0].first.ptr(g.loc)
	}
	info.Clients = make([]ClientInfo, 0, len(g.clients))
	for _, c := range g.clients {
		versions := make(map[string]uint64, len(servedVersions)+len(c.other))
		for i, n := range c.versions {
			if n > 0 {
				versions[servedVersions[i]] = n
			}
		}
		for v, n := range c.other {
			versions[v] = n
		}
		info.Clients = append(info.Clients, ClientInfo{Address: c.address(), Versions: versions, First: c.first.time(g.loc), Last: c.last.time(g.loc)})
	}
	sort.SliceStable(info.Clients, func(i, j int) bool { return info.Clients[i].First.Before(info.Clients[j].First) })
	return info
}
