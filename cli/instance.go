package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/admin"
)

// newInstanceCmd is `imdsemu instance`: list, add, change and remove the
// instances of a running server.
func newInstanceCmd(e Env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "instance",
		Short: "List, add, change and remove the emulated instances of a running server (each serves its own clients by source address)",
		Long: `A server can emulate several instances, each with its own instance profile,
serving the metadata clients whose source address it matches (instances: in the
config file; docs/configuration.md). These commands change them while it runs.
An instance added here has no metrics of its own and is gone at the next start;
declare it in the config file to keep it.`,
	}, &f)
	var spec admin.InstanceSpec
	var tags []string
	add := controlSubcommand(e, &f, &cobra.Command{
		Use: "add ID --profile NAME --source ADDR[/BITS]...", Short: "Add an instance serving the clients of its sources", Args: cobra.ExactArgs(1),
		Example: "  imdsemu instance add i-0000000000000000d --profile batch --source 10.89.0.12 --source fd00:89::/64",
	}, func(ctx context.Context, c *controlClient, args []string) error {
		spec.ID = args[0]
		spec.Tags = map[string]string{}
		for _, t := range tags {
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				return fmt.Errorf("--tag %q: want KEY=VALUE", t)
			}
			spec.Tags[k] = v
		}
		in, err := c.api.AddInstance(ctx, spec)
		if err != nil {
			return err
		}
		c.printf("added %s\n", describeInstance(in))
		return nil
	})
	add.Flags().StringVar(&spec.Profile, "profile", "", "the instance profile attached to it (\"\": none)")
	add.Flags().StringVar(&spec.Account, "account", "", "its account (default: the default instance's)")
	add.Flags().StringArrayVar(&spec.Sources, "source", nil, "a client source address or CIDR block it serves (repeat for several)")
	add.Flags().StringVar(&spec.Type, "type", "", "instance type (default t3.micro)")
	add.Flags().StringVar(&spec.Region, "region", "", "region (default us-east-1)")
	add.Flags().StringArrayVar(&tags, "tag", nil, "an instance tag KEY=VALUE (repeat for several)")
	add.Flags().StringVar(&spec.UserData, "user-data", "", "its user data")

	var sources []string
	set := controlSubcommand(e, &f, &cobra.Command{
		Use: "set-sources ID --source ADDR[/BITS]...", Short: "Change the source addresses an instance serves", Args: cobra.ExactArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		in, err := c.api.SetInstanceSources(ctx, args[0], sources)
		if err != nil {
			return err
		}
		c.printf("changed %s\n", describeInstance(in))
		return nil
	})
	set.Flags().StringArrayVar(&sources, "source", nil, "a client source address or CIDR block it serves (repeat for several)")

	cmd.AddCommand(
		controlSubcommand(e, &f, &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List the instances and whom each serves", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				list, err := c.api.Instances(ctx)
				if err != nil || c.json {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tACCOUNT\tROLE\tSERVES")
				for _, in := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.ID, in.Account, orNone(in.Role), serves(in))
				}
				return tw.Flush()
			}),
		add, set,
		controlSubcommand(e, &f, &cobra.Command{Use: "rm ID", Aliases: []string{"remove"}, Short: "Remove an instance; its clients get the default instance or 404", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				in, err := c.api.RemoveInstance(ctx, args[0])
				if err != nil {
					return err
				}
				c.printf("removed %s\n", in.ID)
				return nil
			}),
	)
	return cmd
}

func describeInstance(in admin.InstanceInfo) string {
	return fmt.Sprintf("%s: role %s, serves %s", in.ID, orNone(in.Role), serves(in))
}

// serves says whom an instance serves.
func serves(in admin.InstanceInfo) string {
	var parts []string
	if len(in.Sources) > 0 {
		parts = append(parts, strings.Join(in.Sources, ", "))
	}
	if in.Listen != "" {
		parts = append(parts, "listener "+in.Listen)
	}
	if in.Default {
		parts = append(parts, "unmatched clients")
	}
	if len(parts) == 0 {
		return "nobody"
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
