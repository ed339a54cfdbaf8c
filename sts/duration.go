package sts

import (
	"fmt"
	"time"
)

// Action names how a session was created. It is sealed into the token and
// decides the session's lifetime limits.
type Action string

// Actions that mint sessions.
const (
	ActionAssumeRole                = Action("AssumeRole")
	ActionAssumeRoleWithWebIdentity = Action("AssumeRoleWithWebIdentity")
	ActionAssumeRoleWithSAML        = Action("AssumeRoleWithSAML")
	ActionGetFederationToken        = Action("GetFederationToken")
	ActionGetSessionToken           = Action("GetSessionToken")
	// ActionInstanceProfile is the session EC2 creates for an instance
	// profile's role and serves through IMDS.
	ActionInstanceProfile = Action("InstanceProfile")
)

// Limits is one row of the session duration table.
type Limits struct {
	Default, Min, Max time.Duration
	// RoleMax means the role's MaxSessionDuration replaces Max.
	RoleMax bool
	// RootMax, when set, caps the account root user.
	RootMax time.Duration
	// ChainedMax, when set, caps a session created from another role session.
	ChainedMax time.Duration
}

// Durations is the AWS STS session duration table. Its values come from the STS
// API reference for each action.
//
// Instance-profile sessions are the exception: EC2 creates them itself, so their
// lifetime is not bounded by the role's MaxSessionDuration (a role with the
// default one-hour maximum still gets credentials that live about six hours on
// EC2), and imdsemu lets them be as short as a second so that demos and tests
// can watch hours of rotation in minutes.
var Durations = map[Action]Limits{
	ActionAssumeRole:                {Default: time.Hour, Min: 15 * time.Minute, RoleMax: true, ChainedMax: time.Hour},
	ActionAssumeRoleWithWebIdentity: {Default: time.Hour, Min: 15 * time.Minute, RoleMax: true},
	ActionAssumeRoleWithSAML:        {Default: time.Hour, Min: 15 * time.Minute, RoleMax: true},
	ActionGetFederationToken:        {Default: 12 * time.Hour, Min: 15 * time.Minute, Max: 36 * time.Hour, RootMax: time.Hour},
	ActionGetSessionToken:           {Default: 12 * time.Hour, Min: 15 * time.Minute, Max: 36 * time.Hour, RootMax: time.Hour},
	ActionInstanceProfile:           {Default: 6 * time.Hour, Min: time.Second, Max: 12 * time.Hour},
}

// DurationRequest is what decides a session's lifetime.
type DurationRequest struct {
	Action Action
	// Requested is the DurationSeconds asked for; zero means the default.
	Requested time.Duration
	// RoleMax is the role's MaxSessionDuration; zero means one hour.
	RoleMax time.Duration
	Chained bool // the caller is itself a role session
	Root    bool // the caller is the account root user
}

// DurationError is a requested duration outside the table. Its message is the
// one AWS STS gives for the same request.
type DurationError struct {
	Requested time.Duration
	Msg       string
}

func (e *DurationError) Error() string { return e.Msg }

// SessionDuration applies the table to r and returns the lifetime to use.
func SessionDuration(r DurationRequest) (time.Duration, error) {
	lim, ok := Durations[r.Action]
	if !ok {
		return 0, fmt.Errorf("sts: no duration limits for action %q", r.Action)
	}
	max := lim.Max
	if lim.RoleMax {
		max = r.RoleMax
		if max == 0 {
			max = time.Hour
		}
	}
	secs := int64(r.Requested / time.Second)
	if r.Requested == 0 {
		d := lim.Default
		// Defaults never exceed what the caller could ask for explicitly.
		if r.Root && lim.RootMax != 0 && d > lim.RootMax {
			d = lim.RootMax
		}
		if r.Chained && lim.ChainedMax != 0 && d > lim.ChainedMax {
			d = lim.ChainedMax
		}
		return d, nil
	}
	if r.Requested < lim.Min {
		return 0, &DurationError{r.Requested, fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", secs, int64(lim.Min/time.Second))}
	}
	switch {
	case r.Chained && lim.ChainedMax != 0 && r.Requested > lim.ChainedMax:
		return 0, &DurationError{r.Requested, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."}
	case lim.RoleMax && r.Requested > max:
		return 0, &DurationError{r.Requested, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
	case r.Requested > max:
		return 0, &DurationError{r.Requested, fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", secs, int64(max/time.Second))}
	case r.Root && lim.RootMax != 0 && r.Requested > lim.RootMax:
		// AWS caps the root user's sessions silently rather than failing.
		return lim.RootMax, nil
	}
	return r.Requested, nil
}
