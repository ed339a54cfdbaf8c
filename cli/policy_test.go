package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runPolicy executes "imdsemu policy ARGS..." in-process and returns its
// output and exit status (-1 for an error without an exit status).
func runPolicy(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newPolicyCmd(Env{Getenv: func(string) string { return "" }}))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"policy"}, args...))
	err := root.Execute()
	code = 0
	if err != nil {
		var coded interface{ ExitCode() int }
		if !errors.As(err, &coded) {
			t.Fatalf("policy %v: error without exit status: %v", args, err)
		}
		code = coded.ExitCode()
		if code == exitBadInput && err.Error() == "" {
			t.Errorf("policy %v: status 2 without a message", args)
		}
		if code == exitNegative && err.Error() != "" {
			t.Errorf("policy %v: status 1 with message %q; the answer belongs on stdout", args, err)
		}
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPolicyCmd(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"s3read.json": `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}]}`,
		"deny.json":   `{"Version":"2012-10-17","Statement":{"Sid":"DenyInsecure","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`,
		"bad.json":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"S3","Effect":"allow","Action":"s3:*","Resource":"*"}]}`,
		"tags.json":   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}}`,
		"bucket.json": `{"Version":"2012-10-17","Statement":{"Sid":"RoleRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}}`,
		"trust.json":  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
		"bound.json":  `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`,
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	const alice = "arn:aws:iam::111122223333:user/alice"
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string // substrings
		stderr string
	}{
		{"validate valid", "", []string{"validate", p("s3read.json"), p("deny.json")}, exitOK,
			[]string{"s3read.json: valid managed policy (1 statement)", "deny.json: valid managed policy"}, ""},
		{"validate invalid", "", []string{"validate", p("s3read.json"), p("bad.json")}, exitNegative,
			[]string{`bad.json: invalid managed policy: Statement[1] (Sid "S3"): Effect must be "Allow" or "Deny", got "allow"`}, ""},
		{"validate trust kind", "", []string{"validate", "--kind", "trust", p("trust.json")}, exitOK, []string{"valid role trust policy"}, ""},
		{"validate identity as trust", "", []string{"validate", "--kind", "trust", p("s3read.json")}, exitNegative, []string{"must have a Principal"}, ""},
		{"validate stdin", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, []string{"validate", "-"}, exitOK, []string{"-: valid"}, ""},
		{"validate missing file", "", []string{"validate", p("nope.json")}, exitBadInput, nil, "nope.json"},
		{"validate unknown kind", "", []string{"validate", "--kind", "identity", p("s3read.json")}, exitBadInput, nil, `unknown kind "identity"`},
		{"validate no files", "", []string{"validate"}, exitBadInput, nil, "at least one FILE"},

		{"simulate allowed", "", []string{"simulate", "--policy", p("s3read.json"), "--action", "s3:GetObject",
			"--resource", "arn:aws:s3:::bucket/alice/a.txt", "--principal", alice}, exitOK,
			[]string{"decision: allowed", `reason: allowed by identity-based policy "` + p("s3read.json") + `" statement "Read"`, `Allow identity-based policy`}, ""},
		{"simulate other user's prefix", "", []string{"simulate", "--policy", p("s3read.json"), "--action", "s3:GetObject",
			"--resource", "arn:aws:s3:::bucket/bob/a.txt", "--principal", alice}, exitNegative,
			[]string{"decision: implicitDeny", "reason: no identity-based policy allows the s3:GetObject action",
				"message: User: " + alice + " is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/bob/a.txt because no identity-based policy allows"}, ""},
		{"simulate explicit deny", "", []string{"simulate", "--policy", p("s3read.json"), "--policy", p("deny.json"), "--action", "S3:GETOBJECT",
			"--resource", "arn:aws:s3:::bucket/alice/a.txt", "--principal", alice, "--context", "aws:SecureTransport=false"}, exitNegative,
			[]string{"decision: explicitDeny", `explicit deny in identity-based policy "` + p("deny.json") + `" statement "DenyInsecure"`, "Deny  identity-based policy"}, ""},
		{"simulate multi-valued context", "", []string{"simulate", "--policy", p("tags.json"), "--action", "ec2:CreateTags",
			"--context", "aws:TagKeys=env,team"}, exitOK, []string{"decision: allowed"}, ""},
		{"simulate repeated context key", "", []string{"simulate", "--policy", p("tags.json"), "--action", "ec2:CreateTags",
			"--context", "aws:TagKeys=env", "--context", "aws:TagKeys=owner"}, exitNegative, []string{"decision: implicitDeny"}, ""},
		{"simulate empty context key", "", []string{"simulate", "--policy", p("tags.json"), "--action", "ec2:CreateTags",
			"--context", "aws:TagKeys="}, exitOK, []string{"decision: allowed"}, ""},
		{"simulate resource policy naming the session's role", "", []string{"simulate", "--resource-policy", p("bucket.json"), "--action", "s3:GetObject",
			"--resource", "arn:aws:s3:::bucket/k", "--principal", "arn:aws:sts::111122223333:assumed-role/Reader/i-0abc"}, exitOK,
			[]string{"decision: allowed", "(principal: equivalent)"}, ""},
		{"simulate boundary limits", "", []string{"simulate", "--resource-policy", p("bucket.json"), "--boundary", p("bound.json"), "--action", "s3:GetObject",
			"--resource", "arn:aws:s3:::bucket/k", "--principal", "arn:aws:sts::111122223333:assumed-role/Reader/i-0abc"}, exitNegative,
			[]string{"no permissions boundary allows the s3:GetObject action"}, ""},
		{"simulate trust with service", "", []string{"simulate", "--trust-policy", p("trust.json"), "--action", "sts:AssumeRole",
			"--resource", "arn:aws:iam::111122223333:role/Reader", "--principal-type", "service", "--principal", "ec2.amazonaws.com"}, exitOK,
			[]string{"decision: allowed"}, ""},
		{"simulate trust rejects other service", "", []string{"simulate", "--trust-policy", p("trust.json"), "--action", "sts:AssumeRole",
			"--resource", "arn:aws:iam::111122223333:role/Reader", "--principal-type", "service", "--principal", "lambda.amazonaws.com"}, exitNegative,
			[]string{"no role trust policy allows lambda.amazonaws.com"}, ""},
		{"simulate missing action", "", []string{"simulate", "--policy", p("s3read.json")}, exitBadInput, nil, "--action is required"},
		{"simulate bad context", "", []string{"simulate", "--policy", p("s3read.json"), "--action", "s3:GetObject", "--context", "novalue"}, exitBadInput, nil, "want KEY=VALUE"},
		{"simulate invalid policy", "", []string{"simulate", "--policy", p("bad.json"), "--action", "s3:GetObject"}, exitBadInput, nil, `Effect must be "Allow" or "Deny"`},
		{"simulate missing policy file", "", []string{"simulate", "--policy", p("nope.json"), "--action", "s3:GetObject"}, exitBadInput, nil, "nope.json"},
		{"simulate unknown flag", "", []string{"simulate", "--polcy", p("s3read.json")}, exitBadInput, nil, "unknown flag: --polcy"},
		{"simulate positional argument", "", []string{"simulate", p("s3read.json"), "--action", "s3:GetObject"}, exitBadInput, nil, "takes no arguments"},
		{"simulate bad principal type", "", []string{"simulate", "--action", "s3:GetObject", "--principal-type", "robot"}, exitBadInput, nil, `--principal-type "robot"`},
		{"simulate principal not an ARN", "", []string{"simulate", "--action", "s3:GetObject", "--principal", "alice"}, exitBadInput, nil, "is not an ARN"},
		{"unknown subcommand", "", []string{"simulat"}, exitBadInput, nil, `unknown command "simulat"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runPolicy(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("policy %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("policy %v: stdout = %q, want it to contain %q", tc.args, stdout, want)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("policy %v: stderr = %q, want it to contain %q", tc.args, stderr, tc.stderr)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	inner := errors.New("boom")
	var err error = &exitError{code: 2, err: inner}
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != 2 {
		t.Fatalf("errors.As(%v) did not find ExitCode 2", err)
	}
	if !errors.Is(err, inner) || err.Error() != "boom" {
		t.Errorf("exitError does not wrap its error: %v", err)
	}
	if msg := (&exitError{code: 1}).Error(); msg != "" {
		t.Errorf("silent exitError message = %q, want empty", msg)
	}
}
