package linklocal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inNewNetns runs f on a thread moved into a network namespace of its own
// (unshare), so nothing it does reaches the machine's namespace. The thread
// is never returned to the scheduler: it ends with the goroutine.
func inNewNetns(t *testing.T, f func() error) error {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("claiming addresses in a network namespace needs root; CI runs as root")
		}
		t.Skip("claiming addresses in a network namespace needs root")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		before, err := nsIno("/proc/thread-self/ns/net")
		if err == nil {
			err = unix.Unshare(unix.CLONE_NEWNET)
		}
		if err != nil {
			done <- err
			return
		}
		after, err := nsIno("/proc/thread-self/ns/net")
		if err != nil || after == before {
			done <- errors.Join(errors.New("the thread did not get a network namespace of its own"), err)
			return
		}
		done <- f()
	}()
	return <-done
}

// TestClaimInNetns claims the addresses in a fresh network namespace,
// listens and dials there, and releases them.
func TestClaimInNetns(t *testing.T) {
	err := inNewNetns(t, func() error {
		if v4, v6, err := Present(); err != nil || v4 || v6 {
			return errors.Join(errors.New("addresses present before the claim"), err)
		}
		c, err := ClaimAddresses(Options{})
		if err != nil {
			return err
		}
		if len(c.Added) != 2 || len(c.Present) != 0 {
			return errors.New("claim did not add both addresses: " + join(c))
		}
		if v4, v6, err := Present(); err != nil || !v4 || !v6 {
			return errors.Join(errors.New("addresses missing after the claim"), err)
		}
		// Inside the new namespace only.
		ln, err := net.Listen("tcp", ListenIPv4) // inside the thread's own network namespace
		if err != nil {
			return err
		}
		conn, err := net.Dial("tcp", ln.Addr().String()) // inside the thread's own network namespace
		if err != nil {
			ln.Close()
			return err
		}
		conn.Close()
		ln.Close()

		// A second claim finds them there and leaves them to the first.
		c2, err := ClaimAddresses(Options{})
		if err != nil {
			return err
		}
		if len(c2.Added) != 0 || len(c2.Present) != 2 {
			return errors.New("second claim: " + join(c2))
		}
		if err := c2.Release(); err != nil {
			return err
		}
		if v4, v6, _ := Present(); !v4 || !v6 {
			return errors.New("releasing the second claim removed the first claim's addresses")
		}
		if err := errors.Join(c.Release(), c.Release()); err != nil {
			return err
		}
		if v4, v6, err := Present(); err != nil || v4 || v6 {
			return errors.Join(errors.New("addresses still present after Release"), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func join(c *Claim) string {
	return "added " + joinAddrs(c.Added) + ", present " + joinAddrs(c.Present)
}

// TestPrepareInNetns runs what serve --link-local does before it listens,
// in a fresh network namespace: without --claim-address it refuses while
// the address is missing and says how to add it; with it, it adds the
// addresses and release removes them.
func TestPrepareInNetns(t *testing.T) {
	err := inNewNetns(t, func() error {
		var out strings.Builder
		if _, _, err := Prepare(Options{}, false, &out); err == nil || !strings.Contains(err.Error(), IPv4+" is not on any interface") || !strings.Contains(err.Error(), AddCommand(Addresses()[0])) {
			return fmt.Errorf("Prepare without the address = %v; want it refused, with the command that adds it", err)
		}
		v6, release, err := Prepare(Options{}, true, &out)
		if err != nil {
			return err
		}
		if !v6 || !strings.Contains(out.String(), "added "+IPv4+" to "+Device+" (removed at exit)") {
			return fmt.Errorf("Prepare with claim: v6 %v, said %q", v6, out.String())
		}
		out.Reset()
		if v6, _, err := Prepare(Options{}, false, &out); err != nil || !v6 || out.Len() != 0 {
			return fmt.Errorf("Prepare with the addresses there = %v, %v, said %q; want both, quietly", v6, err, out.String())
		}
		if err := release(); err != nil {
			return err
		}
		if v4, v6, err := Present(); err != nil || v4 || v6 {
			return errors.Join(errors.New("addresses still present after release"), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
