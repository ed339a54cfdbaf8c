package instance

import "github.com/imdsemu/imdsemu/imds"

// Notices are the instance's notices: a Spot interruption, a rebalance
// recommendation, maintenance events and the Auto Scaling target
// lifecycle state, which its metadata server serves (imds.Options.Notices)
// and the control API and fault scenarios post. They follow the
// instance's metadata: Spot notices only for a Spot instance, a lifecycle
// state only in an Auto Scaling group.
func (in *Instance) Notices() *imds.Notices { return in.notices }
