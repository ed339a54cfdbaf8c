// Command sdkprobe is the app container of the deploy tests: it asks
// aws-sdk-go-v2's unmodified default credential chain for credentials, with
// whatever environment the container has (no endpoint variable in the
// sidecar recipes), and prints one JSON line with where they came from.
// With -every it repeats until SIGTERM, like a long-running app.
//
// It refuses to run in the machine's own network namespace: there the
// default endpoint may be the real metadata service. It is built static
// (CGO_ENABLED=0) and copied into an image FROM scratch.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/imdsemu/imdsemu/internal/linklocal"
)

type result struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"access_key_id"`
	Error       string `json:"error,omitempty"`
}

func main() {
	every := flag.Duration("every", 0, "repeat at this interval until SIGTERM (0: once)")
	flag.Parse()
	n, err := linklocal.ReadNamespace("/proc")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdkprobe:", err)
		os.Exit(2)
	}
	if v, why := n.Classify(); v != linklocal.Separate {
		fmt.Fprintf(os.Stderr, "sdkprobe: refusing to run in what may be the machine's own network namespace (%s)\n", why)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	enc := json.NewEncoder(os.Stdout)
	for {
		r := probe(ctx)
		if err := enc.Encode(r); err != nil {
			os.Exit(1)
		}
		if *every == 0 {
			if r.Error != "" {
				os.Exit(1)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*every):
		}
	}
}

func probe(ctx context.Context) result {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return result{Error: err.Error()}
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return result{Error: err.Error()}
	}
	return result{Source: c.Source, AccessKeyID: c.AccessKeyID}
}
