package imds_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/imds"
)

// noticeFixture is a Spot instance in an Auto Scaling group.
func noticeFixture(t *testing.T) *fixture {
	return newFixture(t, func(o *imds.Options) {
		o.Instance = imds.Instance{LifeCycle: imds.LifeCycleSpot, AutoScaling: true}
	})
}

var eventIDRe = regexp.MustCompile(`^instance-event-[0-9a-f]{17}$`)

// expect GETs each path with IMDSv1 and IMDSv2 and checks the answer:
// body "" with code 404 means the 404 page.
func (f *fixture) expect(t *testing.T, stage string, want map[string]string) {
	t.Helper()
	tok := f.token(t, "21600")
	for _, h := range [][]string{nil, {hdrToken, tok}} {
		for path, body := range want {
			w := f.do(t, "GET", path, h...)
			code := 200
			if body == "" {
				code = 404
			}
			if w.Code != code || (code == 200 && w.Body.String() != body) {
				t.Errorf("%s, token=%t: GET %s = %d %q, want %d %q", stage, h != nil, path, w.Code, w.Body.String(), code, body)
			}
		}
	}
}

func mustFire(t *testing.T, f *fixture, r imds.NoticeRequest) imds.Notice {
	t.Helper()
	n, err := f.srv.Notices().Fire(r)
	if err != nil {
		t.Fatalf("Fire(%+v): %v", r, err)
	}
	return n
}

// TestNotices_Spot follows spot-instance-termination-notices: instance-action
// is {"action": "…", "time": "…"}, termination-time the bare time and only
// for terminate, both 404 before the notice.
func TestNotices_Spot(t *testing.T) {
	f := noticeFixture(t)
	const meta = "/latest/meta-data/"
	f.expect(t, "before", map[string]string{
		meta + "spot/instance-action": "", meta + "spot/termination-time": "", meta + "spot/": "",
	})
	mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeSpotInterruption})
	during := map[string]string{
		meta + "spot/instance-action":  `{"action": "terminate", "time": "2025-06-01T12:02:00Z"}`,
		meta + "spot/termination-time": "2025-06-01T12:02:00Z",
		meta + "spot/":                 "instance-action\ntermination-time",
	}
	f.expect(t, "during", during)
	if l := f.do(t, "GET", meta).Body.String(); !strings.Contains(l, "\nspot/\n") {
		t.Errorf("meta-data/ = %q, want spot/ listed while the notice is posted", l)
	}
	// After the action's time the items stay, the time now in the past, as
	// when EC2 fails to act.
	f.clock.Advance(5 * time.Minute)
	f.expect(t, "after its time", during)

	mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeSpotInterruption, Action: "stop", In: 30 * time.Second})
	f.expect(t, "stop", map[string]string{
		meta + "spot/instance-action":  `{"action": "stop", "time": "2025-06-01T12:05:30Z"}`,
		meta + "spot/termination-time": "",
		meta + "spot/":                 "instance-action",
	})
	mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeSpotInterruption, Action: "hibernate"})
	f.expect(t, "hibernate: no two-minute warning", map[string]string{
		meta + "spot/instance-action": `{"action": "hibernate", "time": "2025-06-01T12:05:00Z"}`,
	})
	if _, err := f.srv.Notices().Cancel(imds.NoticeSpotInterruption); err != nil {
		t.Fatal(err)
	}
	f.expect(t, "withdrawn", map[string]string{meta + "spot/instance-action": "", meta + "spot/": ""})
}

// TestNotices_Rebalance follows rebalance-recommendations:
// {"noticeTime": "…"}, 404 before.
func TestNotices_Rebalance(t *testing.T) {
	f := noticeFixture(t)
	const ev = "/latest/meta-data/events/"
	f.expect(t, "before", map[string]string{ev: "maintenance/", ev + "recommendations/rebalance": "", ev + "recommendations/": ""})
	f.clock.Advance(90 * time.Second)
	mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeRebalance})
	during := map[string]string{
		ev:                               "maintenance/\nrecommendations/",
		ev + "recommendations/":          "rebalance",
		ev + "recommendations/rebalance": `{"noticeTime": "2025-06-01T12:01:30Z"}`,
	}
	f.expect(t, "during", during)
	f.clock.Advance(time.Hour)
	f.expect(t, "an hour later", during)
	if n := f.srv.Notices().Clear(); n != 1 {
		t.Errorf("Clear() = %d, want 1", n)
	}
	f.expect(t, "cleared", map[string]string{ev: "maintenance/", ev + "recommendations/rebalance": ""})
}

