// Command imdsemu emulates the EC2 instance metadata service and AWS STS.
//
// Run `imdsemu serve` for an emulator with a working default role, and
// `imdsemu --help` for the rest.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/imdsemu/imdsemu/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps an error to the process status: commands that need a
// particular status (policy simulate: 1 for denied, 2 for bad input) return an
// error with an ExitCode method.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "imdsemu:", msg)
		}
		return coded.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "imdsemu:", err)
	return 1
}
