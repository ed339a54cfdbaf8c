// Command coldstart measures imdsemu's cold start: from starting the
// process to the first credential document served, with a data directory
// an earlier run has already made (keys, store, signing certificate).
//
// Each run starts `imdsemu serve` on loopback ports, polls the credential
// GET (IMDSv1, so that a token PUT is not part of the figure) every
// 0.5 ms until it answers 200, and stops the process. It prints each run
// and the minimum, median and maximum.
//
//	go build -o /tmp/imdsemu ./cmd/imdsemu
//	go run ./bench/coldstart -bin /tmp/imdsemu -n 20
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/imdsemu/imdsemu/bench/internal/ports"
)

const credPath = "/latest/meta-data/iam/security-credentials/imdsemu-demo"

func main() {
	bin := flag.String("bin", "imdsemu", "the imdsemu binary")
	n := flag.Int("n", 10, "runs after the first (which makes the data directory)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := run(*bin, dir); err != nil { // makes the data directory
		log.Fatal(err)
	}
	var all []time.Duration
	for i := 0; i < *n; i++ {
		d, err := run(*bin, dir)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %.1f ms\n", i+1, ms(d))
		all = append(all, d)
	}
	slices.Sort(all)
	fmt.Printf("process start to first credential: min %.1f ms, median %.1f ms, max %.1f ms (%d runs)\n",
		ms(all[0]), ms(all[len(all)/2]), ms(all[len(all)-1]), len(all))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(bin, dir string) (time.Duration, error) {
	p, err := ports.Free(3)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--data-dir", dir,
		"--metadata-addr", fmt.Sprintf("127.0.0.1:%d", p[0]),
		"--admin-addr", fmt.Sprintf("127.0.0.1:%d", p[1]),
		"--sts-addr", fmt.Sprintf("127.0.0.1:%d", p[2]))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", p[0], credPath)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, fmt.Errorf("no credential within 30 s")
}
