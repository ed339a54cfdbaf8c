package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The actors of the roles-vs-keys demo.
const (
	ActorAppKey    = "app-with-key"         // reads a long-term key from its profile
	ActorAppRole   = "app-with-role"        // asks IMDS for the instance role's credentials
	ActorThiefKey  = "thief-with-key"       // a copy of the profile's key, used from elsewhere
	ActorThiefRole = "thief-with-role-copy" // a copy of what IMDS served, used from elsewhere
)

// DemoRolesVsKeys is the name of the demo [RunDemo] runs.
const DemoRolesVsKeys = "roles-vs-keys"

// DemoOptions configures [RunDemo].
type DemoOptions struct {
	// Exe is the imdsemu binary (serve and the store commands).
	Exe string
	// Server under test; nil: RunDemo starts its own with Exe.
	Server *Endpoints
	// Lifetime of each role credential generation and how often the next
	// is minted (flags of the serve RunDemo starts). Defaults 45 s and 15 s.
	Lifetime, Rotation time.Duration
	// Region for the STS checks. Default us-east-1.
	Region string
	// Out receives the narration.
	Out io.Writer
}

// DemoStep is one narrated step as the demo checked it. It travels as the
// body of the admin API's POST /v1/demo (admin.DemoStep), which puts it on
// the event stream for the dashboard.
type DemoStep struct {
	N        int           `json:"n"`
	Title    string        `json:"title"`
	Text     string        `json:"text,omitempty"`
	Outcomes []DemoOutcome `json:"outcomes,omitempty"`
	Passed   bool          `json:"passed"` // every outcome was as narrated
}

// DemoOutcome is what one actor's STS GetCallerIdentity gave in a step.
type DemoOutcome struct {
	Actor       string `json:"actor"`
	Want        string `json:"want,omitempty"` // "" when any outcome is fine
	Got         string `json:"got"`            // "ok" or the AWS error code
	AccessKeyID string `json:"access_key_id,omitempty"`
	Note        string `json:"note,omitempty"`
}

// Met reports whether the outcome is as narrated.
func (o DemoOutcome) Met() bool { return o.Want == "" || o.Got == o.Want }

type demoPost struct {
	Demo string   `json:"demo"`
	Step DemoStep `json:"step"`
}

// DemoError names the first step that did not behave as narrated.
type DemoError struct {
	Step DemoStep
}

func (e *DemoError) Error() string {
	var bad []string
	for _, o := range e.Step.Outcomes {
		if !o.Met() {
			bad = append(bad, fmt.Sprintf("%s got %s, want %s", o.Actor, o.Got, o.Want))
		}
	}
	if e.Step.Text != "" && len(bad) == 0 {
		bad = append(bad, e.Step.Text)
	}
	return fmt.Sprintf("demo step %d (%s) did not behave as narrated: %s", e.Step.N, e.Step.Title, strings.Join(bad, "; "))
}

// demo is one run of roles-vs-keys.
type demo struct {
	o         DemoOptions
	srv       *Endpoints
	ctl       *adminControl
	checker   *Checker
	credsFile string
	start     time.Time
	keys      []string // the profile's keys, oldest first

	appKey, appRole, thiefKey, thiefRole Lane
	step                                 int
	posted                               bool // the server took a narration
}

