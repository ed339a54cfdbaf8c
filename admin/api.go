package admin

import (
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// The named request and answer bodies of the control API, shared by the
// Server and the Client. Their JSON is pinned by testdata/wire.golden and
// documented in docs/admin-api.md. The options, profiles, attachment and
// generations are MetadataOptions, Profile, Attachment and GenerationInfo;
// fault rules and scenarios are the fault package's Rule, Status, Scenario
// and ScenarioStatus.

// FaultList is the answer of GET /v1/faults.
type FaultList struct {
	Faults []fault.Status `json:"faults"`
}

// ScenarioList is the answer of GET /v1/scenarios.
type ScenarioList struct {
	Scenarios []fault.ScenarioStatus `json:"scenarios"`
}

// ProfileList is the answer of GET /v1/profiles.
type ProfileList struct {
	Profiles []Profile `json:"profiles"`
}

// GenerationList is the answer of GET /v1/generations and of
// GET /v1/profiles/{profile}/generations.
type GenerationList struct {
	Generations []GenerationInfo `json:"generations"`
}

// Removed is the answer of DELETE /v1/faults and of DELETE /v1/notices, and
// the detail of their faults_cleared and notice "cleared" events: how many
// rules or notices were removed.
type Removed struct {
	Removed int `json:"removed"`
}

// AttachRequest is the body of PUT /v1/attachment.
type AttachRequest struct {
	// Role is the name of a role in the instance's account.
	Role string `json:"role"`
}

// Rotation statuses of RotateResult.
const (
	RotationRequested = "rotation requested"
	RotationPending   = "rotation requested; no new generation yet"
	Rotated           = "rotated"
)

// RotateResult is the answer of POST /v1/profiles/{profile}/rotate. With
// ?wait=true and a new generation minted in time, Status is Rotated and the
// generation's Seq, AccessKeyID and Expires are set; otherwise Status is
// RotationRequested or RotationPending and they are left out.
// (The fields are in the order the API has always written them.)
type RotateResult struct {
	AccessKeyID string     `json:"access_key_id,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	Profile     string     `json:"profile"`
	Seq         uint64     `json:"seq,omitempty"`
	Status      string     `json:"status"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	// Fields lists each invalid field of a rejected body (400).
	Fields []FieldError `json:"fields,omitempty"`
}

// FieldError is one invalid field of a rejected request body.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// The details of options_changed events, by Change.

// FaultRemoved is the detail of a fault_removed event.
type FaultRemoved struct {
	ID string `json:"id"`
}

// ScenarioChange is the detail of the scenario_defined, scenario_started and
// scenario_stopped events.
type ScenarioChange struct {
	Name string `json:"name"`
}

// ProfileChange is the detail of the rotate_requested, rotation_frozen and
// rotation_unfrozen events.
type ProfileChange struct {
	Profile string `json:"profile"`
}
