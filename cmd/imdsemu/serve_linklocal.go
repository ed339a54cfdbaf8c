package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/internal/linklocal"
)

// linkLocalFlags are serve's flags for the address the SDKs use by default
// (docs/deploy.md).
type linkLocalFlags struct {
	enabled, claim, override bool
}

func addLinkLocalFlags(fl *pflag.FlagSet, f *linkLocalFlags) {
	fl.BoolVar(&f.enabled, "link-local", false, "serve metadata on "+linklocal.ListenIPv4+" and "+linklocal.ListenIPv6+", where the SDKs look by default (inside a container, pod or network namespace only)")
	fl.BoolVar(&f.claim, "claim-address", false, "with --link-local: add the addresses to "+linklocal.Device+" of this network namespace, and remove them at exit (needs CAP_NET_ADMIN; refused in the machine's own network namespace)")
	fl.BoolVar(&f.override, overrideFlagName, false, "let --claim-address and link-local add claim the address where imdsemu cannot tell this network namespace from the machine's own")
}

var overrideFlagName = linklocal.OverrideFlag[2:]

// around runs serve with the link-local address set up when --link-local
// is given, then releases what it claimed, and explains a bind refused on a
// privileged port.
func (f *linkLocalFlags) around(fl *pflag.FlagSet, s *config.Settings, stdout io.Writer, serve func() error) error {
	if !f.enabled {
		if f.claim {
			return errors.New("--claim-address needs --link-local")
		}
		return linklocal.ExplainBind(serve())
	}
	for _, name := range []string{"metadata-addr", "ipv6-addr"} {
		if fl.Changed(name) {
			return fmt.Errorf("--link-local sets the metadata addresses itself (%s, %s); drop --%s", linklocal.ListenIPv4, linklocal.ListenIPv6, name)
		}
	}
	v6, release, err := linklocal.Prepare(linklocal.Options{Override: f.override}, f.claim, stdout)
	if err != nil {
		return err
	}
	s.MetadataAddr, s.IPv6Addr = linklocal.ListenIPv4, ""
	if v6 {
		s.IPv6Addr = linklocal.ListenIPv6
	}
	err = linklocal.ExplainBind(serve())
	return errors.Join(err, release())
}
