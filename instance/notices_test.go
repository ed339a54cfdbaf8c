package instance

import (
	"errors"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
)

func TestNoticeControl(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	spot := NoticeControl{imds.NewNotices(imds.Instance{LifeCycle: imds.LifeCycleSpot}, clock, nil)}
	onDemand := NoticeControl{imds.NewNotices(imds.Instance{LifeCycle: imds.LifeCycleOnDemand}, clock, nil)}

	n, err := spot.FireNotice(fault.Notice{Kind: imds.NoticeSpotInterruption, Action: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Kind != imds.NoticeSpotInterruption || n.Action != "stop" || n.Time == nil || !n.Time.Equal(now.Add(imds.DefaultSpotWarning)) {
		t.Errorf("spot interruption = %+v, want action stop at %v", n, now.Add(imds.DefaultSpotWarning))
	}
	if n.NotBefore != nil || n.NotAfter != nil {
		t.Errorf("spot interruption has a maintenance window: %+v", n)
	}
	if got := spot.Notices(); len(got) != 1 || got[0].Kind != imds.NoticeSpotInterruption {
		t.Errorf("Notices() = %+v", got)
	}

	m, err := spot.FireNotice(fault.Notice{Kind: imds.NoticeMaintenance, Code: "system-reboot"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.NotBefore == nil || m.NotAfter == nil || m.Time != nil {
		t.Errorf("maintenance event = %+v, want an id and a window", m)
	}
	if c, err := spot.CancelNotice(m.ID); err != nil || c.State != imds.MaintenanceCanceled {
		t.Errorf("CancelNotice(%s) = %+v, %v; want canceled", m.ID, c, err)
	}

	for _, tc := range []struct {
		name string
		err  func() error
		kind error
	}{
		{"spot on on-demand", func() error {
			_, err := onDemand.FireNotice(fault.Notice{Kind: imds.NoticeSpotInterruption})
			return err
		}, admin.ErrConflict},
		{"unknown id", func() error { _, err := spot.CancelNotice("instance-event-0000"); return err }, admin.ErrNotFound},
		{"bad kind", func() error { _, err := spot.FireNotice(fault.Notice{Kind: "earthquake"}); return err }, admin.ErrInvalid},
	} {
		if err := tc.err(); !errors.Is(err, tc.kind) {
			t.Errorf("%s: error %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	if got := spot.ClearNotices(); got != 2 {
		t.Errorf("ClearNotices() = %d, want 2 (the interruption and the canceled event)", got)
	}
}
