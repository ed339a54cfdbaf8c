package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/fault"
)

// requestTimeout bounds one control request; rotate waits up to 30 s on the
// server for the new generation.
const requestTimeout = 45 * time.Second

// controlFlags say where the control API is and how to authenticate.
type controlFlags struct {
	addr, token, dataDir string
	json                 bool
}

// controlClient is the admin API client of one command. With --json, api
// prints every answer as it came; quiet never prints, for the lookups a
// command makes before its request.
type controlClient struct {
	api, quiet *admin.Client
	stdout     io.Writer
	json       bool
}

// newControlCmds returns the commands that drive a running server.
func newControlCmds(e Env) []*cobra.Command {
	return []*cobra.Command{
		newFaultCmd(e), newScenarioCmd(e), newOptionsCmd(e),
		newRotateCmd(e), newFreezeCmd(e, true), newFreezeCmd(e, false),
		newAttachCmd(e), newDetachCmd(e), newGenerationsCmd(e), newEventsCmd(e),
		newNoticeCmd(e), newInstanceCmd(e), newAuditCmd(e),
	}
}

// addControlFlags adds the flags that find and authenticate to the server.
func addControlFlags(cmd *cobra.Command, f *controlFlags) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.addr, "admin-addr", "", "address of the server's admin listener (env "+config.EnvAdminAddr+"; default "+config.DefaultAdminAddr+")")
	pf.StringVar(&f.token, "admin-token", "", "bearer token of the control API (env "+config.EnvAdminToken+"; default: admin.token in --data-dir)")
	pf.StringVar(&f.dataDir, "data-dir", "", "the server's data directory, where admin.token is (env "+config.EnvDataDir+"; default as serve's)")
	pf.BoolVar(&f.json, "json", false, "print the API's JSON answer")
}

// controlCommand makes a top-level command whose RunE gets a client.
func controlCommand(e Env, cmd *cobra.Command, run func(ctx context.Context, c *controlClient, args []string) error) *cobra.Command {
	f := &controlFlags{}
	addControlFlags(cmd, f)
	return controlSubcommand(e, f, cmd, run)
}

// controlSubcommand sets cmd's RunE to run with a client made from f, the
// flags of cmd or of the group command holding it.
func controlSubcommand(e Env, f *controlFlags, cmd *cobra.Command, run func(ctx context.Context, c *controlClient, args []string) error) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := newControlClient(e, f, cmd.OutOrStdout())
		if err != nil {
			return err
		}
		return run(cmd.Context(), c, args)
	}
	return cmd
}

// groupCommand makes a command holding subcommands, with the control flags.
func groupCommand(cmd *cobra.Command, f *controlFlags) *cobra.Command {
	addControlFlags(cmd, f)
	return cmd
}

func newControlClient(e Env, f *controlFlags, stdout io.Writer) (*controlClient, error) {
	addr := cmp.Or(f.addr, e.Getenv(config.EnvAdminAddr), config.DefaultAdminAddr)
	token := cmp.Or(f.token, e.Getenv(config.EnvAdminToken))
	if token == "" {
		dir, err := config.DataDir(f.dataDir, e.Getenv)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, config.AdminTokenFile))
		if err != nil {
			return nil, fmt.Errorf("no admin token: pass --admin-token, set %s, or point --data-dir at the server's data directory (%v)", config.EnvAdminToken, err)
		}
		token = strings.TrimSpace(string(b))
	}
	opts := admin.ClientOptions{Timeout: requestTimeout}
	quiet, err := admin.NewClient(addr, token, opts)
	if err != nil {
		return nil, fmt.Errorf("--admin-addr %q: want host:port such as %s", addr, config.DefaultAdminAddr)
	}
	c := &controlClient{api: quiet, quiet: quiet, stdout: stdout, json: f.json}
	if f.json {
		opts.OnAnswer = func(b []byte) { stdout.Write(b) }
		c.api, _ = admin.NewClient(addr, token, opts)
	}
	return c, nil
}

// printf prints unless --json printed the answer already.
func (c *controlClient) printf(format string, args ...any) {
	if !c.json {
		fmt.Fprintf(c.stdout, format, args...)
	}
}

// Faults.

func newFaultCmd(e Env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "fault",
		Short: "Add, list and remove fault rules on a running server",
		Long: `Fault rules make the metadata service misbehave on demand: latency, a status
code, an outage, a blackhole, a reset, or a malformed, expired or expiring
credential document. See docs/faults.md.`,
	}, &f)
	cmd.AddCommand(newFaultAddCmd(e, &f), newFaultListCmd(e, &f), newFaultRmCmd(e, &f), newFaultClearCmd(e, &f))
	return cmd
}

