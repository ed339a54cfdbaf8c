// Command gov1 is the aws-sdk-go (v1) probe of the provider lab: one
// credentials.Credentials around an ec2rolecreds.EC2RoleProvider and its
// ec2metadata client (or, with -provider default, the session's default
// chain), kept for the life of the process and driven by the line protocol
// of package probes.
//
// The probe counts the credential requests the SDK's ec2metadata client
// sends (a Send handler, the SDK's own extension point), so a result's
// source is "fetch" exactly when the SDK went to IMDS during that call (or
// during a fetch the call waited for).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go/aws/defaults"
	"github.com/aws/aws-sdk-go/aws/ec2metadata"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sts"

	"github.com/imdsemu/imdsemu/lab/probes"
)

func main() {
	provider := flag.String("provider", "ec2rolecreds", `"ec2rolecreds": ec2rolecreds.EC2RoleProvider in credentials.Credentials; "default": the session's default chain`)
	flag.Parse()
	p, err := newProbe(*provider, os.Getenv("IMDSEMU_PROBE_STS_ENDPOINT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-v1 probe:", err)
		os.Exit(1)
	}
	ready := probes.Ready{SDK: "go-v1", Version: aws.SDKVersion, Provider: *provider}
	if err := probes.Serve(context.Background(), os.Stdin, os.Stdout, ready, p.retrieve); err != nil {
		fmt.Fprintln(os.Stderr, "go-v1 probe:", err)
		os.Exit(1)
	}
}

type probe struct {
	creds   *credentials.Credentials // the SDK's cache, held for the process's life
	sts     *sts.STS
	sess    *session.Session
	fetches *atomic.Int64 // credential requests the SDK's ec2metadata client sent
}

func newProbe(provider, stsEndpoint string) (*probe, error) {
	fetches := new(atomic.Int64)
	count := request.NamedHandler{Name: "imdsemu.probe.count", Fn: func(r *request.Request) {
		if r.ClientInfo.ServiceName == ec2metadata.ServiceName && strings.Contains(r.HTTPRequest.URL.Path, "security-credentials") {
			fetches.Add(1)
		}
	}}
	// The handlers every client of the session gets, the default chain's
	// ec2metadata client included.
	handlers := defaults.Handlers()
	handlers.Send.PushFrontNamed(count)
	// Region and the IMDS endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT) come
	// from the environment, as in an application.
	sess, err := session.NewSessionWithOptions(session.Options{Handlers: handlers})
	if err != nil {
		return nil, err
	}
	p := &probe{sess: sess, fetches: fetches}
	switch provider {
	case "ec2rolecreds":
		p.creds = credentials.NewCredentials(&ec2rolecreds.EC2RoleProvider{Client: ec2metadata.New(sess)})
	case "default":
		p.creds = sess.Config.Credentials
	default:
		return nil, fmt.Errorf("unknown -provider %q: want ec2rolecreds or default", provider)
	}
	if stsEndpoint != "" {
		p.sts = sts.New(sess, &aws.Config{Endpoint: aws.String(stsEndpoint), MaxRetries: aws.Int(0)})
	}
	return p, nil
}

func (p *probe) retrieve(ctx context.Context, check bool) probes.Result {
	var v credentials.Value
	res := probes.Observe(p.fetches, func() (probes.Credential, error) {
		var err error
		if v, err = p.creds.GetWithContext(ctx); err != nil {
			return probes.Credential{}, err
		}
		// ExpiresAt fails for providers that do not say (the default
		// chain). A concurrent refresh may have moved it on since Get.
		exp, expErr := p.creds.ExpiresAt()
		return probes.Credential{AccessKeyID: v.AccessKeyID, Expires: exp, CanExpire: expErr == nil}, nil
	})
	if check && res.Error == "" {
		res.Check, res.CheckError = p.check(ctx, v)
	}
	return res
}

// check calls GetCallerIdentity signed with v by the SDK's own signer.
func (p *probe) check(ctx context.Context, v credentials.Value) (string, string) {
	if p.sts == nil {
		return probes.CheckError, "IMDSEMU_PROBE_STS_ENDPOINT is not set"
	}
	req, _ := p.sts.GetCallerIdentityRequest(&sts.GetCallerIdentityInput{})
	req.SetContext(ctx)
	req.Config.Credentials = credentials.NewStaticCredentialsFromCreds(v)
	err := req.Send()
	if err == nil {
		return "ok", ""
	}
	var rf awserr.RequestFailure
	if errors.As(err, &rf) {
		return rf.Code(), ""
	}
	return probes.CheckError, err.Error()
}
