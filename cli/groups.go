package cli

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/rolestore"
)

// The group and managed-policy commands change the store in the data
// directory, as the user and key commands do; serve sees each change on the
// next request. The IAM Query API (aws iam ...) is the fuller client.

// storeRun is a store command's body: it gets the open store.
type storeRun func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error

// storeCmd builds a subcommand that opens the store and runs fn.
func storeCmd(e Env, use, short string, nargs int, fn storeRun) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(cmd.Context(), f, e.Getenv)
			if err != nil {
				return err
			}
			defer s.Close()
			return fn(cmd, s, f.account, args)
		},
	}
	addStoreFlags(cmd, &f)
	return cmd
}

func newGroupCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Create IAM groups, manage their members and attached managed policies",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(
		storeCmd(e, "create NAME", "Create a group", 1, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
			g, err := s.CreateGroup(cmd.Context(), rolestore.Group{AccountID: account, Name: args[0]})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", g.ARN(), g.ID)
			return err
		}),
		storeCmd(e, "list", "List the groups of an account", 0, func(cmd *cobra.Command, s *rolestore.SQLite, account string, _ []string) error {
			groups, err := s.Groups(cmd.Context(), account)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tMEMBERS\tINLINE\tATTACHED")
			for _, g := range groups {
				members, err := s.GroupUsers(cmd.Context(), account, g.Name)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\n", g.Name, g.ID, len(members), len(g.Policies), len(g.ManagedPolicies))
			}
			return w.Flush()
		}),
		storeCmd(e, "add-user GROUP USER", "Make a user a member of a group (a user is in at most 10)", 2, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
			return s.AddUserToGroup(cmd.Context(), account, args[0], args[1])
		}),
		storeCmd(e, "remove-user GROUP USER", "Remove a user from a group", 2, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
			return s.RemoveUserFromGroup(cmd.Context(), account, args[0], args[1])
		}),
		storeCmd(e, "delete NAME", "Delete a group with no members and no policies", 1, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
			return s.DeleteGroup(cmd.Context(), account, args[0])
		}),
	)
	return cmd
}

// attachTarget is the --user, --group or --role of an attach command.
type attachTarget struct{ user, group, role string }

func (t *attachTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.user, "user", "", "the IAM user `NAME`")
	cmd.Flags().StringVar(&t.group, "group", "", "the group `NAME`")
	cmd.Flags().StringVar(&t.role, "role", "", "the role `NAME`")
}

// do attaches (or detaches) arn to the one target given.
func (t *attachTarget) do(cmd *cobra.Command, s *rolestore.SQLite, account, arn string, attach bool) error {
	ctx := cmd.Context()
	switch {
	case t.user != "" && t.group == "" && t.role == "":
		if attach {
			return s.AttachUserPolicy(ctx, account, t.user, arn)
		}
		return s.DetachUserPolicy(ctx, account, t.user, arn)
	case t.group != "" && t.user == "" && t.role == "":
		if attach {
			return s.AttachGroupPolicy(ctx, account, t.group, arn)
		}
		return s.DetachGroupPolicy(ctx, account, t.group, arn)
	case t.role != "" && t.user == "" && t.group == "":
		if attach {
			return s.AttachRolePolicy(ctx, account, t.role, arn)
		}
		return s.DetachRolePolicy(ctx, account, t.role, arn)
	}
	return errors.New("give exactly one of --user, --group or --role")
}

func newManagedPolicyCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "managed-policy",
		Short: "Create customer managed policies and attach managed policies to users, groups and roles",
		Long: `Customer managed policies of the data directory's store, and attachments of
managed policies (customer managed, or AWS managed ones of imdsemu's catalogue,
arn:aws:iam::aws:policy/...) to users, groups and roles.`,
		Args: cobra.NoArgs,
	}
	var path, description string
	create := storeCmd(e, "create NAME FILE", "Create a customer managed policy from a JSON document", 2, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
		doc, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		p, err := s.CreatePolicy(cmd.Context(), rolestore.ManagedPolicy{AccountID: account, Name: args[0], Path: path,
			Description: description, Document: string(doc)})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", p.ARN(), p.ID, p.DefaultVersionID)
		return err
	})
	create.Flags().StringVar(&path, "path", "/", "IAM path, / or /a/b/")
	create.Flags().StringVar(&description, "description", "", "description")
	list := storeCmd(e, "list", "List the customer managed policies of an account and the AWS managed catalogue", 0, func(cmd *cobra.Command, s *rolestore.SQLite, account string, _ []string) error {
		custom, err := s.Policies(cmd.Context(), account)
		if err != nil {
			return err
		}
		aws, err := s.AWSPolicies(cmd.Context())
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ARN\tVERSION\tATTACHMENTS")
		for _, p := range append(custom, aws...) {
			fmt.Fprintf(w, "%s\t%s\t%d\n", p.ARN(), p.DefaultVersionID, p.AttachmentCount)
		}
		return w.Flush()
	})
	var attachTo, detachFrom attachTarget
	attach := storeCmd(e, "attach ARN", "Attach a managed policy to one user, group or role (at most 10 each)", 1, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
		return attachTo.do(cmd, s, account, args[0], true)
	})
	attachTo.flags(attach)
	detach := storeCmd(e, "detach ARN", "Detach a managed policy from a user, group or role", 1, func(cmd *cobra.Command, s *rolestore.SQLite, account string, args []string) error {
		return detachFrom.do(cmd, s, account, args[0], false)
	})
	detachFrom.flags(detach)
	cmd.AddCommand(create, list, attach, detach)
	return cmd
}