func newFaultAddCmd(e Env, f *controlFlags) *cobra.Command {
	var (
		r           fault.Rule
		action      string
		delay, expI time.Duration
		forD        time.Duration
		probability float64
	)
	cmd := &cobra.Command{
		Use:   "add --action ACTION [flags]",
		Short: "Add a fault rule",
		Example: `  imdsemu fault add --action status --status 403 --path /latest/api/token --method PUT
  imdsemu fault add --action latency --delay 2s --for 30s
  imdsemu fault add --action refuse --for 10s
  imdsemu fault add --action expiring --expires-in 30s --times 1
  imdsemu fault add --action status --status 500 --probability 0.5 --version v1 --client 10.0.0.0/8`,
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&action, "action", "", "latency, status, refuse, blackhole, reset, malformed, expired or expiring")
	fl.StringVar(&r.Name, "name", "", "a label for the rule")
	fl.StringVar(&r.Path, "path", "", "match requests whose path starts with this")
	fl.StringVar(&r.Method, "method", "", "match this HTTP method")
	fl.StringVar(&r.Version, "version", "", "match IMDS version: v1 (no token) or v2 (token)")
	fl.StringVar(&r.Client, "client", "", "match clients in this address or CIDR prefix")
	fl.IntVar(&r.Status, "status", 0, "status code to answer (action status), 100-599")
	fl.DurationVar(&delay, "delay", 0, "how long to wait (action latency)")
	fl.StringVar(&r.Body, "body", "", "kind of broken document (action malformed): truncated, wrong-types, missing-code, not-json")
	fl.DurationVar(&expI, "expires-in", 0, "Expiration this far from now (action expiring)")
	fl.Float64Var(&probability, "probability", 0, "affect a matching request with this probability, in (0, 1]")
	fl.IntVar(&r.First, "first", 0, "only the first N matching requests")
	fl.IntVar(&r.Every, "every", 0, "only every Nth matching request")
	fl.IntVar(&r.Times, "times", 0, "end the rule after it affected N requests")
	fl.DurationVar(&forD, "for", 0, "end the rule after this long")
	run := func(ctx context.Context, c *controlClient, _ []string) error {
		r.Action = fault.Action(action)
		r.Delay, r.ExpiresIn, r.For = fault.Duration(delay), fault.Duration(expI), fault.Duration(forD)
		if fl.Changed("probability") {
			p := probability
			r.Probability = &p
		}
		st, err := c.api.AddFault(ctx, r)
		if err != nil {
			return err
		}
		if l := admin.FaultLimits(st); l != "" {
			c.printf("fault %s added: %s (%s)\n", st.ID, st.Rule, l)
		} else {
			c.printf("fault %s added: %s\n", st.ID, st.Rule)
		}
		return nil
	}
	return controlSubcommand(e, f, cmd, run)
}

func newFaultListCmd(e Env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List the active fault rules", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		faults, err := c.api.Faults(ctx)
		if err != nil || c.json {
			return err
		}
		return admin.WriteFaults(c.stdout, faults)
	})
}

func newFaultRmCmd(e Env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "rm ID...", Aliases: []string{"remove"}, Short: "Remove fault rules", Args: cobra.MinimumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		for _, id := range args {
			if err := c.api.RemoveFault(ctx, id); err != nil {
				return err
			}
			c.printf("fault %s removed\n", id)
		}
		return nil
	})
}

func newFaultClearCmd(e Env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "clear", Short: "Remove every fault rule", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		n, err := c.api.ClearFaults(ctx)
		if err != nil {
			return err
		}
		c.printf("%d fault rules removed\n", n)
		return nil
	})
}

// Scenarios.

func newScenarioCmd(e Env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "scenario",
		Short: "List, start and stop fault scenarios on a running server",
		Long:  "Scenarios are named timelines of fault rules, defined under scenarios: in the config file or with PUT /v1/scenarios/NAME.",
	}, &f)
	cmd.AddCommand(
		controlSubcommand(e, &f, &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List the scenarios", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				scenarios, err := c.api.Scenarios(ctx)
				if err != nil || c.json {
					return err
				}
				return admin.WriteScenarios(c.stdout, scenarios)
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "start NAME", Short: "Start a scenario (again from its beginning if running)", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				if _, err := c.api.StartScenario(ctx, args[0]); err != nil {
					return err
				}
				c.printf("scenario %s started\n", args[0])
				return nil
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "stop NAME", Short: "Stop a scenario and remove the rules it added", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				if _, err := c.api.StopScenario(ctx, args[0]); err != nil {
					return err
				}
				c.printf("scenario %s stopped\n", args[0])
				return nil
			}),
	)
	return cmd
}

// Options.

func newOptionsCmd(e Env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "options",
		Short: "Show or change the metadata service's options on a running server",
	}, &f)
	cmd.AddCommand(
		controlSubcommand(e, &f, &cobra.Command{Use: "get", Short: "Show the metadata options", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				o, err := c.api.Options(ctx)
				if err != nil || c.json {
					return err
				}
				return admin.WriteOptions(c.stdout, o)
			}),
		controlSubcommand(e, &f, &cobra.Command{
			Use:   "set KEY VALUE [KEY VALUE...]",
			Short: "Change metadata options",
			Long:  "Keys: " + strings.Join(admin.OptionKeys(), ", ") + ". All change at once, or none does.",
			Example: `  imdsemu options set http-tokens required
  imdsemu options set http-endpoint disabled
  imdsemu options set hop-limit 2 extended-credentials false
  imdsemu options set throttle-rps 5 throttle-burst 10`,
			Args: func(cmd *cobra.Command, args []string) error {
				_, err := admin.ParseOptionSettings(args)
				return err
			},
		}, func(ctx context.Context, c *controlClient, args []string) error {
			settings, err := admin.ParseOptionSettings(args)
			if err != nil {
				return err
			}
			var cur admin.MetadataOptions
			if settings.ChangesThrottle() {
				if cur, err = c.quiet.Options(ctx); err != nil {
					return err
				}
			}
			o, err := c.api.PatchOptions(ctx, settings.Patch(cur))
			if err != nil || c.json {
				return err
			}
			return admin.WriteOptions(c.stdout, o)
		}),
	)
	return cmd
}