// TestNotices_Maintenance follows monitoring-instances-status-check_sched
// (instance metadata): scheduled lists active events, history completed and
// canceled ones with "[Completed] " or "[Canceled] " before the description.
func TestNotices_Maintenance(t *testing.T) {
	f := noticeFixture(t)
	const m = "/latest/meta-data/events/maintenance/"
	f.expect(t, "before", map[string]string{m + "scheduled": "[]", m + "history": "[]"})
	n := mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeMaintenance, Code: "system-reboot", In: time.Hour, Duration: 17*time.Minute + 20*time.Second})
	if !eventIDRe.MatchString(n.ID) {
		t.Errorf("event id = %q, want instance-event- and 17 hex digits, as EC2's", n.ID)
	}
	active := `[ 
  {
    "NotBefore" : "1 Jun 2025 13:00:00 GMT",
    "Code" : "system-reboot",
    "Description" : "scheduled reboot",
    "EventId" : "` + n.ID + `",
    "NotAfter" : "1 Jun 2025 13:17:20 GMT",
    "State" : "active"
  } 
]`
	f.expect(t, "scheduled", map[string]string{m + "scheduled": active, m + "history": "[]"})
	f.clock.Advance(70 * time.Minute) // inside the window: still active
	f.expect(t, "in its window", map[string]string{m + "scheduled": active, m + "history": "[]"})

	second := mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeMaintenance, Code: "instance-stop", Description: "retiring hardware"})
	f.clock.Advance(8 * time.Minute) // the first window has ended
	if _, err := f.srv.Notices().Cancel(second.ID); err != nil {
		t.Fatal(err)
	}
	f.expect(t, "after", map[string]string{m + "scheduled": "[]", m + "history": `[ 
  {
    "NotBefore" : "1 Jun 2025 13:00:00 GMT",
    "Code" : "system-reboot",
    "Description" : "[Completed] scheduled reboot",
    "EventId" : "` + n.ID + `",
    "NotAfter" : "1 Jun 2025 13:17:20 GMT",
    "State" : "completed"
  }, 
  {
    "NotBefore" : "2 Jun 2025 13:10:00 GMT",
    "Code" : "instance-stop",
    "Description" : "[Canceled] retiring hardware",
    "EventId" : "` + second.ID + `",
    "NotAfter" : "2 Jun 2025 15:10:00 GMT",
    "State" : "canceled"
  } 
]`})
	if _, err := f.srv.Notices().Cancel(second.ID); !errors.Is(err, imds.ErrNoNotice) {
		t.Errorf("canceling a canceled event: err = %v, want ErrNoNotice", err)
	}
	if got := len(f.srv.Notices().List()); got != 2 {
		t.Errorf("List() has %d notices, want the 2 past events", got)
	}
}

// TestNotices_Lifecycle follows the Auto Scaling guide: the target
// lifecycle state, InService for a running member.
func TestNotices_Lifecycle(t *testing.T) {
	f := noticeFixture(t)
	const p = "/latest/meta-data/autoscaling/target-lifecycle-state"
	f.expect(t, "before", map[string]string{p: "InService"})
	for _, st := range []string{"Warmed:Stopped", "Terminated"} {
		mustFire(t, f, imds.NoticeRequest{Kind: imds.NoticeASGLifecycle, State: st})
		f.expect(t, st, map[string]string{p: st})
	}
	if _, err := f.srv.Notices().Cancel(imds.NoticeASGLifecycle); err != nil {
		t.Fatal(err)
	}
	f.expect(t, "after", map[string]string{p: "InService"})
}

func TestNotices_Refused(t *testing.T) {
	onDemand := newFixture(t, nil)
	for _, r := range []imds.NoticeRequest{
		{Kind: imds.NoticeSpotInterruption},
		{Kind: imds.NoticeRebalance},
		{Kind: imds.NoticeASGLifecycle, State: "Terminated"},
	} {
		if _, err := onDemand.srv.Notices().Fire(r); !errors.Is(err, imds.ErrNotApplicable) {
			t.Errorf("on-demand, no group: Fire(%+v) err = %v, want ErrNotApplicable", r, err)
		}
	}
	f := noticeFixture(t)
	for _, r := range []imds.NoticeRequest{
		{Kind: "reboot"},
		{Kind: imds.NoticeSpotInterruption, Action: "explode"},
		{Kind: imds.NoticeSpotInterruption, In: -time.Second},
		{Kind: imds.NoticeSpotInterruption, Code: "system-reboot"},
		{Kind: imds.NoticeRebalance, In: time.Minute},
		{Kind: imds.NoticeMaintenance},
		{Kind: imds.NoticeMaintenance, Code: "system-reboot", Description: "two\nlines"},
		{Kind: imds.NoticeMaintenance, Code: "system-reboot", State: "InService"},
		{Kind: imds.NoticeASGLifecycle, State: "Pending"},
	} {
		if _, err := f.srv.Notices().Fire(r); err == nil || errors.Is(err, imds.ErrNotApplicable) {
			t.Errorf("Fire(%+v) err = %v, want a validation error", r, err)
		}
	}
	if got := f.srv.Notices().List(); len(got) != 0 {
		t.Errorf("List() after refusals = %v, want none", got)
	}
}
