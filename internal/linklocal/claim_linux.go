package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Options are ClaimAddresses' options.
type Options struct {
	// Override claims even where Check refuses (OverrideFlag).
	Override bool
	// Proc is where /proc is; "" is "/proc".
	Proc string
	// Namespace, when set, is used instead of reading Proc (tests).
	Namespace *Namespace
}

// Claim is what ClaimAddresses did; Release undoes it.
type Claim struct {
	nl    *rtnl
	index int          // of Device
	added []netip.Addr // still to remove

	// Added are the addresses this claim put on Device; Release removes
	// them. Present were there already and are left alone.
	Added, Present []netip.Addr
	// IPv6Err says why fd00:ec2::254 could not be added (IPv6 disabled in
	// the namespace, say); the IPv4 address is claimed regardless.
	IPv6Err error
}

// ClaimAddresses adds the link-local metadata addresses to the loopback
// interface of the caller's network namespace (setting it up if it is
// down), after Check has passed: nothing is changed in a namespace Check
// refuses. It needs CAP_NET_ADMIN in that namespace.
func ClaimAddresses(o Options) (*Claim, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	link, err := net.InterfaceByName(Device)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", Device, err)
	}
	nl, err := openRtnl()
	if err != nil {
		return nil, err
	}
	c := &Claim{nl: nl, index: link.Index}
	if link.Flags&net.FlagUp == 0 {
		if err := nl.setUp(link.Index); err != nil {
			nl.Close()
			return nil, explainAdmin(fmt.Errorf("setting %s up: %w", Device, err))
		}
	}
	for _, a := range Addresses() {
		var flags uint8
		if a.Is6() {
			flags = unix.IFA_F_NODAD
		}
		err := nl.addAddr(link.Index, a, flags)
		switch {
		case err == nil:
			c.added = append(c.added, a)
			c.Added = append(c.Added, a)
		case errors.Is(err, unix.EEXIST):
			c.Present = append(c.Present, a)
		case a.Is6() && !errors.Is(err, unix.EPERM):
			c.IPv6Err = fmt.Errorf("adding %s to %s: %w", a, Device, err)
		default:
			rerr := c.Release()
			return nil, errors.Join(explainAdmin(fmt.Errorf("adding %s to %s: %w", a, Device, err)), rerr)
		}
	}
	return c, nil
}

// Release removes the addresses the claim added. It is safe to call more
// than once.
func (c *Claim) Release() error {
	if c.nl == nil {
		return nil
	}
	var errs []error
	for _, a := range c.added {
		if err := c.nl.delAddr(c.index, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("removing %s from %s: %w", a, Device, err))
		}
	}
	c.nl.Close()
	c.nl, c.added = nil, nil
	return errors.Join(errs...)
}

// checkOptions is Check on the namespace o names (or the caller's): an
// error refuses any change there.
func checkOptions(o Options) error {
	n, err := namespaceOf(o)
	if err != nil {
		if !o.Override {
			return fmt.Errorf("%w: cannot tell which network namespace this is: %v", ErrRefused, err)
		}
		return nil
	}
	return Check(n, o.Override)
}

func namespaceOf(o Options) (Namespace, error) {
	if o.Namespace != nil {
		return *o.Namespace, nil
	}
	proc := o.Proc
	if proc == "" {
		proc = "/proc"
	}
	return ReadNamespace(proc)
}

// explainAdmin adds the missing capability to a permission error.
func explainAdmin(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: adding an address needs CAP_NET_ADMIN in the network namespace "+
			"(podman/docker: --cap-add NET_ADMIN, or a Kubernetes init container with it); without it, add the addresses beforehand: %s; %s",
			err, AddCommand(Addresses()[0]), AddCommand(Addresses()[1]))
	}
	return err
}
