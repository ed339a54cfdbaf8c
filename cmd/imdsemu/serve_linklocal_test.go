package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/cli"
	"github.com/spf13/cobra"
)

// The flag mistakes serve refuses before it touches anything: these fail
// before the server starts, so they run anywhere.
func TestServeLinkLocal_FlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--claim-address"}, "--claim-address needs --link-local"},
		{[]string{"--link-local", "--metadata-addr", "127.0.0.1:0"}, "drop --metadata-addr"},
		{[]string{"--link-local", "--ipv6-addr", "[::1]:0"}, "drop --ipv6-addr"},
	} {
		var out, errOut bytes.Buffer
		root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
		root.AddCommand(newServeCmd(cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}))
		root.SetArgs(append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v = %v; want an error saying %q", tc.args, err, tc.want)
		}
		if out.Len() > 0 {
			t.Errorf("serve %v printed %q before failing", tc.args, out.String())
		}
	}
}
