// Package fault injects failures into imdsemu's metadata service on demand,
// so that what an AWS SDK's credential chain does when IMDS misbehaves can be
// produced, switched at run time and observed.
//
// A [Rule] says which requests it matches (path prefix, method, IMDS version,
// client address or prefix), what it does (an [Action]: latency, a status,
// an outage, a blackhole, a reset, a malformed, expired or expiring
// credential document), how often (probability, the first N, every Nth) and
// for how long (until removed, For a duration, Times a number of times). An
// [Injector] holds the active rules; [Injector.Handler] wraps the metadata
// handler and [Injector.Listener] the metadata listener. A [Scenario] is a
// named timeline of rules.
//
// # Cost
//
// With no active rule, the Handler costs one atomic load per request
// (BenchmarkHandler_NoRules). Rules are an immutable list swapped with
// copy-on-write; their counters are atomics.
//
// # Outages
//
// [ActionRefuse] without a client really refuses connections: the Listener
// closes its listening socket (and the open connections) for the outage and
// binds the same address again after it. Clients see ECONNREFUSED, as when
// the service is down. With a client address the connection is accepted and
// reset (RST) instead, since a closed socket cannot refuse only some clients.
//
// # Credential documents
//
// The actions that change credential documents (malformed, expired,
// expiring) rewrite the metadata server's answer for the requests they match
// rather than the credentials themselves: the session token still carries
// the credentials' real expiry. SDKs act on the document's Expiration, which
// is what these actions exist to exercise; a service that verifies the
// session token still accepts it until its real expiry.
//
// # Concurrency
//
// An Injector is safe for concurrent use. It starts no long-lived
// goroutine: scenario steps run on time.AfterFunc timers, blackholed
// requests are held on the request's own goroutine, and the Listener waits
// for an outage's end inside Accept. [Injector.Close] ends everything.
package fault
