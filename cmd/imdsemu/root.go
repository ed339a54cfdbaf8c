package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/imdsemu/imdsemu/cli"
)

func newRootCmd(e cli.Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "imdsemu",
		Short: "An emulator of the EC2 instance metadata service and AWS STS",
		Long: `imdsemu plays the EC2 Instance Metadata Service (IMDSv1 and IMDSv2) and AWS STS,
so that programs written for EC2 instance roles run unchanged on a laptop, in CI
or beside a container, and so that the AWS SDKs' credential chains can be watched
and tested. Start with "imdsemu serve".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.Stdout)
	root.SetErr(e.Stderr)
	root.AddCommand(newServeCmd(e), newVersionCmd())
	root.AddCommand(cli.Commands(e)...) // package cli: every other command
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of imdsemu",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "imdsemu", version())
			return err
		},
	}
}

// version is the module version when built with `go install module@version`,
// else the VCS revision, else "devel".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
