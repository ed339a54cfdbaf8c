package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func runCompareCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newCompareCmd(Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"compare"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// The flags are checked before any server or probe starts.
func TestCompareCmd_Errors(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown scenario": {[]string{"--scenario", "nope"}, `no scenario "nope"; shipped: expired-document, key-leak`},
		"unknown lane":     {[]string{"--lanes", "java-v1-sync,java-v9"}, `unknown lane "java-v9"`},
		"unknown release":  {[]string{"--lanes", "java-v1-sync@1.10"}, `no modelled release "1.10" (have 1.12-2024, 1.11)`},
		"endpoint alone":   {[]string{"--endpoint", "http://127.0.0.1:1/"}, "--endpoint needs --sts-endpoint, --admin-endpoint and --data-dir"},
		"missing file":     {[]string{"--scenario", "./no/such.yaml"}, "no such file"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := runCompareCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
