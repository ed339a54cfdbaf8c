package cli

import (
	"fmt"

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
	cmd.AddCommand(add, check)
	return cmd
}
