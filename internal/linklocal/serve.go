package linklocal

import (
	"fmt"
	"io"
)

// Prepare readies the link-local addresses for a server about to listen on
// them, saying on w what it did. With claim it adds them (ClaimAddresses
// with o) and release removes what it added; without, it only checks that
// they are there, and release does nothing. IPv4 is required; IPv6 is
// optional, and v6 says whether to listen on it.
func Prepare(o Options, claim bool, w io.Writer) (v6 bool, release func() error, err error) {
	addrs := Addresses()
	if claim {
		c, err := ClaimAddresses(o)
		if err != nil {
			return false, nil, err
		}
		for _, a := range c.Added {
			fmt.Fprintf(w, "imdsemu: added %s to %s (removed at exit)\n", a, Device)
		}
		for _, a := range c.Present {
			fmt.Fprintf(w, "imdsemu: %s was already on %s (left there at exit)\n", a, Device)
		}
		if c.IPv6Err != nil {
			fmt.Fprintf(w, "imdsemu: serving IPv4 only: %v\n", c.IPv6Err)
		}
		return c.IPv6Err == nil, c.Release, nil
	}
	v4, v6, err := Present()
	if err != nil {
		return false, nil, err
	}
	if !v4 {
		return false, nil, fmt.Errorf("--link-local: %s is not on any interface of this network namespace%s. "+
			"Inside the container's or pod's network namespace (never on the machine itself), with CAP_NET_ADMIN, run:\n  %s\n  %s\n"+
			"or pass --claim-address (imdsemu then adds it, and removes it at exit), or run `imdsemu link-local add` in an init container",
			IPv4, namespaceNote(o.Proc), AddCommand(addrs[0]), AddCommand(addrs[1]))
	}
	if !v6 {
		fmt.Fprintf(w, "imdsemu: %s is not on any interface; serving IPv4 only (add it with: %s)\n", IPv6, AddCommand(addrs[1]))
	}
	return v6, func() error { return nil }, nil
}

// namespaceNote warns when the process runs in the machine's own network
// namespace, where the address must not be added.
func namespaceNote(proc string) string {
	if proc == "" {
		proc = "/proc"
	}
	n, err := ReadNamespace(proc)
	if err != nil {
		return ""
	}
	if v, why := n.Classify(); v != Separate {
		return " (and this looks like the machine's own network namespace: " + why + ")"
	}
	return ""
}