// Rotation.

// profileOrInstance is the profile named in args, or the instance's.
func (c *controlClient) profileOrInstance(ctx context.Context, args []string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	a, err := c.quiet.Attachment(ctx)
	if err != nil {
		return "", err
	}
	if a.Profile == "" {
		return "", errors.New("the instance has no instance profile; name one")
	}
	return a.Profile, nil
}

func newRotateCmd(e Env) *cobra.Command {
	var noWait bool
	cmd := controlCommand(e, &cobra.Command{
		Use:   "rotate [PROFILE]",
		Short: "Mint the next credential generation now (default: the instance's profile)",
		Args:  cobra.MaximumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		profile, err := c.profileOrInstance(ctx, args)
		if err != nil {
			return err
		}
		r, err := c.api.Rotate(ctx, profile, !noWait)
		if err != nil {
			return err
		}
		if r.Status == admin.Rotated {
			c.printf("%s: generation %d, %s, expires %s\n", r.Profile, r.Seq, r.AccessKeyID, r.Expires.Format(time.RFC3339))
		} else {
			c.printf("%s: %s\n", r.Profile, r.Status)
		}
		return nil
	})
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return at once instead of waiting for the new generation")
	return cmd
}

func newFreezeCmd(e Env, frozen bool) *cobra.Command {
	use, short := "freeze [PROFILE]", "Stop rotating a profile's credentials: the current generation is served until and after it expires"
	if !frozen {
		use, short = "unfreeze [PROFILE]", "Resume rotating a profile's credentials"
	}
	return controlCommand(e, &cobra.Command{Use: use, Short: short + " (default: the instance's profile)", Args: cobra.MaximumNArgs(1)},
		func(ctx context.Context, c *controlClient, args []string) error {
			profile, err := c.profileOrInstance(ctx, args)
			if err != nil {
				return err
			}
			p, err := c.api.Freeze(ctx, profile, frozen)
			if err != nil {
				return err
			}
			state := "frozen"
			if !p.Frozen {
				state = "rotating"
			}
			c.printf("%s: %s\n", p.ARN, state)
			return nil
		})
}

// Attachment.

func newAttachCmd(e Env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use: "attach ROLE", Short: "Put ROLE in the instance's instance profile; its credentials are minted at once", Args: cobra.ExactArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		a, err := c.api.Attach(ctx, args[0])
		if err != nil {
			return err
		}
		c.printf("%s: role %s\n", a.Profile, a.Role)
		return nil
	})
}

func newDetachCmd(e Env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use: "detach", Short: "Remove the role from the instance's instance profile; IMDS serves no credentials", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		a, err := c.api.Detach(ctx)
		if err != nil {
			return err
		}
		c.printf("%s: no role\n", a.Profile)
		return nil
	})
}

// Generations.

func newGenerationsCmd(e Env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use:   "generations [PROFILE]",
		Short: "List credential generations: when issued, first served, superseded, expired, revoked, and which clients fetched them",
		Args:  cobra.MaximumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		gens, err := c.api.Generations(ctx, argOr(args, ""))
		if err != nil || c.json {
			return err
		}
		return admin.WriteGenerations(c.stdout, gens)
	})
}

func argOr(args []string, def string) string {
	if len(args) > 0 {
		return args[0]
	}
	return def
}

// Events.

func newEventsCmd(e Env) *cobra.Command {
	var types string
	cmd := controlCommand(e, &cobra.Command{
		Use:   "events",
		Short: "Stream the server's events (server-sent events) until interrupted",
		Long: `Stream what happens on the server, as server-sent events, until Ctrl-C: issued,
superseded, expired, mint_failed, served, fault_fired, options_changed.`,
		Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		var filter []string
		if types != "" {
			filter = strings.Split(types, ",")
		}
		return c.stream(ctx, filter)
	})
	cmd.Flags().StringVar(&types, "type", "", "only these event types, comma-separated")
	return cmd
}

// stream prints the events as server-sent events, after a comment line
// once the stream is open, until ctx ends or the server ends the stream.
func (c *controlClient) stream(ctx context.Context, types []string) error {
	s, err := c.api.Events(ctx, types...)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer s.Close()
	if _, err := fmt.Fprint(c.stdout, ": imdsemu events\n\n"); err != nil {
		return err
	}
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.Type == admin.EventDropped {
			return fmt.Errorf("the server ended the stream: %s", ev.Error)
		}
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c.stdout, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data); err != nil {
			return err
		}
	}
}
