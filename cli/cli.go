package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// Env is what the commands take from the process, injected so tests can run
// them in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Commands returns every command of the package, for the root command.
func Commands(e Env) []*cobra.Command {
	cmds := []*cobra.Command{newPolicyCmd(e)}
	cmds = append(cmds, newControlCmds(e)...) // control.go: fault, scenario, options, rotate, …
	cmds = append(cmds, newIdPCmd(e))
	cmds = append(cmds, newStoreCmds(e)...) // users.go: user, key, mfa, revoke
	cmds = append(cmds,
		newCompareCmd(e),   // compare.go: profile vs instance role, side by side
		newDemoCmd(e),      // demo.go: roles vs keys, narrated and checked
		newLinkLocalCmd(e), // linklocal.go: the link-local address
	)
	return cmds
}
