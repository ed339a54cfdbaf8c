package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/policy"
)

// Exit statuses of the policy commands.
const (
	exitOK       = 0 // valid / allowed
	exitNegative = 1 // a document is invalid / the request is denied
	exitBadInput = 2 // the command could not answer: bad flags, unreadable file, unparsable policy
)

// exitError carries a process exit status out of a command's RunE.
//
// Contract with main (see exitCode in main.go): when Execute returns an error
// that errors.As matches to interface{ ExitCode() int }, main prints the
// error's message to stderr if it is not empty, then exits with ExitCode().
// The policy commands return:
//   - status 2 with the problem as the message (bad flags, unreadable or
//     unparsable policy, unknown kind) — main prints it;
//   - status 1 with a nil err, so an empty message, when the answer is "no"
//     (denied, or a document is invalid) — the answer is already on stdout;
//   - nil for "yes" (allowed, all valid): status 0.
type exitError struct {
	code int
	err  error // nil: already reported on stdout
}

// Error returns the message, or "" when the outcome was already reported.
func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// ExitCode returns the process exit status.
func (e *exitError) ExitCode() int { return e.code }

// badInput returns err as exit status 2.
func badInput(err error) error {
	return &exitError{code: exitBadInput, err: err}
}

// newPolicyCmd builds "imdsemu policy" with its validate and simulate
// subcommands.
func newPolicyCmd(e Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate IAM policy documents and simulate authorization decisions",
		Long: `Validate IAM policy documents and simulate authorization decisions.

Exit status: 0 valid/allowed, 1 invalid/denied, 2 bad input.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	cmd.AddCommand(newPolicyValidateCmd(), newPolicySimulateCmd(e))
	return cmd
}

type policyValidateOptions struct {
	kind string
}

func newPolicyValidateCmd() *cobra.Command {
	var opts policyValidateOptions
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy documents against the IAM policy grammar and size limits",
		Long: `Check policy documents against the IAM policy grammar and size limits.

Each FILE ("-" for standard input) is parsed as a policy of --kind. One line is
printed per file. Exit status: 0 all valid, 1 some invalid, 2 bad input
(unknown kind, unreadable file).`,
		Example: `  imdsemu policy validate role-inline.json
  imdsemu policy validate --kind trust trust.json`,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyValidate(cmd, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.kind, "kind", "managed", "policy kind: managed, boundary, inline-user, inline-group, inline-role, session, trust or resource")
	return cmd
}

func runPolicyValidate(cmd *cobra.Command, opts policyValidateOptions, files []string) error {
	if len(files) == 0 {
		return badInput(errors.New("validate needs at least one FILE"))
	}
	kind, err := policy.ParseKind(opts.kind)
	if err != nil {
		return badInput(err)
	}
	out := cmd.OutOrStdout()
	invalid := false
	var unreadable []error
	for _, f := range files {
		data, err := readPolicyFile(cmd, f)
		if err != nil {
			unreadable = append(unreadable, err)
			continue
		}
		doc, err := policy.ParseOptions(data, policy.Options{Kind: kind, Name: f})
		if err != nil {
			fmt.Fprintf(out, "%s: invalid %s: %s\n", f, kind, errorDetail(err))
			invalid = true
			continue
		}
		n := len(doc.Statements())
		fmt.Fprintf(out, "%s: valid %s (%d %s)\n", f, kind, n, plural(n, "statement"))
	}
	switch {
	case len(unreadable) > 0:
		return badInput(errors.Join(unreadable...))
	case invalid:
		return &exitError{code: exitNegative} // reported per file above
	}
	return nil
}

// errorDetail renders a policy error without the package prefix.
func errorDetail(err error) string {
	var d interface{ Detail() string }
	if errors.As(err, &d) {
		return d.Detail()
	}
	return err.Error()
}

func readPolicyFile(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

type policySimulateOptions struct {
	identity, boundary, session, resource, trust []string

	action, resourceARN, resourceAccount string
	principal, principalType             string
	equivalent                           []string
	context                              []string

	// From the catalogue and the data directory's store (simulate_store.go).
	policyARNs []string
	user, role string
	store      storeFlags
	getenv     func(string) string
}

func newPolicySimulateCmd(e Env) *cobra.Command {
	var opts policySimulateOptions
	cmd := &cobra.Command{
		Use:   "simulate --action ACTION [--resource ARN] [--principal ARN] [--policy FILE]... [flags]",
		Short: "Evaluate a request against policies and explain the decision",
		Long: `Evaluate one request against a set of policies, print the decision and why.

Policies: --policy (identity-based; repeatable), --boundary, --session-policy,
--resource-policy and --trust-policy (the role trust policy, for sts:AssumeRole*). --policy-arn ARN
adds a managed policy: an AWS managed policy of the catalogue, or a customer
managed policy of the store. --user NAME or --role NAME evaluates as that
user or role of the data directory's store (--data-dir, --account), with its
effective permissions: its inline and attached policies, its groups' (for a
user), and its permissions boundary; the principal defaults to it.

