package cli

import (
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/internal/linklocal"
)

// newLinkLocalCmd is `imdsemu link-local`: claim the address for a server
// that may not (a Kubernetes init container with NET_ADMIN, say), or see
// where things stand.
func newLinkLocalCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "link-local",
		Short: "Add the link-local metadata addresses to this network namespace, or check them",
	}
	var override bool
	add := &cobra.Command{
		Use:   "add",
		Short: "Add " + linklocal.IPv4 + " and " + linklocal.IPv6 + " to " + linklocal.Device + " and leave them there",
		Long: `Add the link-local metadata addresses to the loopback interface of the network
namespace this runs in, and leave them there: for an init container with
CAP_NET_ADMIN, so that the imdsemu sidecar needs only CAP_NET_BIND_SERVICE.
Refused in the machine's own network namespace, where ` + linklocal.IPv4 + ` is the
real metadata service on a cloud machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := linklocal.ClaimAddresses(linklocal.Options{Override: override})
			if err != nil {
				return err
			}
			for _, a := range append(c.Added, c.Present...) {
				fmt.Fprintf(e.Stdout, "imdsemu: %s is on %s\n", a, linklocal.Device)
			}
			if c.IPv6Err != nil {
				fmt.Fprintf(e.Stdout, "imdsemu: IPv4 only: %v\n", c.IPv6Err)
			}
			return nil
		},
	}
	add.Flags().BoolVar(&override, linklocal.OverrideFlag[2:], false, "claim even where imdsemu cannot tell this network namespace from the machine's own")
	check := &cobra.Command{
		Use:   "check",
		Short: "Say whether this network namespace is the machine's own and whether the addresses are on it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := linklocal.ReadNamespace("/proc")
			if err != nil {
				return err
			}
			v, why := n.Classify()
			fmt.Fprintf(e.Stdout, "network namespace: %s (%s)\n", v, why)
			v4, v6, err := linklocal.Present()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s present: %v\n%s present: %v\n", linklocal.IPv4, v4, linklocal.IPv6, v6)
			return nil
		},
	}
	var (
		via  string
		hold bool
	)
	route := &cobra.Command{
		Use:   "route --via ADDRESS [--hold]",
		Short: "Route " + linklocal.IPv4 + " through imdsemu's address on a network this namespace shares with it",
		Long: `Add a route to ` + linklocal.IPv4 + ` through ADDRESS, the address of an imdsemu that
holds the link-local address (serve --link-local --claim-address) on a network
this namespace is on: its apps then reach the metadata service at the default
address, with their own source addresses, by which one imdsemu tells several
apps apart (instances:). Needs CAP_NET_ADMIN; refused in the machine's own
network namespace. With --hold it then waits until it is stopped, so that it
can hold the namespace an app container joins (docs/deploy.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gw, err := netip.ParseAddr(via)
			if err != nil {
				return fmt.Errorf("--via %q: want an IPv4 address such as 10.254.169.254", via)
			}
			added, err := linklocal.AddRoute(linklocal.Options{Override: override}, gw)
			if err != nil {
				return err
			}
			if added {
				fmt.Fprintf(e.Stdout, "imdsemu: %s is routed via %s\n", linklocal.IPv4, gw)
			} else {
				fmt.Fprintf(e.Stdout, "imdsemu: %s was already routed via %s\n", linklocal.IPv4, gw)
			}
			if hold {
				ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
				defer stop()
				<-ctx.Done()
			}
			return nil
		},
	}
	route.Flags().StringVar(&via, "via", "", "imdsemu's `ADDRESS` on the shared network (required)")
	route.Flags().BoolVar(&hold, "hold", false, "then wait until stopped (SIGTERM), holding the network namespace")
	route.Flags().BoolVar(&override, linklocal.OverrideFlag[2:], false, "route even where imdsemu cannot tell this network namespace from the machine's own")
	_ = route.MarkFlagRequired("via")
	cmd.AddCommand(add, check, route)
	return cmd
}
