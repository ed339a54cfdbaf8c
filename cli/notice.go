package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
)

// newNoticeCmd is `imdsemu notice`: post, list and withdraw the instance's
// notices on a running server.
func newNoticeCmd(e Env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "notice",
		Short: "Post, list and withdraw instance notices (Spot interruption, rebalance, maintenance, Auto Scaling lifecycle)",
		Long: `Notices are what EC2 tells an instance through its metadata before it acts:
spot/instance-action and spot/termination-time, events/recommendations/rebalance,
events/maintenance/scheduled and history, autoscaling/target-lifecycle-state.
Spot notices need a Spot instance (instance.life-cycle: spot), a lifecycle state
an instance in an Auto Scaling group (instance.auto-scaling: true). See
docs/metadata.md.`,
	}, &f)
	post := func(use, short string, args cobra.PositionalArgs, example string, req func(args []string) fault.Notice, flags func(*cobra.Command)) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: args, Example: example}
		if flags != nil {
			flags(c)
		}
		return controlSubcommand(e, &f, c, func(ctx context.Context, c *controlClient, args []string) error {
			n, err := c.api.FireNotice(ctx, req(args))
			if err != nil || c.json {
				return err
			}
			return admin.WriteNotice(c.stdout, "posted", n)
		})
	}
	var action, code, description string
	var spotIn, in, window time.Duration
	cmd.AddCommand(
		post("spot-interruption", "Mark the Spot instance for interruption: spot/instance-action (and termination-time)", cobra.NoArgs,
			"  imdsemu notice spot-interruption\n  imdsemu notice spot-interruption --action stop --in 30s",
			func([]string) fault.Notice {
				return fault.Notice{Kind: imds.NoticeSpotInterruption, Action: action, In: fault.Duration(spotIn)}
			},
			func(c *cobra.Command) {
				c.Flags().StringVar(&action, "action", "terminate", "terminate, stop or hibernate")
				c.Flags().DurationVar(&spotIn, "in", 0, "time until the action (default 2m; hibernate: at once)")
			}),
		post("rebalance", "Post a rebalance recommendation: events/recommendations/rebalance", cobra.NoArgs, "  imdsemu notice rebalance",
			func([]string) fault.Notice { return fault.Notice{Kind: imds.NoticeRebalance} }, nil),
		post("maintenance", "Schedule a maintenance event: events/maintenance/scheduled, then history", cobra.NoArgs,
			"  imdsemu notice maintenance --code system-reboot --in 24h --duration 2h",
			func([]string) fault.Notice {
				return fault.Notice{Kind: imds.NoticeMaintenance, Code: code, Description: description, In: fault.Duration(in), Duration: fault.Duration(window)}
			},
			func(c *cobra.Command) {
				c.Flags().StringVar(&code, "code", "", "system-reboot, system-maintenance, instance-retirement, instance-reboot or instance-stop")
				c.Flags().StringVar(&description, "description", "", "the event's description (default: the code's usual one)")
				c.Flags().DurationVar(&in, "in", 0, "time until NotBefore (default 24h)")
				c.Flags().DurationVar(&window, "duration", 0, "NotBefore to NotAfter (default 2h)")
				_ = c.MarkFlagRequired("code")
			}),
		post("asg-lifecycle STATE", "Set autoscaling/target-lifecycle-state (InService, Warmed:Stopped, Terminated, ...)", cobra.ExactArgs(1),
			"  imdsemu notice asg-lifecycle Terminated\n  imdsemu notice asg-lifecycle Warmed:Hibernated",
			func(args []string) fault.Notice { return fault.Notice{Kind: imds.NoticeASGLifecycle, State: args[0]} }, nil),
		controlSubcommand(e, &f, &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List the notices, maintenance history included", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				notices, err := c.api.Notices(ctx)
				if err != nil || c.json {
					return err
				}
				return admin.WriteNotices(c.stdout, notices)
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "cancel ID", Short: "Withdraw a notice (its kind), or cancel a maintenance event (its instance-event-... id)", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				n, err := c.api.CancelNotice(ctx, args[0])
				if err != nil || c.json {
					return err
				}
				return admin.WriteNotice(c.stdout, "ended", n)
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "clear", Short: "Withdraw every notice, maintenance history included", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				n, err := c.api.ClearNotices(ctx)
				if err != nil {
					return err
				}
				c.printf("%d notices withdrawn\n", n)
				return nil
			}),
	)
	return cmd
}
