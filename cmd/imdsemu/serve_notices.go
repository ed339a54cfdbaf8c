package main

import (
	"errors"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
)

// noticeControl adapts the instance's notices to the control API.
type noticeControl struct{ n *imds.Notices }

func (c noticeControl) Notices() []admin.Notice {
	var out []admin.Notice
	for _, n := range c.n.List() {
		out = append(out, wireNotice(n))
	}
	return out
}

func (c noticeControl) FireNotice(r fault.Notice) (admin.Notice, error) {
	n, err := c.n.Fire(r.Request())
	if err != nil {
		return admin.Notice{}, noticeError(err)
	}
	return wireNotice(n), nil
}

func (c noticeControl) CancelNotice(id string) (admin.Notice, error) {
	n, err := c.n.Cancel(id)
	if err != nil {
		return admin.Notice{}, noticeError(err)
	}
	return wireNotice(n), nil
}

func (c noticeControl) ClearNotices() int { return c.n.Clear() }

// noticeError gives an imds notice error the control API's kind.
func noticeError(err error) error {
	switch {
	case errors.Is(err, imds.ErrNotApplicable):
		return admin.Errorf(admin.ErrConflict, "%s", err)
	case errors.Is(err, imds.ErrNoNotice):
		return admin.Errorf(admin.ErrNotFound, "%s", err)
	}
	return admin.Errorf(admin.ErrInvalid, "%s", err)
}

func wireNotice(n imds.Notice) admin.Notice {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return admin.Notice{
		ID: n.ID, Kind: n.Kind, Posted: n.Posted, Action: n.Action, Time: at(n.Time),
		NotBefore: at(n.NotBefore), NotAfter: at(n.NotAfter), Code: n.Code, Description: n.Description, State: n.State,
	}
}

// scenarioNotices posts the notices of fault scenario steps on the
// instance and publishes each as a notice event. The instance is set after
// the fault injector is made, before any scenario starts.
type scenarioNotices struct{ c *controlPlane }

func (s scenarioNotices) Fire(r imds.NoticeRequest) (imds.Notice, error) {
	if s.c.inst == nil {
		return imds.Notice{}, errors.New("no instance yet")
	}
	n, err := s.c.inst.Notices().Fire(r)
	if err != nil {
		return n, err
	}
	s.c.hub.Publish(admin.Event{Type: admin.EventNotice, At: n.Posted, Change: "posted", Detail: wireNotice(n)})
	return n, nil
}
