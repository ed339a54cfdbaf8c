package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestAddRouteInNetns routes 169.254.169.254 through a gateway on a network
// of a fresh namespace (a veth pair stands for the compose network),
// once; again is a no-op; a gateway that is not on a network is an error
// that says so; nothing is done where Check refuses.
func TestAddRouteInNetns(t *testing.T) {
	err := inNewNetns(t, func() error {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "apps0"}, PeerName: "apps1"}
		if err := netlink.LinkAdd(veth); err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("10.254.169.10/24")
		if err := netlink.AddrAdd(veth, addr); err != nil {
			return err
		}
		peer, err := netlink.LinkByName("apps1")
		if err != nil {
			return err
		}
		for _, l := range []netlink.Link{veth, peer} {
			if err := netlink.LinkSetUp(l); err != nil {
				return err
			}
		}
		via := netip.MustParseAddr("10.254.169.254")
		if added, err := AddRoute(Options{}, via); err != nil || !added {
			return fmt.Errorf("AddRoute = %v, %v; want added", added, err)
		}
		routes, err := netlink.RouteGet(net.ParseIP(IPv4))
		if err != nil || len(routes) != 1 || !routes[0].Gw.Equal(via.AsSlice()) {
			return fmt.Errorf("route to %s after AddRoute: %+v, %v; want via %s", IPv4, routes, err, via)
		}
		if added, err := AddRoute(Options{}, via); err != nil || added {
			return fmt.Errorf("AddRoute again = %v, %v; want already there", added, err)
		}
		if _, err := AddRoute(Options{}, netip.MustParseAddr("10.254.169.253")); err == nil || !strings.Contains(err.Error(), "another gateway") {
			return fmt.Errorf("AddRoute through another gateway = %v", err)
		}
		if err := netlink.RouteDel(&netlink.Route{Dst: &net.IPNet{IP: net.ParseIP(IPv4).To4(), Mask: net.CIDRMask(32, 32)}, Gw: via.AsSlice()}); err != nil {
			return fmt.Errorf("removing the route: %w", err)
		}
		if _, err := AddRoute(Options{}, netip.MustParseAddr("10.9.9.9")); err == nil || !strings.Contains(err.Error(), "not on a network of this namespace") {
			return fmt.Errorf("AddRoute via an address off every network = %v", err)
		}
		if _, err := AddRoute(Options{}, netip.MustParseAddr("fd00::1")); err == nil || !strings.Contains(err.Error(), "IPv4 gateway") {
			return fmt.Errorf("AddRoute via IPv6 = %v", err)
		}
		// Where Check refuses (the machine's namespace, as a kernel with the
		// fixed inode reports it), nothing changes.
		initial := Namespace{Net: netInitIno, PID: pidInitIno, Kernel: "6.18.2"}
		if _, err := AddRoute(Options{Namespace: &initial}, via); !errors.Is(err, ErrRefused) {
			return fmt.Errorf("AddRoute in the machine's namespace = %v, want ErrRefused", err)
		}
		if routes, err := netlink.RouteGet(net.ParseIP(IPv4)); err == nil && len(routes) > 0 && routes[0].Gw != nil {
			return fmt.Errorf("a refused AddRoute left a route: %+v", routes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
