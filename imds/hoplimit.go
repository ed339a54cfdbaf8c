package imds

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// connKey is the context key of the connection a request came in on.
type connKey struct{}

// ConnContext stores c in ctx so that token PUT responses can leave with the
// hop limit. Set it as the metadata listener's http.Server.ConnContext:
//
//	srv := &http.Server{Handler: s, ConnContext: s.ConnContext}
//
// Without it the hop limit is silently not applied. A listener that wraps connections should let the wrapper return
// the wrapped connection from a NetConn() net.Conn method, as tls.Conn
// does, so the socket can be found.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// applyHopLimit sets the IP TTL (IPv6 hop limit) of the connection r came
// in on to the current hop limit, and closes the connection after this
// response so the low TTL never reaches a later response on it (as Netflix's
// titus metadata server does). EC2 User Guide: the hop limit applies to the
// PUT response only.
func (s *Server) applyHopLimit(w http.ResponseWriter, r *http.Request) {
	w.Header()["Connection"] = headerClose
	n := int(s.hopLimit.Load())
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	if c == nil {
		return // not served through ConnContext (httptest.ResponseRecorder, say)
	}
	if err := setHopLimit(c, n); err != nil {
		s.log.WarnContext(r.Context(), "imds: hop limit not applied", slog.String("error", err.Error()), slog.String("remote_addr", r.RemoteAddr))
	}
}

// setHopLimit sets the unicast IP TTL (IPv4) or hop limit (IPv6) of c's
// socket to n.
func setHopLimit(c net.Conn, n int) error {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	if _, ok := c.(syscall.Conn); !ok {
		return fmt.Errorf("imds: connection %T has no socket to set a hop limit on", c)
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok && la.IP.To4() != nil {
		// IPv4, also on a dual-stack IPv6 socket: Linux takes IP_TTL there.
		if err := ipv4.NewConn(c).SetTTL(n); err != nil {
			return fmt.Errorf("imds: setting IP_TTL %d: %w", n, err)
		}
		return nil
	}
	if err := ipv6.NewConn(c).SetHopLimit(n); err != nil {
		return fmt.Errorf("imds: setting IPV6_UNICAST_HOPS %d: %w", n, err)
	}
	return nil
}
