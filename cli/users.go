package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/internal/credfile"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// The user, key, mfa and revoke commands change the store in the data
// directory directly. SQLite in WAL mode with a busy timeout lets them run
// while "imdsemu serve" uses the same file; serve sees the change on the
// next request.

// storeFlags are the flags every store command takes.
type storeFlags struct {
	dataDir string
	account string
}

func addStoreFlags(cmd *cobra.Command, f *storeFlags) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "data directory of imdsemu serve (default "+config.EnvDataDir+", $XDG_DATA_HOME/imdsemu or ~/.local/share/imdsemu)")
	cmd.Flags().StringVar(&f.account, "account", config.DefaultAccountID, "account ID")
}

// openStore opens the data directory's store, creating directory and
// database if needed, and makes sure the account exists (a fresh data
// directory has none until serve first runs).
func openStore(ctx context.Context, f storeFlags, getenv func(string) string) (*rolestore.SQLite, error) {
	dir, err := config.MakeDataDir(f.dataDir, getenv)
	if err != nil {
		return nil, err
	}
	store, err := rolestore.OpenSQLite(ctx, filepath.Join(dir, config.DBFile), StoreOptions())
	if err != nil {
		return nil, err
	}
	if _, err := store.Account(ctx, f.account); errors.Is(err, rolestore.ErrNotFound) {
		err = store.PutAccount(ctx, rolestore.Account{ID: f.account})
		if err != nil {
			store.Close()
			return nil, err
		}
	} else if err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// StoreOptions are the store's options in every command and in serve:
// policy documents written through the store's IAM methods are checked
// against the IAM policy grammar (MalformedPolicyDocument otherwise).
func StoreOptions() rolestore.Options {
	return rolestore.Options{CheckPolicy: func(doc string) error {
		_, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: policy.KindManaged, MaxSize: -1})
		if err != nil {
			return errors.New(errorDetail(err))
		}
		return nil
	}}
}

func newUserCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create and list IAM users (long-term identities for the STS API)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newUserCreateCmd(e), newUserListCmd(e))
	return cmd
}

type userCreateFlags struct {
	storeFlags
	path                   string
	policies, tags, groups []string
}

func newUserCreateCmd(e Env) *cobra.Command {
	var f userCreateFlags
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an IAM user",
		Long: `Create an IAM user in the data directory's store. --policy NAME=FILE attaches
an inline policy read from FILE (repeatable); --tag KEY=VALUE tags the user.
Give it a key with "imdsemu key create NAME".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			u := rolestore.User{AccountID: f.account, Name: args[0], Path: f.path, Groups: f.groups}
			for _, p := range f.policies {
				name, file, ok := strings.Cut(p, "=")
				if !ok || name == "" || file == "" {
					return fmt.Errorf("--policy %q: want NAME=FILE", p)
				}
				doc, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("--policy %s: %w", name, err)
				}
				if u.Policies == nil {
					u.Policies = map[string]string{}
				}
				u.Policies[name] = string(doc)
			}
			for _, t := range f.tags {
				k, v, ok := strings.Cut(t, "=")
				if !ok {
					return fmt.Errorf("--tag %q: want KEY=VALUE", t)
				}
				u.Tags = append(u.Tags, rolestore.Tag{Key: k, Value: v})
			}
			if err := u.Validate(); err != nil {
				return err
			}
			store, err := openStore(ctx, f.storeFlags, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			if _, err := store.User(ctx, u.AccountID, u.Name); err == nil {
				return fmt.Errorf("user %s already exists in account %s", u.Name, u.AccountID)
			}
			got, err := store.PutUser(ctx, u)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", got.ARN(), got.ID)
			return err
		},
	}
	addStoreFlags(cmd, &f.storeFlags)
	fl := cmd.Flags()
	fl.StringVar(&f.path, "path", "/", "IAM path, / or /a/b/")
	fl.StringArrayVar(&f.policies, "policy", nil, "inline policy as NAME=FILE (repeatable)")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag as KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.groups, "group", nil, "group name (repeatable; the user becomes a member; a missing group is created)")
	return cmd
}

func newUserListCmd(e Env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the IAM users of an account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openStore(cmd.Context(), f, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			users, err := store.Users(cmd.Context(), f.account)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tARN\tPOLICIES")
			for _, u := range users {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", u.Name, u.ID, u.ARN(), len(u.Policies))
			}
			return w.Flush()
		},
	}
	addStoreFlags(cmd, &f)
	return cmd
}

func newKeyCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Create, list, deactivate and delete long-term access keys",
		Long: `Long-term access keys (AKIA...) of IAM users, or of the account root user
with --root. Unlike role credentials they never expire: a leaked one works
until someone deactivates it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeyCreateCmd(e), newKeyListCmd(e),
		newKeyStatusCmd(e, "deactivate", rolestore.AccessKeyInactive),
		newKeyStatusCmd(e, "activate", rolestore.AccessKeyActive),
		newKeyDeleteCmd(e))
	return cmd
}

