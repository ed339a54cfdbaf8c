package instance

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/refresher"
)

// With the refresher's scheduler, Current reads the profile's entry it
// found before instead of looking the key up, and follows rotations,
// Attach (a new entry) and Detach.
func TestInstance_CurrentFollowsSchedulerEntry(t *testing.T) {
	f := newFixture(t)
	synctest.Test(t, func(t *testing.T) {
		sched, err := refresher.New(refresher.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- sched.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()
		in, err := New(t.Context(), Options{Metadata: imds.Instance{ID: firstID, AccountID: acct}, Profile: "web",
			Store: f.store, STS: f.issuer, Scheduler: sched})
		if err != nil {
			t.Fatal(err)
		}
		if in.handles == nil {
			t.Fatal("*refresher.Scheduler is not a handles")
		}
		if err := in.Keep(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		current := func(what string) imds.Attachment {
			t.Helper()
			a, ok := in.Current()
			g := sched.Current(a.ProfileARN)
			if !ok || g == nil || a.Credentials != g.Credentials {
				t.Fatalf("%s: Current = %v, %t; the scheduler's generation is %v", what, a, ok, g)
			}
			return a
		}
		first := current("first generation")
		if first.Role != "web" {
			t.Errorf("role %q, want web", first.Role)
		}
		if err := in.RotateNow(webARN); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if second := current("after RotateNow"); second.Credentials.AccessKeyID == first.Credentials.AccessKeyID {
			t.Error("Current still serves the first generation after a rotation")
		}

		if _, err := in.Attach(t.Context(), "batch"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if a := current("after Attach"); a.Role != "batch" || sched.Current(webARN).Seq != 1 {
			t.Errorf("after Attach: role %q, generation %d; want batch, 1", a.Role, sched.Current(webARN).Seq)
		}
		if _, err := in.Detach(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a, ok := in.Current(); ok {
			t.Errorf("after Detach: Current = %v, true", a)
		}
	})
}
