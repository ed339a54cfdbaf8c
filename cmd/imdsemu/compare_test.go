package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

const (
	compareSecret = "fakeCompareSecretAAAAAAAAAAAAAAAAAAAAAAA"
	compareToken  = "fakeCompareSessionToken"
)

// runCompareCmd executes "imdsemu compare ARGS..." in-process.
func runCompareCmd(t *testing.T, environ map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return environ[k] }}
	root := &cobra.Command{Use: "imdsemu", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(newCompareCmd(e))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"compare"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// fakeMetadata serves one role credential over IMDSv1/v2.
func fakeMetadata(t *testing.T, expires time.Time) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "300")
			io.WriteString(w, "tok")
		case "/latest/meta-data/iam/security-credentials/":
			io.WriteString(w, "imdsemu-demo")
		case "/latest/meta-data/iam/security-credentials/imdsemu-demo":
			fmt.Fprintf(w, `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAROLE","SecretAccessKey":%q,"Token":%q,"Expiration":%q}`,
				compareSecret, compareToken, expires.UTC().Format(time.RFC3339))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeSTS answers GetCallerIdentity: the user for the AKIA key, AccessDenied
// for anything else, judged by the SigV4 Authorization header's key id.
func fakeSTS(t *testing.T) *httptest.Server {
	t.Helper()
	cred := regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := cred.FindStringSubmatch(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "text/xml")
		if m == nil || m[1] != "AKIASTATIC" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>revoked</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/demo</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func compareCredsFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(path, []byte("[leaked]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = "+compareSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareCmd_Table(t *testing.T) {
	md := fakeMetadata(t, time.Now().Add(time.Hour))
	sts := fakeSTS(t)
	creds := compareCredsFile(t)
	out, errOut, err := runCompareCmd(t, map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": md.URL + "/", "AWS_ENDPOINT_URL_STS": sts.URL},
		"--credentials-file", creds, "--profile", "leaked", "--duration", "0")
	if err != nil {
		t.Fatalf("compare: %v\nstderr:\n%s", err, errOut)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  profile  static keys of profile "leaked" in ` + regexp.QuoteMeta(creds) + `$`),
		regexp.MustCompile(`(?m)^  imds     instance role credentials from ` + regexp.QuoteMeta(md.URL) + `/ \(Java v1 1\.12-2024, sync refresh, 15m0s before expiry\)$`),
		regexp.MustCompile(`(?m)^TIME +PROVIDER +ACCESS KEY ID +EXPIRES +CHECK$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  profile   AKIASTATIC +never +arn:aws:iam::123456789012:user/demo$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  imds      ASIAROLE +\d\d:\d\d:\d\d \(in (1h0m0s|59m59s)\) +FAIL AccessDenied$`),
		regexp.MustCompile(`(?m)^profile   1 key    1/1 ok$`),
		regexp.MustCompile(`(?m)^imds      1 key    0/1 ok; failed: AccessDenied ×1 \(first at \d\d:\d\d:\d\d\)$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks a line matching %s; output:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, compareSecret) || strings.Contains(out+errOut, compareToken) {
		t.Error("compare printed a secret")
	}
}

func TestCompareCmd_JSON(t *testing.T) {
	md := fakeMetadata(t, time.Now().Add(time.Hour))
	sts := fakeSTS(t)
	out, errOut, err := runCompareCmd(t, nil, "--credentials-file", compareCredsFile(t), "--profile", "leaked",
		"--imds-endpoint", md.URL, "--sts-endpoint", sts.URL, "--duration", "0", "--async", "--json")
	if err != nil {
		t.Fatalf("compare: %v\nstderr:\n%s", err, errOut)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct {
			Type, Provider, AccessKeyID, Expires, Code, Identity string
			OK                                                   bool
			Keys                                                 []string
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%s %s ok=%v %s", v.Type, v.Provider, v.OK, v.Code))
	}
	want := []string{"row profile ok=true ", "row imds ok=false AccessDenied", "summary profile ok=false ", "summary imds ok=false "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("JSON lines = %q, want %q", got, want)
	}
	if !strings.Contains(out, `"access_key_id":"AKIASTATIC","expires":"never"`) {
		t.Errorf("static row lacks expires never:\n%s", out)
	}
}

func TestCompareCmd_NoSTSEndpoint(t *testing.T) {
	md := fakeMetadata(t, time.Now().Add(time.Hour))
	out, errOut, err := runCompareCmd(t, nil, "--credentials-file", compareCredsFile(t), "--profile", "leaked",
		"--imds-endpoint", md.URL, "--duration", "0")
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	if !strings.Contains(errOut, "no STS endpoint") || !regexp.MustCompile(`(?m)imds +ASIAROLE .* ok$`).MatchString(out) {
		t.Errorf("stderr %q, stdout:\n%s\nwant a note and unchecked rows", errOut, out)
	}
}

func TestCompareCmd_BadInput(t *testing.T) {
	md := fakeMetadata(t, time.Now().Add(time.Hour))
	creds := compareCredsFile(t)
	cases := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"no endpoint":      {nil, []string{"--credentials-file", creds, "--profile", "leaked"}, "pass --imds-endpoint or set AWS_EC2_METADATA_SERVICE_ENDPOINT"},
		"missing profile":  {nil, []string{"--credentials-file", creds, "--profile", "nope", "--imds-endpoint", md.URL}, `profile "nope" in ` + creds + `: profile not found`},
		"missing file":     {nil, []string{"--credentials-file", creds + ".x", "--imds-endpoint", md.URL}, creds + ".x"},
		"zero interval":    {nil, []string{"--interval", "0s", "--imds-endpoint", md.URL}, "--interval 0s: must be positive"},
		"negative":         {nil, []string{"--duration", "-1s", "--imds-endpoint", md.URL}, "--duration -1s: must not be negative"},
		"default from env": {map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_PROFILE": "other"}, []string{"--imds-endpoint", md.URL}, `profile "other" in ` + creds},
		"args":             {nil, []string{"extra"}, `unknown command "extra"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, _, err := runCompareCmd(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("compare %v = %v, want error with %q", tc.args, err, tc.want)
			}
			if out != "" {
				t.Errorf("compare %v printed %q before failing", tc.args, out)
			}
		})
	}
}
