package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/sts"
)

// stsListener is the running STS API: its server and listener.
type stsListener struct {
	srv *http.Server
	ln  net.Listener
	url string
}

// startSTS listens on s.STSAddr and builds the STS server on the store's
// directory and the issuer, with the built-in OIDC IdP (issuer: the listener's URL) mounted
// beside it. Nothing is served until run.
func startSTS(s config.Settings, dir sts.Directory, issuer *sts.Issuer, log *slog.Logger, reg prometheus.Registerer) (*stsListener, error) {
	ln, err := net.Listen("tcp", s.STSAddr)
	if err != nil {
		return nil, fmt.Errorf("sts listener: %w", err)
	}
	url := "http://" + ln.Addr().String()
	idp, err := openOIDCIdP(s.DataDir, url, time.Now) // idp.go
	if err != nil {
		ln.Close()
		return nil, err
	}
	api, err := sts.NewServer(sts.Options{
		Issuer:     issuer,
		Directory:  dir,
		IdP:        idp.Handler(),
		Logger:     log.With("component", "sts"),
		Registerer: reg,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return &stsListener{srv: srv, ln: ln, url: url}, nil
}

func (l *stsListener) run(g *errgroup.Group) {
	g.Go(func() error { return serveUntilClosed(l.srv, l.ln) })
}

func (l *stsListener) shutdown(ctx context.Context) error { return l.srv.Shutdown(ctx) }

// close releases the listener if it was never served; harmless afterwards.
func (l *stsListener) close() { l.ln.Close() }

func (l *stsListener) print(w io.Writer) {
	fmt.Fprintf(w, "imdsemu: STS on %s (SigV4-verified; OIDC discovery at %s/.well-known/openid-configuration)\n", l.url, l.url)
	fmt.Fprintf(w, "export AWS_ENDPOINT_URL_STS=%s\n", l.url)
}