// RunDemo runs the roles-vs-keys story: an application with a long-term
// key in its profile and one with the instance role both work; the key and
// a role credential leak; the role copy dies at its expiry and, copied
// again, at once on revocation while the legitimate application recovers at
// the next generation; deactivating the leaked key stops the thief and the
// legitimate application until its profile holds a new key. Every step is
// checked with SigV4-signed STS GetCallerIdentity calls. RunDemo returns a
// [*DemoError] for the first step that did not behave as narrated.
func RunDemo(ctx context.Context, o DemoOptions) error {
	if o.Lifetime <= 0 {
		o.Lifetime = 45 * time.Second
	}
	if o.Rotation <= 0 {
		o.Rotation = 15 * time.Second
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	d := &demo{o: o, srv: o.Server, start: time.Now()}
	if d.srv == nil {
		fmt.Fprintf(o.Out, "Starting imdsemu serve: role credentials live %v, a new generation every %v.\n", o.Lifetime, o.Rotation)
		em, err := StartEmulator(ctx, o.Exe, map[string]string{
			"session-duration": o.Lifetime.String(), "rotation-interval": o.Rotation.String()})
		if err != nil {
			return err
		}
		defer em.Stop()
		d.srv = &em.Endpoints
	}
	fmt.Fprintf(o.Out, "imdsemu: metadata %s, STS %s, dashboard %s/ui/\n\n", d.srv.Metadata, d.srv.STS, strings.TrimRight(d.srv.Admin, "/"))
	d.ctl = newAdminControl(d.srv.Admin, d.srv.Token, o.Exe, d.srv.DataDir)
	d.checker = NewChecker(d.srv.STS, o.Region)
	tmp, err := os.MkdirTemp("", "imdsemu-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	d.credsFile = filepath.Join(tmp, "credentials")
	defer func() {
		for _, l := range []Lane{d.appKey, d.appRole, d.thiefKey, d.thiefRole} {
			if l != nil {
				l.Close()
			}
		}
	}()
	for _, s := range []func(context.Context) (DemoStep, error){
		d.bothWork, d.leak, d.roleCopyExpires, d.revoke, d.appRecovers, d.deactivate, d.editProfile,
	} {
		d.step++
		st, err := s(ctx)
		if err != nil {
			return fmt.Errorf("demo step %d: %w", d.step, err)
		}
		st.N = d.step
		st.Passed = true
		for _, o := range st.Outcomes {
			st.Passed = st.Passed && o.Met()
		}
		d.narrate(ctx, st)
		if !st.Passed {
			return &DemoError{Step: st}
		}
	}
	fmt.Fprintf(o.Out, "Every step behaved as narrated (%v).\n", time.Since(d.start).Round(time.Second))
	return nil
}

// outcome calls l once and checks what it got in STS.
func (d *demo) outcome(ctx context.Context, actor string, l Lane, want, note string) DemoOutcome {
	c := l.Call(ctx, true)
	got := c.Check
	switch {
	case c.Err != "":
		got = "no credentials (" + c.Err + ")"
	case got == "error":
		got = "error (" + c.CheckError + ")"
	}
	return DemoOutcome{Actor: actor, Want: want, Got: got, AccessKeyID: c.AccessKeyID, Note: note}
}

// until calls l every second until it gets want or within has passed, and
// returns the last outcome and how long it took.
func (d *demo) until(ctx context.Context, actor string, l Lane, want string, within time.Duration, note string) (DemoOutcome, time.Duration) {
	t0 := time.Now()
	for {
		o := d.outcome(ctx, actor, l, want, note)
		if o.Got == want || time.Since(t0) >= within || ctx.Err() != nil {
			return o, time.Since(t0)
		}
		sleepUntil(ctx, time.Now().Add(time.Second))
	}
}

// 1. Both applications work.
func (d *demo) bothWork(ctx context.Context) (DemoStep, error) {
	id, err := d.ctl.NewKey(ctx, d.credsFile, labProfile)
	if err != nil {
		return DemoStep{}, err
	}
	d.keys = append(d.keys, id)
	d.appKey = newProfileLane(d.credsFile, labProfile, 0, d.checker)
	d.appRole, err = newModelLane("java-v1-sync", string(JavaV1ForDemo), d.srv.Metadata, d.checker)
	if err != nil {
		return DemoStep{}, err
	}
	return DemoStep{
		Title: "Two applications on the instance, both working",
		Text: "app-with-key reads a long-term access key of IAM user " + LabUser + " from its profile; " +
			"app-with-role asks the metadata service for the instance role's temporary credentials.",
		Outcomes: []DemoOutcome{
			d.outcome(ctx, ActorAppKey, d.appKey, "ok", "long-term key from the profile"),
			d.outcome(ctx, ActorAppRole, d.appRole, "ok", "role credentials from IMDS"),
		},
	}, nil
}

// JavaV1ForDemo is the release of the Java v1 instance-profile provider
// model app-with-role runs: it fetches again whenever its credentials
// expire within 15 minutes, so with the demo's short lifetimes it takes
// every new generation at once.
const JavaV1ForDemo = "1.11"

// 2. The key and a role credential leak.
func (d *demo) leak(ctx context.Context) (DemoStep, error) {
	d.thiefKey = &thiefLane{name: ActorThiefKey, steal: stealFromFile(d.credsFile), checker: d.checker}
	d.thiefRole = &thiefLane{name: ActorThiefRole, steal: stealFromIMDS(d.srv.Metadata), checker: d.checker}
	ko := d.outcome(ctx, ActorThiefKey, d.thiefKey, "ok", "copied from the profile file")
	ro := d.outcome(ctx, ActorThiefRole, d.thiefRole, "ok", "copied from IMDS (SSRF)")
	return DemoStep{
		Title: "The key leaks: a thief copies it, and a role credential too, and uses them from elsewhere",
		Text:  "The thief's role copy never refreshes; the key needs no refreshing.",
		Outcomes: []DemoOutcome{ko, ro,
			d.outcome(ctx, ActorAppKey, d.appKey, "ok", ""),
			d.outcome(ctx, ActorAppRole, d.appRole, "ok", ""),
		},
	}, nil
}

// expiry is when the thief's role copy expires.
func (d *demo) expiry(ctx context.Context) time.Time {
	return d.thiefRole.Call(ctx, false).Expires
}

// 3. The role copy dies at its expiry; the key lives on.
func (d *demo) roleCopyExpires(ctx context.Context) (DemoStep, error) {
	exp := d.expiry(ctx)
	if exp.IsZero() {
		return DemoStep{}, errors.New("the role credential has no expiry")
	}
	fmt.Fprintf(d.o.Out, "    ... waiting %v for the role copy to reach its expiry (%s)\n\n", time.Until(exp).Round(time.Second), exp.UTC().Format(time.TimeOnly))
	if !sleepUntil(ctx, exp) {
		return DemoStep{}, ctx.Err()
	}
	ro, _ := d.until(ctx, ActorThiefRole, d.thiefRole, "ExpiredToken", 10*time.Second, "nobody did anything: it expired")
	return DemoStep{
		Title: "Nobody noticed the leak, yet the thief's role copy dies at its expiry; the key keeps working",
		Text:  "Role credentials expire by themselves (" + d.o.Lifetime.String() + " here, 1-6 h on EC2); an access key never does.",
		Outcomes: []DemoOutcome{ro,
			d.outcome(ctx, ActorThiefKey, d.thiefKey, "ok", "still working, and will until someone acts"),
			d.outcome(ctx, ActorAppRole, d.appRole, "ok", "already on a newer generation"),
			d.outcome(ctx, ActorAppKey, d.appKey, "ok", ""),
		},
	}, nil
}

// 4. The thief copies a fresh role credential; revoking the role's
// sessions kills it at once.
func (d *demo) revoke(ctx context.Context) (DemoStep, error) {
	d.thiefRole.Close()
	d.thiefRole = &thiefLane{name: ActorThiefRole, steal: stealFromIMDS(d.srv.Metadata), checker: d.checker}
	fresh := d.outcome(ctx, ActorThiefRole, d.thiefRole, "ok", "a fresh copy, before the revocation")
	before := d.outcome(ctx, ActorAppRole, d.appRole, "ok", "before the revocation")
	if err := d.ctl.Revoke(ctx); err != nil {
		return DemoStep{}, err
	}
	ro, took := d.until(ctx, ActorThiefRole, d.thiefRole, "AccessDenied", 5*time.Second, "")
	ro.Note = fmt.Sprintf("denied %v after the revocation, %v before its expiry", took.Round(time.Millisecond), time.Until(d.expiry(ctx)).Round(time.Second))
	// The app's generation was issued before the revocation too, unless a
	// rotation fell in between.
	app := d.outcome(ctx, ActorAppRole, d.appRole, "AccessDenied", "its generation was issued before the revocation")
	if app.AccessKeyID != before.AccessKeyID {
		app.Want, app.Note = "", "a new generation came between"
	}
	return DemoStep{
		Title: "The thief copies a fresh role credential; you revoke the role's active sessions",
		Text:  "imdsemu revoke: every session of the role issued before now is denied, at once.",
		Outcomes: []DemoOutcome{fresh, ro, app,
			d.outcome(ctx, ActorThiefKey, d.thiefKey, "ok", "revoking the role does nothing to a key"),
		},
	}, nil
}

// 5. The legitimate application recovers at the next generation.
func (d *demo) appRecovers(ctx context.Context) (DemoStep, error) {
	app, took := d.until(ctx, ActorAppRole, d.appRole, "ok", 2*d.o.Rotation+10*time.Second, "")
	app.Note = fmt.Sprintf("the next generation, %v later, with no restart and no change", took.Round(time.Second))
	return DemoStep{
		Title: "The legitimate app recovers at the next generation; the thief's copy stays dead",
		Outcomes: []DemoOutcome{app,
			d.outcome(ctx, ActorThiefRole, d.thiefRole, "AccessDenied", "a copy never refreshes"),
			d.outcome(ctx, ActorThiefKey, d.thiefKey, "ok", ""),
			d.outcome(ctx, ActorAppKey, d.appKey, "ok", ""),
		},
	}, nil
}

// 6. Deactivating the leaked key stops the thief and the application.
func (d *demo) deactivate(ctx context.Context) (DemoStep, error) {
	if err := d.ctl.DeactivateKey(ctx, d.keys[len(d.keys)-1]); err != nil {
		return DemoStep{}, err
	}
	thief, took := d.until(ctx, ActorThiefKey, d.thiefKey, "InvalidClientTokenId", 5*time.Second, "")
	thief.Note = fmt.Sprintf("stopped %v after the deactivation", took.Round(time.Millisecond))
	return DemoStep{
		Title: "You deactivate the leaked key: the thief stops, and so does the legitimate app",
		Text:  "Both held the same key; nothing tells them apart.",
		Outcomes: []DemoOutcome{thief,
			d.outcome(ctx, ActorAppKey, d.appKey, "InvalidClientTokenId", "broken until someone edits its profile"),
			d.outcome(ctx, ActorAppRole, d.appRole, "ok", "untouched"),
		},
	}, nil
}

// 7. Someone writes a new key into the profile and restarts the app.
func (d *demo) editProfile(ctx context.Context) (DemoStep, error) {
	id, err := d.ctl.NewKey(ctx, d.credsFile, labProfile)
	if err != nil {
		return DemoStep{}, err
	}
	d.keys = append(d.keys, id)
	d.appKey.Close()
	d.appKey = newProfileLane(d.credsFile, labProfile, 0, d.checker)
	return DemoStep{
		Title: "Someone creates a new key, edits the app's profile and restarts it: the app works again",
		Text:  "A person had to act; with the role, nobody did.",
		Outcomes: []DemoOutcome{
			d.outcome(ctx, ActorAppKey, d.appKey, "ok", "the new key"),
			d.outcome(ctx, ActorThiefKey, d.thiefKey, "InvalidClientTokenId", "the old key stays dead"),
			d.outcome(ctx, ActorThiefRole, d.thiefRole, "AccessDenied", ""),
			d.outcome(ctx, ActorAppRole, d.appRole, "ok", ""),
		},
	}, nil
}

// narrate prints a step and posts it to the server's event stream, where
// an open dashboard shows it. A server without POST /v1/demo only misses
// the narration.
func (d *demo) narrate(ctx context.Context, st DemoStep) {
	w := d.o.Out
	fmt.Fprintf(w, "[%3ds] %d. %s\n", int(time.Since(d.start).Seconds()), st.N, st.Title)
	if st.Text != "" {
		fmt.Fprintf(w, "       %s\n", st.Text)
	}
	for _, o := range st.Outcomes {
		mark := "✓"
		if !o.Met() {
			mark = "✗ want " + o.Want + ","
		}
		line := fmt.Sprintf("       %s %-21s STS %-21s %-10s %s", mark, o.Actor, o.Got, shortKey(o.AccessKeyID), o.Note)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintln(w)
	err := d.ctl.do(ctx, http.MethodPost, "/v1/demo", demoPost{Demo: DemoRolesVsKeys, Step: st}, nil)
	if err != nil && !d.posted && st.N == 1 {
		fmt.Fprintf(w, "       (not shown on the dashboard: %v)\n\n", err)
	}
	d.posted = d.posted || err == nil
}

// shortKey shows an access key id's prefix and last four characters.
func shortKey(id string) string {
	if len(id) < 12 {
		return id
	}
	return id[:4] + "…" + id[len(id)-4:]
}
