// Package httpserve builds the HTTP servers of imdsemu's listeners so that
// no client, however many connections it opens or however slowly it talks,
// can take a listener, or the whole process, out of service.
//
// [New] returns an [http.Server] with every timeout set ([Timeouts]): a
// connection that sends no request, drips one, never reads its answer or
// sits idle is closed. Handlers that legitimately outlive WriteTimeout
// (the admin event stream, a fault's injected latency) move their own
// write deadline forward with [http.ResponseController]. On a listener
// whose requests carry no body (Options.BodyDeadline: the metadata
// service's), the read deadline of the rare request with one is set by the
// front handler instead of by the server, which saves every other request
// a deadline change.
//
// [Limit] caps the connections one listener holds open. Past the cap,
// Accept waits (golang.org/x/net/netutil), so further connections queue in
// the kernel instead of taking file descriptors, and a flood of one listener
// leaves descriptors for the others. The default cap is a quarter of the
// process's file-descriptor limit, less a reserve. A connection's place is
// given back from the server's ConnState hook, so connections are not
// wrapped and their reads, writes and deadlines cost nothing more.
//
// [Hosts] is a Host-header allowlist against DNS rebinding: a web page whose
// name an attacker rebinds to 127.0.0.1 reaches the listener with its own
// name in Host, so only names the listener really answers to are served;
// any other gets 403. An IP literal cannot be rebound and is always
// allowed, as is "localhost" and an HTTP/1.0 request without Host (as EC2
// answers those). aws-vault guards its metadata server the same way.
//
// Metrics (imdsemu_http_*, labelled by listener) count open connections,
// the cap, how often a listener reached it, and refused Host headers. The
// package starts no goroutines; it is safe for concurrent use.
package httpserve
