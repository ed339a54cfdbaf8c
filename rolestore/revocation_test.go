package rolestore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

// revokeEnv, set to "PATH ROLE-ARN UNIXNANO", makes the test binary revoke
// ROLE-ARN in the database at PATH and exit, as `imdsemu revoke` does
// beside a running server.
const revokeEnv = "ROLESTORE_TEST_REVOKE"

func revokeAsAnotherProcess(arg string) int {
	f := strings.Fields(arg)
	ns, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	s, err := rolestore.OpenSQLite(ctx, f[0], rolestore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	if err := s.Revoke(ctx, f[1], time.Unix(0, ns)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSQLite_RevocationByAnotherProcess: RevokedBefore answers from memory,
// yet a revocation that another process writes into the database file
// counts from the next call on.
func TestSQLite_RevocationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "imdsemu.db")
	s := openStore(t, path)
	mustPutAccount(t, s, acct)
	r, err := s.PutRole(ctx, validRole())
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{epoch, epoch.Add(time.Hour), epoch.Add(time.Minute)} {
		if _, err := s.RevokedBefore(ctx, r.ARN()); err != nil { // loads the copy in memory
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", revokeEnv, path, r.ARN(), at.UnixNano()))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the other process: %v\n%s", err, out)
		}
		if got, err := s.RevokedBefore(ctx, r.ARN()); err != nil || !got.Equal(at) {
			t.Errorf("RevokedBefore() after the other process revoked at %v = %v, %v", at, got, err)
		}
	}
}

// BenchmarkSQLite_RevokedBefore is the lookup STS makes on every request
// of a role session.
func BenchmarkSQLite_RevokedBefore(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, "")
	mustPutAccount(b, s, acct)
	r, err := s.PutRole(ctx, validRole())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Revoke(ctx, r.ARN(), epoch); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.RevokedBefore(ctx, r.ARN()); err != nil {
			b.Fatal(err)
		}
	}
}
