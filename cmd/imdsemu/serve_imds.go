package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/instance"
)

// imdsSetup is what serve prepares for the metadata server beyond its base
// options: the instance's metadata, user data and the ECS token.
type imdsSetup struct {
	s        config.Settings
	userData []byte
	ecsToken string
}

func newIMDSSetup(s config.Settings) (*imdsSetup, error) {
	x := &imdsSetup{s: s}
	var err error
	switch {
	case s.Instance.UserDataFile != "":
		x.userData, err = os.ReadFile(s.Instance.UserDataFile)
		if err != nil {
			return nil, fmt.Errorf("instance.user-data-file: %w", err)
		}
		if len(x.userData) > config.MaxUserData {
			return nil, fmt.Errorf("instance.user-data-file: %s is %d bytes; EC2 allows at most %d", s.Instance.UserDataFile, len(x.userData), config.MaxUserData)
		}
	case s.Instance.UserData != "":
		x.userData = []byte(s.Instance.UserData)
	}
	if s.ECSAddr != "" {
		if x.ecsToken, err = instance.LoadOrCreateECSToken(s.DataDir); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// metadata is the instance's metadata from the settings.
func (x *imdsSetup) metadata() imds.Instance {
	in := x.s.Instance
	return imds.Instance{
		ID: in.ID, Type: in.Type, Region: in.Region, AvailabilityZone: in.AvailabilityZone, AccountID: in.Account,
		AMIID: in.AMIID, Hostname: in.Hostname, LocalIPv4: in.LocalIPv4, PublicIPv4: in.PublicIPv4,
		MAC: in.MAC, AvailabilityZoneID: in.AvailabilityZoneID, Tags: in.Tags, UserData: x.userData,
	}
}

// options completes the metadata server's options.
func (x *imdsSetup) options(o imds.Options) imds.Options {
	s := x.s
	o.HopLimit = s.HopLimit
	o.ExtendedCredentials = s.ExtendedCredentials == nil || *s.ExtendedCredentials
	o.InstanceMetadataTags = s.InstanceMetadataTags
	o.Throttle = imds.Throttle{RPS: s.Throttle.RPS, Burst: s.Throttle.Burst}
	return o
}

// imdsListeners are the optional IPv6 metadata and ECS listeners.
type imdsListeners struct {
	srvs  []*http.Server
	lns   []net.Listener
	lines []string
}

// listen opens the optional listeners. The IPv6 one serves h (the metadata
// handler, with whatever wraps it) with the hop limit; the ECS one serves
// only container credentials.
func (x *imdsSetup) listen(metadata *imds.Server, h http.Handler, errorLog *log.Logger) (*imdsListeners, error) {
	l := &imdsListeners{}
	add := func(addr, what string, h http.Handler, connCtx func(context.Context, net.Conn) context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listener: %w", what, err)
		}
		l.lns = append(l.lns, ln)
		l.srvs = append(l.srvs, &http.Server{Handler: h, ConnContext: connCtx, ReadHeaderTimeout: 5 * time.Second, ErrorLog: errorLog})
		return nil
	}
	if a := x.s.IPv6Addr; a != "" {
		if err := add(a, "IPv6 metadata", h, metadata.ConnContext); err != nil {
			return nil, err
		}
		l.lines = append(l.lines, fmt.Sprintf("imdsemu: metadata service also on http://%s", l.lns[len(l.lns)-1].Addr()))
	}
	if a := x.s.ECSAddr; a != "" {
		h, err := metadata.ECSHandler(x.ecsToken)
		if err != nil {
			l.close()
			return nil, err
		}
		if err := add(a, "ECS", h, nil); err != nil {
			l.close()
			return nil, err
		}
		url := "http://" + l.lns[len(l.lns)-1].Addr().String() + "/v2/credentials/imdsemu"
		l.lines = append(l.lines,
			fmt.Sprintf("imdsemu: ECS container credentials on %s (token in %s)", url, filepath.Join(x.s.DataDir, instance.ECSTokenFile)),
			"export AWS_CONTAINER_CREDENTIALS_FULL_URI="+url,
			"export AWS_CONTAINER_AUTHORIZATION_TOKEN="+x.ecsToken)
	}
	return l, nil
}

func (l *imdsListeners) close() {
	for _, ln := range l.lns {
		ln.Close()
	}
}

// run serves every listener in g.
func (l *imdsListeners) run(g *errgroup.Group) {
	for i := range l.srvs {
		srv, ln := l.srvs[i], l.lns[i]
		g.Go(func() error { return serveUntilClosed(srv, ln) })
	}
}

func (l *imdsListeners) shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range l.srvs {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// print writes the listeners' lines and where the identity certificate is.
func (x *imdsSetup) print(w io.Writer, l *imdsListeners) {
	fmt.Fprintf(w, "imdsemu: identity document signed by %s (trust this certificate to verify pkcs7, rsa2048, signature)\n", filepath.Join(x.s.DataDir, instance.SigningCertFile))
	for _, line := range l.lines {
		fmt.Fprintln(w, line)
	}
}
