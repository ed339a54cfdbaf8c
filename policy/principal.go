package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// PrincipalType says which kind of identity made a request. It selects which
// key of a policy's Principal element can name the principal.
type PrincipalType int

const (
	// PrincipalAWS is an IAM user, role session, federated user or account
	// root; named under "AWS".
	PrincipalAWS PrincipalType = iota
	// PrincipalService is an AWS service such as "ec2.amazonaws.com"; named
	// under "Service".
	PrincipalService
	// PrincipalFederated is a web-identity or SAML provider; named under
	// "Federated".
	PrincipalFederated
	// PrincipalCanonicalUser is an S3 canonical user ID; named under
	// "CanonicalUser".
	PrincipalCanonicalUser
	// PrincipalAnonymous is an unauthenticated caller; only "*" names it.
	PrincipalAnonymous
)

func (t PrincipalType) String() string {
	switch t {
	case PrincipalAWS:
		return "AWS"
	case PrincipalService:
		return "Service"
	case PrincipalFederated:
		return "Federated"
	case PrincipalCanonicalUser:
		return "CanonicalUser"
	case PrincipalAnonymous:
		return "Anonymous"
	}
	return fmt.Sprintf("PrincipalType(%d)", int(t))
}

// Principal is the identity making a request, with every name it answers to.
type Principal struct {
	Type PrincipalType
	// ARN is the principal's own identity: for PrincipalAWS the IAM user ARN,
	// the assumed-role session ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION),
	// the federated-user ARN, or the account root ARN; for other types the
	// service name, provider, or canonical user ID.
	ARN string
	// Equivalent lists other identities the principal also answers to. For
	// an assumed-role session, pass the role's ARN
	// (arn:aws:iam::ACCOUNT:role/PATH/NAME): a policy naming the role then
	// matches the session. For a federated-user session, pass the ARN of the
	// IAM user that called GetFederationToken.
	Equivalent []string
	// Account is the principal's 12-digit account ID. When empty it is taken
	// from ARN.
	Account string
}

// ARNs returns ARN followed by Equivalent.
func (p Principal) ARNs() []string {
	out := make([]string, 0, 1+len(p.Equivalent))
	if p.ARN != "" {
		out = append(out, p.ARN)
	}
	return append(out, p.Equivalent...)
}

// principalInfo is derived once per Evaluate.
type principalInfo struct {
	p         *Principal
	account   string
	partition string
	rootARN   string // arn:PARTITION:iam::ACCOUNT:root; see root()
	isRoot    bool
	fedUser   bool // federated-user session (GetFederationToken)
	anonymous bool
}

func newPrincipalInfo(p *Principal) principalInfo {
	pi := principalInfo{p: p, account: p.Account, anonymous: p.Type == PrincipalAnonymous}
	if p.Type != PrincipalAWS {
		return pi
	}
	parts, isARN := arnSegments(p.ARN)
	partition := "aws"
	if isARN {
		partition = parts[1]
		if pi.account == "" {
			pi.account = parts[4]
		}
		switch {
		case parts[2] == "iam" && parts[5] == "root":
			pi.isRoot = true
		case parts[2] == "sts" && strings.HasPrefix(parts[5], "federated-user/"):
			pi.fedUser = true
		}
	}
	pi.partition = partition
	return pi
}

// root returns the account root ARN ("" when the account is unknown),
// building it on first use.
func (pi *principalInfo) root() string {
	if pi.rootARN == "" && pi.account != "" {
		pi.rootARN = "arn:" + pi.partition + ":iam::" + pi.account + ":root"
	}
	return pi.rootARN
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// All is set when the element is the string "*" (everyone, including
	// anonymous callers; the same as {"AWS": "*"}).
	All           bool
	AWS           []string
	Federated     []string
	Service       []string
	CanonicalUser []string
}

func (ps *Principals) clone() *Principals {
	if ps == nil {
		return nil
	}
	return &Principals{
		All:           ps.All,
		AWS:           slices.Clone(ps.AWS),
		Federated:     slices.Clone(ps.Federated),
		Service:       slices.Clone(ps.Service),
		CanonicalUser: slices.Clone(ps.CanonicalUser),
	}
}

// principalMatch says how a Principal element named the caller.
type principalMatch int

