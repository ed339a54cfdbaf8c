package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/lab"
)

func newDemoCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Demonstrations that run by themselves and check every step",
	}
	var o lab.DemoOptions
	rvk := &cobra.Command{
		Use:   lab.DemoRolesVsKeys,
		Short: "Why instance roles beat long-term keys: a leak, expiry, revocation and key deactivation, in about two minutes",
		Long: `Run the roles-vs-keys story end to end and narrate it: an application with a
long-term key in its profile and one with the instance role both work; the key
and a role credential leak and a thief uses them from elsewhere; the thief's
role copy dies at its expiry and, copied again, at once on revocation, while
the legitimate application recovers at the next generation; deactivating the
leaked key stops the thief but also the legitimate application until someone
edits its profile.

Every step is checked with SigV4-signed STS GetCallerIdentity calls made with
each actor's credentials; the exit status is 1, naming the step, when one did
not behave as narrated. It starts its own "imdsemu serve" on free loopback
ports in a temporary data directory, with short credential lifetimes, and
stops it at the end. Each step is also posted to the admin API's event stream
(type "demo"), so an open dashboard shows it. See docs/demo.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			o.Exe, o.Out = exe, cmd.OutOrStdout()
			o.Region = firstNonEmpty(e.Getenv("AWS_REGION"), "us-east-1")
			return lab.RunDemo(cmd.Context(), o)
		},
	}
	fl := rvk.Flags()
	fl.DurationVar(&o.Lifetime, "lifetime", 45*time.Second, "lifetime of each role credential generation")
	fl.DurationVar(&o.Rotation, "rotation-interval", 15*time.Second, "how often a new generation is minted")
	cmd.AddCommand(rvk)
	return cmd
}
