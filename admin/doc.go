// Package admin is imdsemu's runtime control API: JSON over HTTP under /v1/
// on the admin listener, every request authenticated with a bearer token.
// It switches the metadata server's options, manages fault rules and
// scenarios, rotates, freezes and unfreezes credential generations,
// attaches and detaches the instance's role, lists generations with the
// clients that fetched them, and streams what happens as server-sent events
// (GET /v1/events). docs/admin-api.md documents every endpoint.
//
// A [Server] is an http.Handler that also serves the unauthenticated
// /metrics and /healthz handlers it is given. It reaches the rest of
// imdsemu only through the small interfaces declared here ([Metadata],
// [Profiles], [Attacher], [Revocations]) and the fault package's
// Injector; the serve command adapts the concrete types.
//
// A [Tracker] remembers the recent generations of each profile (bounded:
// TrackerOptions) from the events it is fed; a [Hub] fans events out to
// subscribers, each with a bounded buffer, dropping those that fall behind
// so that publishing never blocks.
//
// # Concurrency
//
// Everything here is safe for concurrent use. The package starts no
// goroutines: an event stream runs on its request's goroutine and ends
// when the client goes away or [Hub.Close] is called, which the serve
// command registers with http.Server.RegisterOnShutdown because Shutdown
// does not end streaming requests by itself.
//
// # Bad input
//
// A body with unknown fields, bad JSON, an impossible rule or option, or an
// unknown profile, rule or scenario is answered 400 or 404 with
// {"error": "…"} (and "fields" for validation errors) and changes nothing.
package admin
