package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
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

// controlClient talks to a running `imdsemu serve`'s control API.
type controlClient struct {
	base   string // http://host:port
	token  string
	client *http.Client
	stdout io.Writer
	json   bool
}

// newControlCmds returns the commands that drive a running server.
func newControlCmds(e env) []*cobra.Command {
	return []*cobra.Command{
		newFaultCmd(e), newScenarioCmd(e), newOptionsCmd(e),
		newRotateCmd(e), newFreezeCmd(e, true), newFreezeCmd(e, false),
		newAttachCmd(e), newDetachCmd(e), newGenerationsCmd(e), newEventsCmd(e),
		newNoticeCmd(e), newInstanceCmd(e),
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
func controlCommand(e env, cmd *cobra.Command, run func(ctx context.Context, c *controlClient, args []string) error) *cobra.Command {
	f := &controlFlags{}
	addControlFlags(cmd, f)
	return controlSubcommand(e, f, cmd, run)
}

// controlSubcommand sets cmd's RunE to run with a client made from f, the
// flags of cmd or of the group command holding it.
func controlSubcommand(e env, f *controlFlags, cmd *cobra.Command, run func(ctx context.Context, c *controlClient, args []string) error) *cobra.Command {
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

func newControlClient(e env, f *controlFlags, stdout io.Writer) (*controlClient, error) {
	addr := f.addr
	if addr == "" {
		addr = e.getenv(config.EnvAdminAddr)
	}
	if addr == "" {
		addr = config.DefaultAdminAddr
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--admin-addr %q: want host:port such as %s", addr, config.DefaultAdminAddr)
	}
	token := f.token
	if token == "" {
		token = e.getenv(config.EnvAdminToken)
	}
	if token == "" {
		dir, err := config.DataDir(f.dataDir, e.getenv)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, adminTokenFile)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no admin token: pass --admin-token, set %s, or point --data-dir at the server's data directory (%v)", config.EnvAdminToken, err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &controlClient{
		base:   strings.TrimSuffix(u.String(), "/"),
		token:  token,
		client: &http.Client{},
		stdout: stdout,
		json:   f.json,
	}, nil
}

// apiError is an error answer of the control API.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

// do sends one request; out, when not nil, receives the decoded answer.
// With --json the raw answer is printed too.
func (c *controlClient) do(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("control API at %s: %w (is `imdsemu serve` running there? see --admin-addr)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &apiError{Status: resp.StatusCode, Msg: eb.Error}
	}
	if c.json && len(data) > 0 {
		c.stdout.Write(data)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// printf prints unless --json printed the answer already.
func (c *controlClient) printf(format string, args ...any) {
	if !c.json {
		fmt.Fprintf(c.stdout, format, args...)
	}
}

// Faults.

func newFaultCmd(e env) *cobra.Command {
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

func newFaultAddCmd(e env, f *controlFlags) *cobra.Command {
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
		var st fault.Status
		if err := c.do(ctx, http.MethodPost, "/v1/faults", r, &st); err != nil {
			return err
		}
		c.printf("fault %s added: %s%s\n", st.ID, st.Rule, limits(st))
		return nil
	}
	return controlSubcommand(e, f, cmd, run)
}

// limits describes how often and how long a rule applies.
func limits(st fault.Status) string {
	var parts []string
	if p := st.Probability; p != nil {
		parts = append(parts, "probability "+strconv.FormatFloat(*p, 'g', -1, 64))
	}
	if st.First > 0 {
		parts = append(parts, fmt.Sprintf("first %d", st.First))
	}
	if st.Every > 1 {
		parts = append(parts, fmt.Sprintf("every %d", st.Every))
	}
	if st.Times > 0 {
		parts = append(parts, fmt.Sprintf("times %d", st.Times))
	}
	if st.Ends != nil {
		parts = append(parts, "until "+st.Ends.Local().Format(time.TimeOnly))
	}
	if st.Scenario != "" {
		parts = append(parts, "scenario "+st.Scenario)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func newFaultListCmd(e env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List the active fault rules", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		var list struct{ Faults []fault.Status }
		if err := c.do(ctx, http.MethodGet, "/v1/faults", nil, &list); err != nil {
			return err
		}
		if c.json {
			return nil
		}
		if len(list.Faults) == 0 {
			fmt.Fprintln(c.stdout, "no active fault rules")
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRULE\tLIMITS\tMATCHED\tFIRED")
		for _, st := range list.Faults {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", st.ID, st.Rule, strings.Trim(limits(st), " ()"), st.Matched, st.Fired)
		}
		return tw.Flush()
	})
}

func newFaultRmCmd(e env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "rm ID...", Aliases: []string{"remove"}, Short: "Remove fault rules", Args: cobra.MinimumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		for _, id := range args {
			if err := c.do(ctx, http.MethodDelete, "/v1/faults/"+url.PathEscape(id), nil, nil); err != nil {
				return err
			}
			c.printf("fault %s removed\n", id)
		}
		return nil
	})
}

func newFaultClearCmd(e env, f *controlFlags) *cobra.Command {
	return controlSubcommand(e, f, &cobra.Command{
		Use: "clear", Short: "Remove every fault rule", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		var out struct{ Removed int }
		if err := c.do(ctx, http.MethodDelete, "/v1/faults", nil, &out); err != nil {
			return err
		}
		c.printf("%d fault rules removed\n", out.Removed)
		return nil
	})
}

// Scenarios.

func newScenarioCmd(e env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "scenario",
		Short: "List, start and stop fault scenarios on a running server",
		Long:  "Scenarios are named timelines of fault rules, defined under scenarios: in the config file or with PUT /v1/scenarios/NAME.",
	}, &f)
	cmd.AddCommand(
		controlSubcommand(e, &f, &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List the scenarios", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				var list struct{ Scenarios []fault.ScenarioStatus }
				if err := c.do(ctx, http.MethodGet, "/v1/scenarios", nil, &list); err != nil {
					return err
				}
				if c.json {
					return nil
				}
				if len(list.Scenarios) == 0 {
					fmt.Fprintln(c.stdout, "no scenarios defined")
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTEPS\tRUNNING\tSTEPS DONE")
				for _, s := range list.Scenarios {
					fmt.Fprintf(tw, "%s\t%d\t%v\t%d\n", s.Name, len(s.Steps), s.Running, s.StepsDone)
				}
				return tw.Flush()
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "start NAME", Short: "Start a scenario (again from its beginning if running)", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				if err := c.do(ctx, http.MethodPost, "/v1/scenarios/"+url.PathEscape(args[0])+"/start", nil, nil); err != nil {
					return err
				}
				c.printf("scenario %s started\n", args[0])
				return nil
			}),
		controlSubcommand(e, &f, &cobra.Command{Use: "stop NAME", Short: "Stop a scenario and remove the rules it added", Args: cobra.ExactArgs(1)},
			func(ctx context.Context, c *controlClient, args []string) error {
				if err := c.do(ctx, http.MethodPost, "/v1/scenarios/"+url.PathEscape(args[0])+"/stop", nil, nil); err != nil {
					return err
				}
				c.printf("scenario %s stopped\n", args[0])
				return nil
			}),
	)
	return cmd
}

// Options.

// optionKeys are the keys `options set` takes.
var optionKeys = []string{"http-tokens", "http-endpoint", "hop-limit", "extended-credentials", "instance-metadata-tags", "throttle-rps", "throttle-burst"}

func newOptionsCmd(e env) *cobra.Command {
	var f controlFlags
	cmd := groupCommand(&cobra.Command{
		Use:   "options",
		Short: "Show or change the metadata service's options on a running server",
	}, &f)
	cmd.AddCommand(
		controlSubcommand(e, &f, &cobra.Command{Use: "get", Short: "Show the metadata options", Args: cobra.NoArgs},
			func(ctx context.Context, c *controlClient, _ []string) error {
				var o admin.MetadataOptions
				if err := c.do(ctx, http.MethodGet, "/v1/options", nil, &o); err != nil {
					return err
				}
				c.printOptions(o)
				return nil
			}),
		controlSubcommand(e, &f, &cobra.Command{
			Use:   "set KEY VALUE [KEY VALUE...]",
			Short: "Change metadata options",
			Long:  "Keys: " + strings.Join(optionKeys, ", ") + ". All change at once, or none does.",
			Example: `  imdsemu options set http-tokens required
  imdsemu options set http-endpoint disabled
  imdsemu options set hop-limit 2 extended-credentials false
  imdsemu options set throttle-rps 5 throttle-burst 10`,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 || len(args)%2 != 0 {
					return errors.New("want KEY VALUE pairs, e.g. http-tokens required")
				}
				return nil
			},
		}, func(ctx context.Context, c *controlClient, args []string) error {
			p, err := c.optionsPatch(ctx, args)
			if err != nil {
				return err
			}
			var o admin.MetadataOptions
			if err := c.do(ctx, http.MethodPatch, "/v1/options", p, &o); err != nil {
				return err
			}
			c.printOptions(o)
			return nil
		}),
	)
	return cmd
}

