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
	v6, release, err := f.setUp(stdout)
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

// setUp claims the addresses (--claim-address) or checks that they are
// there; IPv6 is optional, IPv4 is not.
func (f *linkLocalFlags) setUp(stdout io.Writer) (v6 bool, release func() error, err error) {
	addrs := linklocal.Addresses()
	if f.claim {
		c, err := linklocal.ClaimAddresses(linklocal.Options{Override: f.override})
		if err != nil {
			return false, nil, err
		}
		for _, a := range c.Added {
			fmt.Fprintf(stdout, "imdsemu: added %s to %s (removed at exit)\n", a, linklocal.Device)
		}
		for _, a := range c.Present {
			fmt.Fprintf(stdout, "imdsemu: %s was already on %s (left there at exit)\n", a, linklocal.Device)
		}
		if c.IPv6Err != nil {
			fmt.Fprintf(stdout, "imdsemu: serving IPv4 only: %v\n", c.IPv6Err)
		}
		return c.IPv6Err == nil, c.Release, nil
	}
	v4, v6, err := linklocal.Present()
	if err != nil {
		return false, nil, err
	}
	if !v4 {
		return false, nil, fmt.Errorf("--link-local: %s is not on any interface of this network namespace%s. "+
			"Inside the container's or pod's network namespace (never on the machine itself), with CAP_NET_ADMIN, run:\n  %s\n  %s\n"+
			"or pass --claim-address (imdsemu then adds it, and removes it at exit), or run `imdsemu link-local add` in an init container",
			linklocal.IPv4, namespaceNote(), linklocal.AddCommand(addrs[0]), linklocal.AddCommand(addrs[1]))
	}
	if !v6 {
		fmt.Fprintf(stdout, "imdsemu: %s is not on any interface; serving IPv4 only (add it with: %s)\n", linklocal.IPv6, linklocal.AddCommand(addrs[1]))
	}
	return v6, func() error { return nil }, nil
}

// namespaceNote warns when the process runs in the machine's own network
// namespace, where the address must not be added.
func namespaceNote() string {
	n, err := linklocal.ReadNamespace("/proc")
	if err != nil {
		return ""
	}
	if v, why := n.Classify(); v != linklocal.Separate {
		return " (and this looks like the machine's own network namespace: " + why + ")"
	}
	return ""
}
