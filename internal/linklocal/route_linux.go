package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddRoute routes the IPv4 metadata address of the caller's network
// namespace through via, an address on one of its networks (imdsemu's, on
// a network apps share with it), after Check has passed: nothing is
// changed in a namespace Check refuses. An app in that namespace then
// reaches 169.254.169.254 at the imdsemu that holds it, with its own
// source address, which is what several instances route by. A route that
// is already there, through via, is left alone. It needs CAP_NET_ADMIN.
func AddRoute(o Options, via netip.Addr) (added bool, err error) {
	if !via.Is4() {
		return false, fmt.Errorf("the route to %s needs an IPv4 gateway address, got %s", IPv4, via)
	}
	if err := checkOptions(o); err != nil {
		return false, err
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return false, fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	dst := &net.IPNet{IP: net.ParseIP(IPv4).To4(), Mask: net.CIDRMask(32, 32)}
	err = h.RouteAdd(&netlink.Route{Dst: dst, Gw: via.AsSlice()})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EEXIST):
		routes, lerr := h.RouteGet(dst.IP)
		if lerr == nil && len(routes) > 0 && routes[0].Gw.Equal(via.AsSlice()) {
			return false, nil
		}
		return false, fmt.Errorf("a route to %s through another gateway is already there", IPv4)
	case errors.Is(err, unix.ENETUNREACH):
		return false, fmt.Errorf("adding a route to %s via %s: %w (%s is not on a network of this namespace)", IPv4, via, err, via)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return false, fmt.Errorf("adding a route to %s via %s: %w: needs CAP_NET_ADMIN in the network namespace (--cap-add NET_ADMIN); without it: ip route add %s/32 via %s", IPv4, via, err, IPv4, via)
	}
	return false, fmt.Errorf("adding a route to %s via %s: %w", IPv4, via, err)
}