const (
	matchNone       principalMatch = iota
	matchAccount                   // names the caller's account (delegation)
	matchEquivalent                // names an equivalent identity (e.g. the role of a session)
	matchDirect                    // names the caller itself, or everyone ("*")
)

func (m principalMatch) String() string {
	switch m {
	case matchAccount:
		return "account"
	case matchEquivalent:
		return "equivalent"
	case matchDirect:
		return "direct"
	}
	return "none"
}

// validatePrincipalValue checks one entry of a Principal element.
func validatePrincipalValue(typ, v string) error {
	if v == "" {
		return fmt.Errorf("%s principal must not be empty", typ)
	}
	if v == "*" {
		return nil
	}
	if strings.ContainsAny(v, "*?") {
		return fmt.Errorf("%s principal %q is not valid: wildcards are allowed only as the whole value \"*\"", typ, v)
	}
	if strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("%s principal %q is not valid: it contains whitespace", typ, v)
	}
	if typ == "AWS" && !isAccountID(v) {
		a, err := arn.Parse(v)
		if err != nil || (a.Service != "iam" && a.Service != "sts") {
			return fmt.Errorf("AWS principal %q is not valid: use a 12-digit account ID, an IAM or STS ARN, or \"*\"", v)
		}
	}
	return nil
}

func isAccountID(s string) bool { return len(s) == 12 && allDigits(s) }

// match reports how ps names the caller.
func (ps *Principals) match(pi *principalInfo) principalMatch {
	if ps.All {
		return matchDirect
	}
	p := pi.p
	var list []string
	fold := false
	switch p.Type {
	case PrincipalAWS:
		list = ps.AWS
	case PrincipalAnonymous:
		if slices.Contains(ps.AWS, "*") {
			return matchDirect
		}
		return matchNone
	case PrincipalService:
		list, fold = ps.Service, true
	case PrincipalFederated:
		list = ps.Federated
	case PrincipalCanonicalUser:
		list = ps.CanonicalUser
	}
	best := matchNone
	for _, v := range list {
		m := matchNone
		switch {
		case v == "*":
			m = matchDirect
		case p.ARN != "" && (v == p.ARN || (fold && strings.EqualFold(v, p.ARN))):
			m = matchDirect
		case slices.Contains(p.Equivalent, v):
			m = matchEquivalent
		case p.Type == PrincipalAWS && pi.account != "" && (v == pi.account || isRootOf(v, pi.account)):
			m = matchAccount
		}
		if pi.isRoot && m == matchAccount {
			m = matchDirect // the root user is the account principal itself
		}
		best = max(best, m)
	}
	return best
}

// isRootOf reports whether v is "arn:PARTITION:iam::ACCOUNT:root".
func isRootOf(v, account string) bool {
	a, err := arn.Parse(v)
	return err == nil && a.Service == "iam" && a.AccountID == account && a.Resource == "root"
}

// excludes reports whether a NotPrincipal element exempts the caller: every
// identity the caller answers to (itself, its equivalents and its account)
// must be listed, as AWS evaluates each of them in turn.
func (ps *Principals) excludes(pi *principalInfo) bool {
	if ps.All {
		return true
	}
	p := pi.p
	var list []string
	fold := false
	switch p.Type {
	case PrincipalAWS, PrincipalAnonymous:
		list = ps.AWS
	case PrincipalService:
		list, fold = ps.Service, true
	case PrincipalFederated:
		list = ps.Federated
	case PrincipalCanonicalUser:
		list = ps.CanonicalUser
	}
	if slices.Contains(list, "*") {
		return true
	}
	listed := func(id string) bool {
		for _, v := range list {
			if v == id || (fold && strings.EqualFold(v, id)) {
				return true
			}
			if p.Type == PrincipalAWS && id == pi.root() && (v == pi.account || isRootOf(v, pi.account)) {
				return true
			}
		}
		return false
	}
	ids := 0
	if p.ARN != "" {
		ids++
		if !listed(p.ARN) && !(pi.isRoot && listed(pi.root())) {
			return false
		}
	}
	for _, e := range p.Equivalent {
		ids++
		if !listed(e) {
			return false
		}
	}
	if p.Type == PrincipalAWS && pi.root() != "" && !pi.isRoot {
		ids++
		if !listed(pi.root()) {
			return false
		}
	}
	return ids > 0
}