func (c *controlClient) printOptions(o admin.MetadataOptions) {
	throttle := "off"
	if o.Throttle.RPS > 0 {
		throttle = fmt.Sprintf("%s/s, burst %d", strconv.FormatFloat(o.Throttle.RPS, 'g', -1, 64), o.Throttle.Burst)
	}
	c.printf("http-tokens:            %s\nhttp-endpoint:          %s\nhop-limit:              %d\nextended-credentials:   %v\ninstance-metadata-tags: %v\nthrottle:               %s\n",
		o.HTTPTokens, o.HTTPEndpoint, o.HopLimit, o.ExtendedCredentials, o.InstanceMetadataTags, throttle)
}

// optionsPatch turns KEY VALUE pairs into a patch. The throttle keys start
// from the server's current throttle.
func (c *controlClient) optionsPatch(ctx context.Context, args []string) (admin.MetadataPatch, error) {
	var p admin.MetadataPatch
	boolean := func(k, v string) (*bool, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: want true or false, got %q", k, v)
		}
		return &b, nil
	}
	var rps *float64
	var burst *int
	for i := 0; i < len(args); i += 2 {
		k, v := args[i], args[i+1]
		var err error
		switch k {
		case "http-tokens":
			p.HTTPTokens = &v
		case "http-endpoint":
			p.HTTPEndpoint = &v
		case "hop-limit":
			n, perr := strconv.Atoi(v)
			if perr != nil {
				return p, fmt.Errorf("hop-limit: want a number from 1 to 64, got %q", v)
			}
			p.HopLimit = &n
		case "extended-credentials":
			p.ExtendedCredentials, err = boolean(k, v)
		case "instance-metadata-tags":
			p.InstanceMetadataTags, err = boolean(k, v)
		case "throttle-rps":
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil || math.IsNaN(f) {
				return p, fmt.Errorf("throttle-rps: want a number of requests a second (0 for off), got %q", v)
			}
			rps = &f
		case "throttle-burst":
			n, perr := strconv.Atoi(v)
			if perr != nil {
				return p, fmt.Errorf("throttle-burst: want a whole number, got %q", v)
			}
			burst = &n
		default:
			return p, fmt.Errorf("unknown option %q: want one of %s", k, strings.Join(optionKeys, ", "))
		}
		if err != nil {
			return p, err
		}
	}
	if rps != nil || burst != nil {
		var cur admin.MetadataOptions
		quiet := *c
		quiet.json = false
		if err := quiet.do(ctx, http.MethodGet, "/v1/options", nil, &cur); err != nil {
			return p, err
		}
		t := cur.Throttle
		if rps != nil {
			t.RPS = *rps
			if burst == nil && t.Burst == 0 && t.RPS > 0 {
				t.Burst = int(math.Ceil(t.RPS))
			}
		}
		if burst != nil {
			t.Burst = *burst
		}
		if t.RPS == 0 {
			t.Burst = 0
		}
		p.Throttle = &t
	}
	return p, nil
}