Tasks that only the account root user can perform (account:CloseAccount,
account:PutAccountName, supportplans:CreateSupportPlanSchedule, ...) are
denied to every other principal whatever the policies allow.

--context KEY=VALUE adds a request context key; repeat it, or separate values
with commas, for multi-valued keys (aws:TagKeys=a,b). KEY= sets a key with no
values. For an AWS principal, aws:PrincipalArn, aws:PrincipalAccount,
aws:PrincipalType and (for IAM users) aws:username are filled in from
--principal unless given. An assumed-role session ARN also answers to
arn:PARTITION:iam::ACCOUNT:role/NAME unless --equivalent is given (pass the
role ARN with its path if it has one).

Exit status: 0 allowed, 1 denied, 2 bad input.`,
		Example: `  imdsemu policy simulate --policy inline.json --action s3:GetObject \
      --resource arn:aws:s3:::bucket/key --principal arn:aws:iam::111122223333:user/alice \
      --context aws:SecureTransport=true`,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput(fmt.Errorf("simulate takes no arguments, got %q (use --policy FILE)", args[0]))
			}
			opts.getenv = e.Getenv
			return runPolicySimulate(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.identity, "policy", nil, "identity-based policy `FILE` (repeatable)")
	f.StringArrayVar(&opts.boundary, "boundary", nil, "permissions boundary `FILE`")
	f.StringArrayVar(&opts.session, "session-policy", nil, "session policy `FILE` (repeatable)")
	f.StringArrayVar(&opts.resource, "resource-policy", nil, "resource-based policy `FILE` (repeatable)")
	f.StringArrayVar(&opts.trust, "trust-policy", nil, "role trust policy `FILE`")
	f.StringVar(&opts.action, "action", "", "action, e.g. s3:GetObject (required)")
	f.StringVar(&opts.resourceARN, "resource", "*", "resource `ARN`")
	f.StringVar(&opts.resourceAccount, "resource-account", "", "account owning the resource (default: from the ARN, else the principal's)")
	f.StringVar(&opts.principal, "principal", "", "principal `ARN` (or service name, provider, canonical ID per --principal-type)")
	f.StringVar(&opts.principalType, "principal-type", "aws", "principal type: aws, service, federated, canonical or anonymous")
	f.StringArrayVar(&opts.equivalent, "equivalent", nil, "another `ARN` the principal answers to, e.g. the role of a session (repeatable)")
	f.StringArrayVar(&opts.context, "context", nil, "request context `KEY=VALUE[,VALUE...]` (repeatable)")
	f.StringArrayVar(&opts.policyARNs, "policy-arn", nil, "managed policy `ARN` as an identity-based policy (repeatable)")
	f.StringVar(&opts.user, "user", "", "evaluate as the IAM user `NAME` of the store, with its effective permissions")
	f.StringVar(&opts.role, "role", "", "evaluate as a session of the role `NAME` of the store, with its effective permissions")
	addStoreFlags(cmd, &opts.store)
	return cmd
}

func runPolicySimulate(cmd *cobra.Command, opts policySimulateOptions) error {
	if opts.action == "" {
		return badInput(errors.New("--action is required, e.g. --action s3:GetObject"))
	}
	var set policy.Set
	if err := storedPolicies(cmd, &opts, &set); err != nil {
		return err
	}
	p, err := simulatedPrincipal(opts)
	if err != nil {
		return badInput(err)
	}
	for _, src := range []struct {
		files []string
		kind  policy.Kind
		dst   *[]*policy.Document
	}{
		{opts.identity, policy.KindInlineRole, &set.Identity},
		{opts.boundary, policy.KindBoundary, &set.Boundary},
		{opts.session, policy.KindSession, &set.Session},
		{opts.resource, policy.KindResource, &set.Resource},
		{opts.trust, policy.KindTrust, &set.Trust},
	} {
		for _, f := range src.files {
			data, err := readPolicyFile(cmd, f)
			if err != nil {
				return badInput(err)
			}
			doc, err := policy.ParseOptions(data, policy.Options{Kind: src.kind, Name: f, MaxSize: -1})
			if err != nil {
				return badInput(fmt.Errorf("%s: invalid %s: %s", f, src.kind, errorDetail(err)))
			}
			*src.dst = append(*src.dst, doc)
		}
	}
	c, err := simulatedContext(opts.context, p)
	if err != nil {
		return badInput(err)
	}
	req := policy.Request{
		Principal:       p,
		Action:          opts.action,
		Resource:        opts.resourceARN,
		ResourceAccount: opts.resourceAccount,
		Context:         c,
	}
	d := policy.Evaluate(req, set)
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "decision: %s\n", d.Reason)
	fmt.Fprintf(out, "reason: %s\n", d.Explanation)
	if len(d.Matched) > 0 {
		fmt.Fprintln(out, "matched:")
		for _, m := range d.Matched {
			via := ""
			if m.Via != "" {
				via = " (principal: " + m.Via + ")"
			}
			fmt.Fprintf(out, "  %-5s %s%s\n", m.Effect, m, via)
		}
	}
	if !d.Allowed {
		fmt.Fprintf(out, "message: %s\n", d.Message(req))
		return &exitError{code: exitNegative} // the decision is on stdout
	}
	return nil
}

// simulatedPrincipal is the principal of the flags, built as STS builds
// the caller's.
func simulatedPrincipal(opts policySimulateOptions) (policy.Principal, error) {
	typ, err := policy.ParsePrincipalType(opts.principalType)
	if err != nil {
		return policy.Principal{}, fmt.Errorf("--principal-type %q: want aws, service, federated, canonical or anonymous", opts.principalType)
	}
	if typ == policy.PrincipalAWS && opts.principal != "" {
		p, err := policy.AWSPrincipal(opts.principal, "", opts.equivalent...)
		if err != nil {
			return p, fmt.Errorf("--principal %q is not an ARN", opts.principal)
		}
		return p, nil
	}
	if typ != policy.PrincipalAnonymous && typ != policy.PrincipalAWS && opts.principal == "" {
		return policy.Principal{}, fmt.Errorf("--principal is required for --principal-type %s", opts.principalType)
	}
	return policy.Principal{Type: typ, ARN: opts.principal, Equivalent: opts.equivalent}, nil
}

// simulatedContext parses --context flags and fills in the principal keys
// the caller did not give, as STS sets them.
func simulatedContext(flags []string, p policy.Principal) (policy.Context, error) {
	c, err := policy.ParseContext(flags)
	if err != nil {
		return c, fmt.Errorf("--%w", err)
	}
	policy.SetPrincipalKeys(&c, p)
	return c, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
