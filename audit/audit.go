package audit

import (
	"cmp"
	"slices"
	"time"
)

// Severity ranks a finding. Critical is worst.
type Severity string

const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// rank orders severities, worst first.
func (s Severity) rank() int {
	switch s {
	case Critical:
		return 0
	case High:
		return 1
	case Medium:
		return 2
	}
	return 3
}

// Rule names, stable for scripts (imdsemu audit --json).
const (
	RuleRootAccessKey    = "root-access-key"
	RuleRootNoMFA        = "root-no-mfa"
	RuleUserNoMFA        = "user-no-mfa"
	RuleKeyNotRotated    = "access-key-not-rotated"
	RuleKeyUnused        = "access-key-unused"
	RuleDirectPolicy     = "user-policy-not-via-group"
	RuleWildcardGrant    = "wildcard-grant"
	RuleAdminOnUser      = "admin-policy-on-user"
	RuleIMDSv1           = "imdsv1-calls"
	RuleKeyWhereRole     = "long-term-key-where-role-available"
	RuleOpenWebIdentity  = "web-identity-trust-without-audience"
	MaxKeyAge            = 90 * 24 * time.Hour
	AdministratorAccess  = "arn:aws:iam::aws:policy/AdministratorAccess"
	noteKeyUseSinceStart = "imdsemu keeps key use in memory: never used means not since the server started"
)

// Finding is one problem, with what to do about it.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Account  string   `json:"account,omitempty"`
	// Subject is what the finding is about: an ARN, an access key id, an
	// instance id.
	Subject string `json:"subject"`
	// Detail says what was found; Fix what to do.
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Report is the audit's result: the findings, worst first.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// KeyUseSince is when the server began recording key use (its start),
	// omitted when unknown.
	KeyUseSince *time.Time `json:"key_use_since,omitempty"`
	Findings    []Finding  `json:"findings"`
	// Counts are the findings by severity.
	Counts map[Severity]int `json:"counts"`
}

// Input is what the rules read: the IAM model of every account and what
// the server saw. Gather builds it; tests write it by hand.
type Input struct {
	Now time.Time
	// KeyUseSince is when key use began to be recorded; zero: unknown.
	KeyUseSince time.Time
	Accounts    []Account
	Instances   []Instance
}

// Account is one account's IAM model.
type Account struct {
	ID       string
	RootKeys []Key
	RootMFA  bool
	Users    []User
	Groups   []Group
	Roles    []Role
	// Policies are the customer managed policies, with their default
	// version's document.
	Policies []ManagedPolicy
}

// User is an IAM user.
type User struct {
	Name, ARN string
	MFA       bool
	Keys      []Key
	// Inline are the user's inline policies, name -> document; Managed the
	// ARNs of the managed policies attached to it directly.
	Inline  map[string]string
	Managed []string
	Groups  []string
}

// Group is an IAM group.
type Group struct {
	Name, ARN string
	Inline    map[string]string
	Managed   []string
}

// Role is an IAM role.
type Role struct {
	Name, ARN string
	// Trust is the trust policy document.
	Trust   string
	Inline  map[string]string
	Managed []string
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	ARN, Name, Document string
}

// Key is a long-term access key.
type Key struct {
	ID      string
	Active  bool
	Created time.Time
	// LastUsed is nil when the key has not been used (since KeyUseSince).
	LastUsed *KeyUse
}

// KeyUse is what the server knows about a key's use.
type KeyUse struct {
	At time.Time
	// Service is "sts" or "iam"; Region the signature's region.
	Service, Region string
	// From are the instances whose metadata the addresses the key was
	// used from reach (Fleet.InstanceFor), with those addresses.
	From []KeySource
}

// KeySource is an address a key was used from and the instance it routes
// to ("" when none).
type KeySource struct {
	Address, Instance string
}

// Instance is an emulated EC2 instance.
type Instance struct {
	ID, Account string
	// Role is the ARN of the instance profile's role, "" when none.
	Role string
	// NoTokenRequests counts the metadata requests its clients answered
	// without an IMDSv2 token, by client address.
	NoTokenRequests map[string]uint64
}

// Run applies every rule to in and returns the report, findings worst
// first, then by rule, account and subject.
func Run(in Input) Report {
	var fs []Finding
	for _, a := range in.Accounts {
		fs = append(fs, rootRules(a)...)
		fs = append(fs, userRules(in, a)...)
		fs = append(fs, policyRules(a)...)
		fs = append(fs, trustRules(a)...)
	}
	fs = append(fs, instanceRules(in)...)
	slices.SortFunc(fs, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(x.Severity.rank(), y.Severity.rank()), cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Account, y.Account), cmp.Compare(x.Subject, y.Subject))
	})
	r := Report{GeneratedAt: in.Now, Findings: fs, Counts: map[Severity]int{}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if !in.KeyUseSince.IsZero() {
		t := in.KeyUseSince
		r.KeyUseSince = &t
	}
	for _, f := range fs {
		r.Counts[f.Severity]++
	}
	return r
}