// Rotation.

// profilePath is the API path of a profile given by name or ARN, or of
// the instance's profile when arg is empty.
func (c *controlClient) profilePath(ctx context.Context, arg string) (string, error) {
	if arg == "" {
		var a admin.Attachment
		quiet := *c
		quiet.json = false
		if err := quiet.do(ctx, http.MethodGet, "/v1/attachment", nil, &a); err != nil {
			return "", err
		}
		if a.Profile == "" {
			return "", errors.New("the instance has no instance profile; name one")
		}
		arg = a.Profile
	}
	return "/v1/profiles/" + url.PathEscape(arg), nil
}

func newRotateCmd(e env) *cobra.Command {
	var noWait bool
	cmd := controlCommand(e, &cobra.Command{
		Use:   "rotate [PROFILE]",
		Short: "Mint the next credential generation now (default: the instance's profile)",
		Args:  cobra.MaximumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		path, err := c.profilePath(ctx, argOr(args, ""))
		if err != nil {
			return err
		}
		q := "?wait=true"
		if noWait {
			q = ""
		}
		var out struct {
			Profile, Status string
			Seq             uint64
			AccessKeyID     string     `json:"access_key_id"`
			Expires         *time.Time `json:"expires"`
		}
		if err := c.do(ctx, http.MethodPost, path+"/rotate"+q, nil, &out); err != nil {
			return err
		}
		if out.Seq > 0 {
			c.printf("%s: generation %d, %s, expires %s\n", out.Profile, out.Seq, out.AccessKeyID, out.Expires.Format(time.RFC3339))
		} else {
			c.printf("%s: %s\n", out.Profile, out.Status)
		}
		return nil
	})
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return at once instead of waiting for the new generation")
	return cmd
}

