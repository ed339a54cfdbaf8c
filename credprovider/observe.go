package credprovider

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Where a Retrieve's credentials came from.
const (
	SourceCache = "cache" // the cached credentials, no fetch
	SourceFetch = "fetch" // fetched during this call
	SourceStale = "stale" // cached credentials served past their expiry or after a failed refresh
)

// Outcome describes one Retrieve: where its credentials came from and
// whether the caller waited for a fetch (its own or another caller's).
type Outcome struct {
	Source  string
	Blocked bool
}

// Observed is a provider that reports each Retrieve's [Outcome]; the
// models here and the lab's lanes use it.
type Observed interface {
	aws.CredentialsProvider
	RetrieveOutcome(ctx context.Context) (aws.Credentials, Outcome, error)
}

func defaultJitter(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

// ModelOptions are the options every IMDS model shares.
type ModelOptions struct {
	// Endpoint of the metadata service, such as "http://127.0.0.1:1338/".
	// Default $AWS_EC2_METADATA_SERVICE_ENDPOINT.
	Endpoint string
	// Client sends the IMDS requests. Default NewJavaHTTPClient with the
	// release's timeouts.
	Client HTTPDoer
	// Getenv reads AWS_EC2_METADATA_SERVICE_ENDPOINT. Default os.Getenv.
	Getenv func(string) string
	// Jitter returns a random int64 in [0, n). Default math/rand/v2.
	Jitter func(n int64) int64
	// Logger receives what Java logs at WARN. Default: discard.
	Logger *slog.Logger
}

func (o *ModelOptions) defaults(connect, read time.Duration) {
	if o.Jitter == nil {
		o.Jitter = defaultJitter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = NewJavaHTTPClient(connect, read)
	}
}
