package fault

import (
	"errors"
	"time"

	"github.com/imdsemu/imdsemu/imds"
)

// Notice is a scenario step that posts an instance notice (a Spot
// interruption, a rebalance recommendation, a maintenance event or an Auto
// Scaling lifecycle state), as `imdsemu notice` does, so that a timeline
// can say "a Spot interruption two minutes after start". The fields are
// imds.NoticeRequest's.
type Notice struct {
	Kind        string   `json:"kind"`
	Action      string   `json:"action,omitempty"`
	In          Duration `json:"in,omitempty"`
	Duration    Duration `json:"duration,omitempty"`
	Code        string   `json:"code,omitempty"`
	Description string   `json:"description,omitempty"`
	State       string   `json:"state,omitempty"`
}

// Request is n as the metadata server's notices take it.
func (n Notice) Request() imds.NoticeRequest {
	return imds.NoticeRequest{
		Kind: n.Kind, Action: n.Action, In: time.Duration(n.In), Duration: time.Duration(n.Duration),
		Code: n.Code, Description: n.Description, State: n.State,
	}
}

// Requires names what the instance needs for n to apply: "spot" (a Spot
// instance) for a Spot interruption or a rebalance recommendation,
// "auto-scaling" (membership of a group) for a lifecycle state, "" for a
// maintenance event.
func (n Notice) Requires() string {
	switch n.Kind {
	case imds.NoticeSpotInterruption, imds.NoticeRebalance:
		return "spot"
	case imds.NoticeASGLifecycle:
		return "auto-scaling"
	}
	return ""
}

// Notifier posts notices; the instance's *imds.Notices is one.
type Notifier interface {
	Fire(imds.NoticeRequest) (imds.Notice, error)
}

// ErrNoNotifier is returned by StartScenario for a scenario with a notice
// step when the Injector has no Options.Notices.
var ErrNoNotifier = errors.New("fault: this server posts no notices")
