package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/credprovider"
)

// compareFlags are the flags of "imdsemu compare".
type compareFlags struct {
	credsFile, profile        string
	imdsEndpoint, stsEndpoint string
	async, json               bool
	duration, interval        time.Duration
}

func newCompareCmd(e env) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Run a static-key profile and an instance-role provider side by side",
		Long: `Retrieve credentials every --interval for --duration from two client-side
providers, and try each with STS GetCallerIdentity against imdsemu's STS:

  profile  static keys from a shared credentials file, like the Java SDK's
           ProfileCredentialsProvider: the same key every time; it never
           expires and keeps working even after it leaked.
  imds     instance role credentials from the metadata service, like
           InstanceProfileCredentialsProvider: refreshed before expiry
           (by the caller, or in the background with --async), so the key
           changes on rotation, expires by itself, and dies on revocation.

One line per provider per tick (a '*' marks a changed key), then a summary.
With --json, one JSON object per line: rows ("type":"row") as they come,
then one summary per provider ("type":"summary").

Example, beside "imdsemu serve --rotation-interval 20s --session-duration 1m":
  imdsemu user create demo
  imdsemu key create demo --credentials-file /tmp/creds --profile leaked
  imdsemu compare --credentials-file /tmp/creds --profile leaked --duration 2m --interval 10s
and "imdsemu revoke imdsemu-demo" while it runs. See docs/compare.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCompare(cmd.Context(), e, cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.credsFile, "credentials-file", "", "shared credentials file with the static keys (default AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)")
	fl.StringVar(&f.profile, "profile", "", "profile of the credentials file (default AWS_PROFILE, else default)")
	fl.StringVar(&f.imdsEndpoint, "imds-endpoint", "", "metadata service endpoint (default AWS_EC2_METADATA_SERVICE_ENDPOINT, which imdsemu serve prints)")
	fl.StringVar(&f.stsEndpoint, "sts-endpoint", "", "STS endpoint for the GetCallerIdentity check (default AWS_ENDPOINT_URL_STS, which imdsemu serve prints); none: no check")
	fl.BoolVar(&f.async, "async", false, "refresh the instance credentials in the background (Java's refreshCredentialsAsync) instead of on the caller")
	fl.DurationVar(&f.duration, "duration", 2*time.Minute, "how long to run")
	fl.DurationVar(&f.interval, "interval", 10*time.Second, "time between ticks")
	fl.BoolVar(&f.json, "json", false, "print JSON lines instead of a table")
	return cmd
}

func (f compareFlags) validate() error {
	switch {
	case f.interval <= 0:
		return fmt.Errorf("--interval %v: must be positive", f.interval)
	case f.duration < 0:
		return fmt.Errorf("--duration %v: must not be negative", f.duration)
	}
	return nil
}

func runCompare(ctx context.Context, e env, stdout io.Writer, f compareFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	imdsEndpoint := firstNonEmpty(f.imdsEndpoint, e.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
	if imdsEndpoint == "" {
		return errors.New("no metadata endpoint: pass --imds-endpoint or set AWS_EC2_METADATA_SERVICE_ENDPOINT (imdsemu serve prints the line to export)")
	}
	stsEndpoint := firstNonEmpty(f.stsEndpoint, e.getenv("AWS_ENDPOINT_URL_STS"))

	profile := credprovider.NewProfile(func(o *credprovider.ProfileOptions) {
		o.Filename, o.Profile, o.Getenv = f.credsFile, f.profile, e.getenv
		o.HomeDir = func() (string, error) {
			if h := e.getenv("HOME"); h != "" {
				return h, nil
			}
			return os.UserHomeDir()
		}
	})
	// A wrong file or profile is a typo to fix, not something to watch
	// fail for two minutes.
	if _, err := profile.Retrieve(ctx); err != nil {
		return err
	}
	mode := "sync"
	if f.async {
		mode = "async"
	}
	instance := credprovider.NewJavaV1(func(o *credprovider.JavaV1Options) {
		o.Endpoint, o.Getenv, o.Async = imdsEndpoint, e.getenv, f.async
		o.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: redact}))
	})
	defer instance.Close()

	opts := credprovider.CompareOptions{
		Providers: []credprovider.NamedProvider{{Name: "profile", Provider: profile}, {Name: "imds", Provider: instance}},
		Duration:  f.duration,
		Interval:  f.interval,
	}
	if stsEndpoint != "" {
		opts.Check = callerIdentity(stsEndpoint, firstNonEmpty(e.getenv("AWS_REGION"), e.getenv("AWS_DEFAULT_REGION"), "us-east-1"))
	} else {
		fmt.Fprintln(e.stderr, "imdsemu: no STS endpoint (--sts-endpoint or AWS_ENDPOINT_URL_STS): credentials are retrieved but not tried")
	}

	var (
		table = credprovider.NewTable(stdout, []string{"profile", "imds"})
		enc   = json.NewEncoder(stdout)
		werr  error // the first write error; the run goes on
	)
	if !f.json {
		check := "none"
		if opts.Check != nil {
			check = "sts:GetCallerIdentity at " + stsEndpoint
		}
		_, werr = fmt.Fprintf(stdout, `imdsemu compare: every %v for %v
  profile  static keys of profile %q in %s
  imds     instance role credentials from %s (Java v1 %s, %s refresh, %v before expiry)
  check    %s

`, f.interval, f.duration, profile.Name(), profile.Filename(), imdsEndpoint, instance.Release(), mode, credprovider.JavaV1ExpirationThreshold, check)
	}
	opts.OnRow = func(r credprovider.Row) {
		var err error
		if f.json {
			err = enc.Encode(r)
		} else {
			err = table.WriteRow(r)
		}
		if werr == nil {
			werr = err
		}
	}
	rep, err := credprovider.Compare(ctx, opts)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if f.json {
		for _, s := range rep.Summaries() {
			if err := enc.Encode(s); err != nil && werr == nil {
				werr = err
			}
		}
	} else if err := table.WriteSummary(rep); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// callerIdentity checks credentials with STS GetCallerIdentity at endpoint,
// with aws-sdk-go-v2's STS client, and returns the caller's ARN. Errors
// keep the SDK's API error, so the row records its code.
func callerIdentity(endpoint, region string) func(context.Context, aws.Credentials) (string, error) {
	client := awssts.New(awssts.Options{Region: region, BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{}})
	return func(ctx context.Context, creds aws.Credentials) (string, error) {
		out, err := client.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}, func(o *awssts.Options) {
			o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
		})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Arn), nil
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
