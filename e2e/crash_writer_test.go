package e2e

import (
	"bufio"
	"context"
	"database/sql"
	binenc "encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	// crashWriterEnv names the data directory of the crash writer helper.
	crashWriterEnv = "IMDSEMU_E2E_CRASH_WRITER_DIR"
	// crashAccount owns the crash writer's roles.
	crashAccount = "123456789012"
	// rolesPerWrite: each write is one transaction of this many roles, so
	// that a write takes long enough for kills to land inside it.
	rolesPerWrite = 20
	// crashKills is how many times the writer is killed.
	crashKills = 50
)

const crashTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func batchRole(batch, i int) string { return fmt.Sprintf("b%06d-%02d", batch, i) }

// TestHelperProcess_CrashWriter is not a test (hence the name; it does
// nothing without its environment variable): TestCrash_WriterKilledInside
// Transactions runs it as the long-running writer it kills. It writes
// batches of roles through rolestore, one transaction each, printing
// "begin N" before and "ack N" once the store has committed batch N.
func TestHelperProcess_CrashWriter(t *testing.T) {
	dir := os.Getenv(crashWriterEnv)
	if dir == "" {
		t.Skip("helper process for TestCrash_WriterKilledInsideTransactions; runs only with " + crashWriterEnv)
	}
	ctx := context.Background()
	store, err := rolestore.OpenSQLite(ctx, filepath.Join(dir, "imdsemu.db"), rolestore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stdout, "error", err)
		os.Exit(1)
	}
	next := 0
	roles, err := store.Roles(ctx, crashAccount)
	if err == nil {
		for _, r := range roles {
			if n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(r.Name, "b"), "-", 2)[0]); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	for b := next; ; b++ {
		seed := rolestore.Seed{Accounts: []rolestore.Account{{ID: crashAccount}}}
		for i := range rolesPerWrite {
			seed.Roles = append(seed.Roles, rolestore.Role{AccountID: crashAccount, Name: batchRole(b, i), Path: "/crash/", TrustPolicy: crashTrust})
		}
		fmt.Fprintf(os.Stdout, "begin %d\n", b) // os.Stdout is unbuffered: each line is one write(2)
		if err := store.Apply(ctx, seed); err != nil {
			fmt.Fprintln(os.Stdout, "error", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", b)
	}
}

// TestCrash_WriterKilledInsideTransactions kills one long-running writer
// (thousands of transactions in all) with SIGKILL crashKills times, each
// time at a random offset into a write it has begun and not yet
// acknowledged. After every kill, every acknowledged write must be there,
// whole; the write in flight must be whole or absent; and nothing else.
// A kill proves it landed inside a transaction when the write in flight is
// absent afterwards (it had begun, it did not commit); the WAL left behind
// with frames after its last commit is logged as further evidence.
func TestCrash_WriterKilledInsideTransactions(t *testing.T) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("random seed %d", seed)
	ctx := context.Background()

	acked := map[int]bool{}    // acknowledged writes
	inFlight := map[int]bool{} // writes in flight at a kill: true if they committed
	var (
		lost, committedUnacked, walEvidence, writes int
		txTotal                                     time.Duration
		txCount                                     int
	)
	for k := range crashKills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess_CrashWriter$", "-test.count=1")
		cmd.Env = cleanEnv(t, crashWriterEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		target := 1 + rng.IntN(50) // acknowledged writes before this round's kill
		last, begun, n := "", -1, 0
		var begunAt time.Time
		killed := false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			if f[0] == "error" {
				t.Fatalf("writer: %s", sc.Text())
			}
			b, _ := strconv.Atoi(f[1])
			last = f[0]
			switch f[0] {
			case "begin":
				begun, begunAt = b, time.Now()
			case "ack":
				acked[b] = true
				n++
				writes++
				txTotal += time.Since(begunAt)
				txCount++
			}
			if !killed && f[0] == "begin" && n >= target {
				// A random offset into the write: up to the mean time a
				// write has taken from its "begin" to its "ack".
				mean := txTotal / time.Duration(max(txCount, 1))
				time.Sleep(time.Duration(rng.Int64N(int64(mean) + 1)))
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		_ = cmd.Wait()
		if !killed {
			t.Fatalf("kill %d: the writer stopped by itself", k+1)
		}
		if uncommittedWALFrames(t, filepath.Join(dir, "imdsemu.db-wal")) {
			walEvidence++
		}
		// What the write in flight left: all of it or none.
		if last == "begin" {
			present := batchRoles(ctx, t, dir, begun)
			switch present {
			case 0:
				lost++
				inFlight[begun] = false
			case rolesPerWrite:
				committedUnacked++
				inFlight[begun] = true
			default:
				t.Fatalf("kill %d: write %d half there: %d of %d roles", k+1, begun, present, rolesPerWrite)
			}
		}
	}
	t.Logf("%d kills, %d acknowledged writes; writes in flight at a kill: %d absent (killed inside), %d committed but unacknowledged; %d kills left uncommitted WAL frames",
		crashKills, writes, lost, committedUnacked, walEvidence)

	// Every acknowledged write whole, nothing that was never begun.
	store, err := rolestore.OpenSQLite(ctx, filepath.Join(dir, "imdsemu.db"), rolestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	roles, err := store.Roles(ctx, crashAccount)
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for _, r := range roles {
		b, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(r.Name, "b"), "-", 2)[0])
		count[b]++
	}
	for b := range acked {
		if count[b] != rolesPerWrite {
			t.Errorf("acknowledged write %d: %d of %d roles", b, count[b], rolesPerWrite)
		}
	}
	for b, c := range count {
		if !acked[b] && !inFlight[b] {
			t.Errorf("write %d is there (%d roles) but was never acknowledged nor in flight at a kill", b, c)
		}
		if c != rolesPerWrite {
			t.Errorf("write %d: %d of %d roles", b, c, rolesPerWrite)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "imdsemu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	// The proof that kills landed inside transactions: a write that had
	// begun and is absent was cut before it committed.
	if lost < crashKills/4 {
		t.Errorf("only %d of %d kills landed inside a write (its batch absent afterwards); want at least %d", lost, crashKills, crashKills/4)
	}
}

// batchRoles counts the roles of batch b in the store, read with plain SQL
// so that the check opens nothing the writer would.
func batchRoles(ctx context.Context, t *testing.T, dir string, b int) int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "imdsemu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM roles WHERE name LIKE ?", fmt.Sprintf("b%06d-%%", b)).Scan(&n); err != nil {
		t.Fatalf("counting write %d: %v", b, err)
	}
	return n
}

// uncommittedWALFrames reports whether the WAL file holds frames of the
// current generation after its last commit frame: pages of a transaction
// that was being written when the process died. (WAL format: a 32-byte
// header with the page size at 8 and the salts at 16; each frame a 24-byte
// header, commit size at 4 and salts at 8, then one page.)
func uncommittedWALFrames(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 32 {
		return false
	}
	page := int(binenc.BigEndian.Uint32(b[8:12]))
	salt := b[16:24]
	after := 0
	for off := 32; off+24+page <= len(b); off += 24 + page {
		h := b[off : off+24]
		if string(h[8:16]) != string(salt) {
			break
		}
		if binenc.BigEndian.Uint32(h[4:8]) != 0 {
			after = 0
		} else {
			after++
		}
	}
	return after > 0
}
