package imds

import (
	"math"
	"net"
	"sync"
	"time"
)

// maxThrottleClients bounds the limiter's table. Past it, clients whose
// bucket has refilled (idle ones) are forgotten, which changes nothing for
// them: a new bucket starts full. A client whose bucket is not full is never
// forgotten, so spraying source addresses cannot buy a throttled client a
// fresh bucket; while the table holds only such clients, new ones share a
// single overflow bucket.
const maxThrottleClients = 4096

// limiter is a token bucket per client IP. Throttling is off unless
// switched on, so its mutex is not on the default request path.
type limiter struct {
	rate  float64 // tokens a second
	burst float64 // bucket size
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*bucket
	// overflow is the one bucket of every client that finds the table
	// full of clients that are not idle.
	overflow bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rps float64, burst int, now func() time.Time) *limiter {
	b := float64(burst)
	if burst < 1 {
		b = math.Max(1, math.Ceil(rps))
	}
	return &limiter{rate: rps, burst: b, now: now, clients: make(map[string]*bucket), overflow: bucket{tokens: b, last: now()}}
}

// allow takes a token from the bucket of the client at remoteAddr
// (host:port; the port is ignored) and reports whether there was one.
func (l *limiter) allow(remoteAddr string) bool {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[host]
	if b == nil {
		if len(l.clients) >= maxThrottleClients {
			l.prune(now)
		}
		if len(l.clients) < maxThrottleClients {
			b = &bucket{tokens: l.burst, last: now}
			l.clients[host] = b
		} else {
			b = &l.overflow
		}
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets the clients whose buckets are full by now, and only those:
// forgetting any other would forgive it.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.clients {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.clients, k)
		}
	}
}
