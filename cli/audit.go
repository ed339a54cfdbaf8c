package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/audit"
)

func newAuditCmd(e Env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use:   "audit",
		Short: "Run the security audit on the running server",
		Long: `Ask the running server (GET /v1/audit) for its security audit: the root user's
access keys and MFA, users without MFA, access keys older than 90 days or not
used, policies attached to users instead of groups, wildcard grants,
AdministratorAccess on users, instances whose clients still make IMDSv1
calls, and long-term keys used from instances that have a role. Each
finding has its severity and the fix, worst first. Key use is what the
server saw since it started. --json prints the API's answer.`,
		Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		rep, err := c.api.Audit(ctx)
		if err != nil || c.json {
			return err
		}
		return audit.WriteText(c.stdout, rep)
	})
}