type keyCreateFlags struct {
	storeFlags
	root            bool
	profile, credsF string
}

// keyOwner is the user named by the argument, or "" with --root.
func keyOwner(args []string, root bool) (string, error) {
	switch {
	case root && len(args) > 0:
		return "", errors.New("give a user name or --root, not both")
	case root:
		return "", nil
	case len(args) == 0:
		return "", errors.New("give a user name, or --root for the account root user")
	}
	return args[0], nil
}

func newKeyCreateCmd(e Env) *cobra.Command {
	var f keyCreateFlags
	cmd := &cobra.Command{
		Use:   "create USER | --root",
		Short: "Create an access key and print it once",
		Long: `Create a long-term access key for USER (or the account root user with --root)
and print its id and secret. The secret is shown only now.

With --credentials-file the key is written there as profile --profile (default:
the user's name; the file is created with mode 0600, other profiles are kept)
instead of being printed, ready for AWS_PROFILE.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			owner, err := keyOwner(args, f.root)
			if err != nil {
				return err
			}
			store, err := openStore(ctx, f.storeFlags, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			k, err := sts.NewLongTermKey(f.account, owner, nil)
			if err != nil {
				return err
			}
			if k, err = store.PutAccessKey(ctx, k); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.credsF == "" {
				_, err = fmt.Fprintf(out, "AccessKeyId     %s\nSecretAccessKey %s\n", k.ID, k.SecretAccessKey)
				return err
			}
			profile := cmp.Or(f.profile, owner, "root")
			if err := credfile.SetProfile(f.credsF, profile, k.ID, k.SecretAccessKey); err != nil {
				return fmt.Errorf("access key %s was created, but: %w", k.ID, err)
			}
			_, err = fmt.Fprintf(out, "AccessKeyId     %s\nwrote profile [%s] to %s\n", k.ID, profile, f.credsF)
			return err
		},
	}
	addStoreFlags(cmd, &f.storeFlags)
	fl := cmd.Flags()
	fl.BoolVar(&f.root, "root", false, "create a key for the account root user")
	fl.StringVar(&f.credsF, "credentials-file", "", "write the key as a profile into this shared credentials file instead of printing the secret")
	fl.StringVar(&f.profile, "profile", "", "profile name for --credentials-file (default: the user name)")
	return cmd
}

func newKeyListCmd(e Env) *cobra.Command {
	var f storeFlags
	var root bool
	cmd := &cobra.Command{
		Use:   "list USER | --root",
		Short: "List a user's access keys (never their secrets)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			owner, err := keyOwner(args, root)
			if err != nil {
				return err
			}
			store, err := openStore(cmd.Context(), f, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			if owner != "" {
				if _, err := store.User(cmd.Context(), f.account, owner); err != nil {
					return err
				}
			}
			keys, err := store.AccessKeys(cmd.Context(), f.account, owner)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ACCESS KEY ID\tSTATUS\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(w, "%s\t%s\t%s\n", k.ID, k.Status, k.CreatedAt.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	addStoreFlags(cmd, &f)
	cmd.Flags().BoolVar(&root, "root", false, "list the account root user's keys")
	return cmd
}

func newKeyStatusCmd(e Env, verb string, status rolestore.AccessKeyStatus) *cobra.Command {
	return storeCmd(e, verb+" KEYID", fmt.Sprintf("Mark an access key %s", strings.ToLower(string(status))), 1,
		func(cmd *cobra.Command, store *rolestore.SQLite, _ string, args []string) error {
			if err := store.SetAccessKeyStatus(cmd.Context(), args[0], status); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", args[0], status)
			return err
		})
}

func newKeyDeleteCmd(e Env) *cobra.Command {
	return storeCmd(e, "delete KEYID", "Delete an access key", 1,
		func(cmd *cobra.Command, store *rolestore.SQLite, _ string, args []string) error {
			if err := store.DeleteAccessKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", args[0])
			return err
		})
}

func newMFACmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mfa",
		Short: "Create virtual MFA devices and read their current codes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMFACreateCmd(e), newMFACodeCmd(e))
	return cmd
}

func newMFACreateCmd(e Env) *cobra.Command {
	var f storeFlags
	var root bool
	var name string
	cmd := &cobra.Command{
		Use:   "create USER | --root",
		Short: "Create a virtual MFA device and print its serial and otpauth URI once",
		Long: `Create a virtual (TOTP, 6 digits, 30 s) MFA device for USER and print its
serial number, to pass as SerialNumber, and its otpauth:// URI, which holds
the seed: load it into an authenticator app, or use "imdsemu mfa code SERIAL".`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			owner, err := keyOwner(args, root)
			if err != nil {
				return err
			}
			device := cmp.Or(name, owner, "root-account-mfa-device")
			d, uri, err := sts.NewVirtualMFADevice(f.account, owner, device, nil)
			if err != nil {
				return err
			}
			store, err := openStore(cmd.Context(), f, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			if d, err = store.PutMFADevice(cmd.Context(), d); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "SerialNumber %s\nURI          %s\n", d.SerialNumber, uri)
			return err
		},
	}
	addStoreFlags(cmd, &f)
	cmd.Flags().BoolVar(&root, "root", false, "create the device for the account root user")
	cmd.Flags().StringVar(&name, "name", "", "device name (default: the user name)")
	return cmd
}

func newMFACodeCmd(e Env) *cobra.Command {
	return storeCmd(e, "code SERIAL", "Print the current 6-digit code of a virtual MFA device", 1,
		func(cmd *cobra.Command, store *rolestore.SQLite, _ string, args []string) error {
			d, err := store.MFADevice(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			code, err := sts.MFACode(d, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), code)
			return err
		})
}

func newRevokeCmd(e Env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "revoke ROLE",
		Short: "Deny every session of a role issued before now",
		Long: `Revoke the role's active sessions, as the IAM console's "Revoke active
sessions" does (the AWSRevokeOlderSessions policy): every session of ROLE
issued before now, including the instance credentials IMDS is serving, gets
AccessDenied from the STS API from the next request on. Sessions issued
later, and long-term keys, are not affected. Running it again moves the time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openStore(cmd.Context(), f, e.Getenv)
			if err != nil {
				return err
			}
			defer store.Close()
			role, err := store.Role(cmd.Context(), f.account, args[0])
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			if err := store.Revoke(cmd.Context(), role.ARN(), now); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked sessions of %s issued before %s\n", role.ARN(), now.Format(time.RFC3339))
			return err
		},
	}
	addStoreFlags(cmd, &f)
	return cmd
}

// newStoreCmds are the store commands, for root.AddCommand.
func newStoreCmds(e Env) []*cobra.Command {
	return []*cobra.Command{newUserCmd(e), newKeyCmd(e), newMFACmd(e), newRevokeCmd(e), newGroupCmd(e), newManagedPolicyCmd(e)}
}
