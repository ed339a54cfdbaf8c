package instance

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

// trustGate checks, before each mint, that a role's trust policy lets EC2
// (ec2.amazonaws.com) call sts:AssumeRole, and remembers the profiles for
// which it does not, so that the metadata server can serve EC2's error
// document in place of credentials. Reads are lock-free.
type trustGate struct {
	// denials is nil while there are none, so that the request path
	// reads no map. First: the request path reads nothing else.
	denials atomic.Pointer[map[string]denial]
	now     func() time.Time
	mu      sync.Mutex // serialises writers

	// The last trust policy evaluated, as a digest of the role ARN and the
	// document, and the outcome (why not, "" when allowed): a mint whose
	// role is unchanged neither parses nor evaluates the document again,
	// which was a fifth of a mint's CPU. A digest, not the document, so
	// that an instance keeps 16 bytes, not a copy of its role's policy;
	// zero before the first. Guarded by mu.
	lastSum [16]byte
	lastWhy string
}

type denial struct {
	code, message string
	since         time.Time
}

// Documentation link of EC2's AssumeRoleUnauthorizedAccess message.
const rolesTroubleshootingURL = "http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html"

func newTrustGate(now func() time.Time) *trustGate {
	return &trustGate{now: now}
}

// TrustError is the error of a mint refused because the role's trust policy
// does not let EC2 assume it.
type TrustError struct {
	ProfileARN, RoleARN, Why string
}

func (e *TrustError) Error() string {
	return fmt.Sprintf("EC2 cannot assume role %s of instance profile %s: %s", e.RoleARN, e.ProfileARN, e.Why)
}

// check evaluates role's trust policy for ec2.amazonaws.com and records
// the outcome for profileARN.
func (g *trustGate) check(profileARN string, role rolestore.Role) error {
	full := sha256.Sum256([]byte(role.ARN() + "\x00" + role.TrustPolicy))
	sum := [16]byte(full[:16])
	g.mu.Lock()
	defer g.mu.Unlock()
	why := g.lastWhy
	if g.lastSum != sum {
		why = trustWhy(role)
		g.lastSum, g.lastWhy = sum, why
	}
	var old map[string]denial
	if p := g.denials.Load(); p != nil {
		old = *p
	}
	if _, was := old[profileARN]; was == (why != "") {
		// Unchanged; a standing denial keeps the time it began.
	} else {
		m := maps.Clone(old)
		if m == nil {
			m = map[string]denial{}
		}
		if why == "" {
			delete(m, profileARN)
		} else {
			m[profileARN] = denial{
				code: "AssumeRoleUnauthorizedAccess",
				// EC2's wording, as seen on instances whose role does not trust EC2.
				message: "EC2 cannot assume the role " + role.Name + ". Please see documentation at " + rolesTroubleshootingURL + ".",
				since:   g.now().UTC().Truncate(time.Second),
			}
		}
		if len(m) == 0 {
			g.denials.Store(nil)
		} else {
			g.denials.Store(&m)
		}
	}
	if why != "" {
		return &TrustError{ProfileARN: profileARN, RoleARN: role.ARN(), Why: why}
	}
	return nil
}

// trustWhy evaluates role's trust policy for ec2.amazonaws.com calling
// sts:AssumeRole: "" when allowed, else why not.
func trustWhy(role rolestore.Role) string {
	doc, err := policy.Parse([]byte(role.TrustPolicy), policy.KindTrust)
	if err != nil {
		return "its trust policy is not valid: " + err.Error()
	}
	d := policy.Evaluate(policy.Request{
		Principal: policy.Principal{Type: policy.PrincipalService, ARN: "ec2.amazonaws.com"},
		Action:    "sts:AssumeRole",
		Resource:  role.ARN(),
	}, policy.Set{Trust: []*policy.Document{doc}})
	if !d.Allowed {
		return d.Explanation
	}
	return ""
}

// denied reports whether the last mint for profileARN was refused by the
// role's trust policy.
func (g *trustGate) denied(profileARN string) bool {
	p := g.denials.Load()
	if p == nil {
		return false
	}
	_, ok := (*p)[profileARN]
	return ok
}

// attachment returns att with EC2's error document as its credentials when
// the role's trust policy refuses EC2.
func (g *trustGate) attachment(att *attached) (imds.Attachment, bool) {
	p := g.denials.Load()
	if p == nil || att.Role == "" {
		return imds.Attachment{}, false
	}
	d, ok := (*p)[att.ProfileARN]
	if !ok {
		return imds.Attachment{}, false
	}
	a := att.imds()
	a.Error = &imds.ErrorDocument{Code: d.code, Message: d.message, Since: d.since}
	return a, true
}
