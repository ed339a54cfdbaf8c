package instance

import (
	"errors"
	"time"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/imds"
)

// Notices are the instance's notices: a Spot interruption, a rebalance
// recommendation, maintenance events and the Auto Scaling target
// lifecycle state, which its metadata server serves (imds.Options.Notices)
// and the control API and fault scenarios post. They follow the
// instance's metadata: Spot notices only for a Spot instance, a lifecycle
// state only in an Auto Scaling group.
func (in *Instance) Notices() *imds.Notices { return in.notices }

// NoticeControl is the instance's notices as the control API sees them
// (admin.Notices).
func (in *Instance) NoticeControl() NoticeControl { return NoticeControl{in.notices} }

// NoticeControl adapts imds.Notices to admin.Notices: wire notices, and
// errors of the kind the control API answers with (a notice that does not
// apply to the instance is a conflict, an unknown id not found, the rest
// invalid).
type NoticeControl struct{ n *imds.Notices }

var _ admin.Notices = NoticeControl{}

// Notices lists the posted notices.
func (c NoticeControl) Notices() []admin.Notice {
	var out []admin.Notice
	for _, n := range c.n.List() {
		out = append(out, AdminNotice(n))
	}
	return out
}

// FireNotice posts the notice r asks for.
func (c NoticeControl) FireNotice(r fault.Notice) (admin.Notice, error) {
	n, err := c.n.Fire(r.Request())
	if err != nil {
		return admin.Notice{}, noticeError(err)
	}
	return AdminNotice(n), nil
}

// CancelNotice withdraws notice id (cancels a maintenance event).
func (c NoticeControl) CancelNotice(id string) (admin.Notice, error) {
	n, err := c.n.Cancel(id)
	if err != nil {
		return admin.Notice{}, noticeError(err)
	}
	return AdminNotice(n), nil
}

// ClearNotices withdraws every notice and returns how many there were.
func (c NoticeControl) ClearNotices() int { return c.n.Clear() }

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

// AdminNotice is n as the control API and its events show it: times EC2
// does not give for n's kind are left out.
func AdminNotice(n imds.Notice) admin.Notice {
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
