package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
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
	h     *netlink.Handle
	link  netlink.Link
	added []*netlink.Addr

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
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	c := &Claim{h: h}
	if c.link, err = h.LinkByName(Device); err != nil {
		h.Close()
		return nil, fmt.Errorf("finding %s: %w", Device, err)
	}
	if c.link.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(c.link); err != nil {
			h.Close()
			return nil, explainAdmin(fmt.Errorf("setting %s up: %w", Device, err))
		}
	}
	for _, a := range Addresses() {
		bits := a.BitLen()
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
		if a.Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		err := h.AddrAdd(c.link, addr)
		switch {
		case err == nil:
			c.added = append(c.added, addr)
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
	if c.h == nil {
		return nil
	}
	var errs []error
	for _, a := range c.added {
		if err := c.h.AddrDel(c.link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("removing %s from %s: %w", a.IP, Device, err))
		}
	}
	c.h.Close()
	c.h, c.added = nil, nil
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