func newFreezeCmd(e env, frozen bool) *cobra.Command {
	use, short, method := "freeze [PROFILE]", "Stop rotating a profile's credentials: the current generation is served until and after it expires", http.MethodPut
	if !frozen {
		use, short, method = "unfreeze [PROFILE]", "Resume rotating a profile's credentials", http.MethodDelete
	}
	return controlCommand(e, &cobra.Command{Use: use, Short: short + " (default: the instance's profile)", Args: cobra.MaximumNArgs(1)},
		func(ctx context.Context, c *controlClient, args []string) error {
			path, err := c.profilePath(ctx, argOr(args, ""))
			if err != nil {
				return err
			}
			var p admin.Profile
			if err := c.do(ctx, method, path+"/freeze", nil, &p); err != nil {
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

func argOr(args []string, def string) string {
	if len(args) > 0 {
		return args[0]
	}
	return def
}

// Attachment.

func newAttachCmd(e env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use: "attach ROLE", Short: "Put ROLE in the instance's instance profile; its credentials are minted at once", Args: cobra.ExactArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		var a admin.Attachment
		if err := c.do(ctx, http.MethodPut, "/v1/attachment", map[string]string{"role": args[0]}, &a); err != nil {
			return err
		}
		c.printf("%s: role %s\n", a.Profile, a.Role)
		return nil
	})
}

func newDetachCmd(e env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use: "detach", Short: "Remove the role from the instance's instance profile; IMDS serves no credentials", Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		var a admin.Attachment
		if err := c.do(ctx, http.MethodDelete, "/v1/attachment", nil, &a); err != nil {
			return err
		}
		c.printf("%s: no role\n", a.Profile)
		return nil
	})
}

// Generations.

func newGenerationsCmd(e env) *cobra.Command {
	return controlCommand(e, &cobra.Command{
		Use:   "generations [PROFILE]",
		Short: "List credential generations: when issued, first served, superseded, expired, revoked, and which clients fetched them",
		Args:  cobra.MaximumNArgs(1),
	}, func(ctx context.Context, c *controlClient, args []string) error {
		path := "/v1/generations"
		if len(args) == 1 {
			path = "/v1/profiles/" + url.PathEscape(args[0]) + "/generations"
		}
		var out struct{ Generations []admin.GenerationInfo }
		if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
			return err
		}
		if c.json {
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROFILE\tSEQ\tACCESS KEY ID\tSTATUS\tISSUED\tEXPIRES\tSERVED\tCLIENTS")
		for _, g := range out.Generations {
			exp := "-"
			if g.Expires != nil {
				exp = g.Expires.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n", shortProfile(g.Profile), g.Seq, g.AccessKeyID, g.Status,
				g.Issued.Local().Format(time.DateTime), exp, g.Served, clientList(g))
		}
		return tw.Flush()
	})
}

func shortProfile(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// clientList renders "10.0.0.1 (v1 2, v2 5), …".
func clientList(g admin.GenerationInfo) string {
	if len(g.Clients) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(g.Clients))
	for _, cl := range g.Clients {
		vs := make([]string, 0, len(cl.Versions))
		for v, n := range cl.Versions {
			vs = append(vs, fmt.Sprintf("%s %d", v, n))
		}
		sort.Strings(vs)
		parts = append(parts, cl.Address+" ("+strings.Join(vs, ", ")+")")
	}
	s := strings.Join(parts, ", ")
	if g.ClientsOmitted > 0 {
		s += fmt.Sprintf(" and %d more", g.ClientsOmitted)
	}
	return s
}

// Events.

func newEventsCmd(e env) *cobra.Command {
	var types string
	cmd := controlCommand(e, &cobra.Command{
		Use:   "events",
		Short: "Stream the server's events (server-sent events) until interrupted",
		Long: `Stream what happens on the server, as server-sent events, until Ctrl-C: issued,
superseded, expired, mint_failed, served, fault_fired, options_changed.`,
		Args: cobra.NoArgs,
	}, func(ctx context.Context, c *controlClient, _ []string) error {
		return c.stream(ctx, types)
	})
	cmd.Flags().StringVar(&types, "type", "", "only these event types, comma-separated")
	return cmd
}

// stream copies the event stream to stdout, line by line, until ctx ends
// or the server closes it.
func (c *controlClient) stream(ctx context.Context, types string) error {
	path := "/v1/events"
	if types != "" {
		path += "?type=" + url.QueryEscape(types)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("control API at %s: %w (is `imdsemu serve` running there? see --admin-addr)", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error string `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &eb) != nil {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &apiError{Status: resp.StatusCode, Msg: eb.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if _, err := fmt.Fprintln(c.stdout, sc.Text()); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
