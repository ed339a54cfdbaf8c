// Command gov2 is the aws-sdk-go-v2 probe of the provider lab: one
// ec2rolecreds.Provider inside an aws.CredentialsCache (or, with
// -provider default, the SDK's default credential chain from
// config.LoadDefaultConfig), kept for the life of the process and driven by
// the line protocol of package probes.
//
// The probe counts the credential requests the SDK's own IMDS client makes,
// so a result's source is "fetch" exactly when the SDK went to IMDS during
// that call (or during a fetch the call waited for).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/imdsemu/imdsemu/lab/probes"
)

func main() {
	provider := flag.String("provider", "ec2rolecreds", `"ec2rolecreds": ec2rolecreds.Provider in aws.CredentialsCache; "default": the default credential chain`)
	flag.Parse()
	ctx := context.Background()
	p, err := newProbe(ctx, *provider, os.Getenv("IMDSEMU_PROBE_STS_ENDPOINT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-v2 probe:", err)
		os.Exit(1)
	}
	ready := probes.Ready{SDK: "go-v2", Version: version(), Provider: *provider}
	if err := probes.Serve(ctx, os.Stdin, os.Stdout, ready, p.retrieve); err != nil {
		fmt.Fprintln(os.Stderr, "go-v2 probe:", err)
		os.Exit(1)
	}
}

// version is the SDK's core module version and those of the two modules the
// provider lives in.
func version() string {
	return fmt.Sprintf("%s (credentials %s, feature/ec2/imds %s)", aws.SDKVersion,
		probes.ModuleVersion("github.com/aws/aws-sdk-go-v2/credentials"),
		probes.ModuleVersion("github.com/aws/aws-sdk-go-v2/feature/ec2/imds"))
}

type probe struct {
	creds   aws.CredentialsProvider // the SDK's cache, held for the process's life
	sts     *sts.Client
	fetches *atomic.Int64 // credential requests the SDK's IMDS client made
}

func newProbe(ctx context.Context, provider, stsEndpoint string) (*probe, error) {
	// The configuration an application loads: region and the IMDS endpoint
	// (AWS_EC2_METADATA_SERVICE_ENDPOINT) from the environment.
	base, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	fetches := new(atomic.Int64)
	client := countingClient{imds.NewFromConfig(base), fetches}
	p := &probe{fetches: fetches}
	switch provider {
	case "ec2rolecreds":
		p.creds = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }))
	case "default":
		cfg, err := config.LoadDefaultConfig(ctx, config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = client }))
		if err != nil {
			return nil, err
		}
		p.creds = cfg.Credentials
	default:
		return nil, fmt.Errorf("unknown -provider %q: want ec2rolecreds or default", provider)
	}
	if stsEndpoint != "" {
		p.sts = sts.NewFromConfig(base, func(o *sts.Options) {
			o.BaseEndpoint = aws.String(stsEndpoint)
			o.Retryer = aws.NopRetryer{} // one attempt: the outcome of these credentials, not of retries
		})
	}
	return p, nil
}

func (p *probe) retrieve(ctx context.Context, check bool) probes.Result {
	var creds aws.Credentials
	res := probes.Observe(p.fetches, func() (probes.Credential, error) {
		var err error
		creds, err = p.creds.Retrieve(ctx)
		return probes.Credential{AccessKeyID: creds.AccessKeyID, Expires: creds.Expires, CanExpire: creds.CanExpire}, err
	})
	if check && res.Error == "" {
		res.Check, res.CheckError = p.check(ctx, creds)
	}
	return res
}

// check calls GetCallerIdentity signed with creds by the SDK's own signer.
func (p *probe) check(ctx context.Context, creds aws.Credentials) (string, string) {
	if p.sts == nil {
		return probes.CheckError, "IMDSEMU_PROBE_STS_ENDPOINT is not set"
	}
	_, err := p.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	})
	if err == nil {
		return "ok", ""
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode(), ""
	}
	return probes.CheckError, err.Error()
}

// countingClient is the SDK's IMDS client, counting the credential requests
// the provider makes through it.
type countingClient struct {
	*imds.Client
	n *atomic.Int64
}

func (c countingClient) GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	if strings.Contains(in.Path, "security-credentials") {
		c.n.Add(1)
	}
	return c.Client.GetMetadata(ctx, in, optFns...)
}
