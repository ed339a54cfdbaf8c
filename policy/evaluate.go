package policy

import (
	"fmt"
	"strconv"
)

// Request is one authorization question: may Principal perform Action on
// Resource, given Context?
type Request struct {
	Principal Principal
	// Action is "service:Action", e.g. "s3:GetObject"; matched
	// case-insensitively.
	Action string
	// Resource is the ARN acted on, or "*" for actions without resource-level
	// permissions.
	Resource string
	// ResourceAccount is the account that owns Resource. When empty it is
	// taken from the ARN; when the ARN has none (S3 buckets), the request is
	// treated as same-account.
	ResourceAccount string
	// Context holds the request context keys.
	Context Context
}

// Set is every policy that applies to a request. Nil entries are ignored.
type Set struct {
	// Identity holds the principal's identity-based policies (inline and
	// managed, including those of its groups; for a role session, the role's).
	Identity []*Document
	// Resource holds resource-based policies of the resource acted on.
	Resource []*Document
	// Trust holds the role trust policy when the request is a role
	// assumption (Resource is the role ARN). A trust policy must itself allow
	// the principal: unlike other resource-based policies it is required,
	// not merely sufficient.
	Trust []*Document
	// Boundary holds the permissions boundary of the principal's user or
	// role. When present it must also allow the request.
	Boundary []*Document
	// Session holds the session policies passed when the session was
	// created. When present they must also allow the request.
	Session []*Document
}

// Source names the kind of policy a statement came from.
type Source int

// Policy sources, in evaluation order.
const (
	SourceIdentity Source = iota
	SourceResource
	SourceTrust
	SourceBoundary
	SourceSession
)

func (s Source) String() string {
	switch s {
	case SourceIdentity:
		return "identity-based policy"
	case SourceResource:
		return "resource-based policy"
	case SourceTrust:
		return "role trust policy"
	case SourceBoundary:
		return "permissions boundary"
	case SourceSession:
		return "session policy"
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// Reason classifies a decision.
type Reason int

const (
	// ImplicitDeny: nothing denied the request, but what must allow it did
	// not. The zero value, as AWS denies by default.
	ImplicitDeny Reason = iota
	// ExplicitDeny: a Deny statement matched. Nothing overrides it.
	ExplicitDeny
	// Allowed: the request is allowed.
	Allowed
)

func (r Reason) String() string {
	switch r {
	case ImplicitDeny:
		return "implicitDeny"
	case ExplicitDeny:
		return "explicitDeny"
	case Allowed:
		return "allowed"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// StatementRef identifies a statement that matched the request.
type StatementRef struct {
	Source Source
	// Policy is the document's Name, or "" when it has none.
	Policy string
	// PolicyIndex is the document's index within its Set field.
	PolicyIndex int
	// Index is the statement's 0-based index within the document.
	Index  int
	Sid    string
	Effect Effect
	// Via says how a resource-based or trust policy statement named the
	// principal: "direct" (the principal itself, or "*"), "equivalent" (an
	// equivalent identity such as the session's role), "account" (the
	// principal's account) or "not-principal" (a NotPrincipal that does not
	// exempt it). Empty for other sources.
	Via string
}

// String renders the reference for explanations, e.g.
// `identity-based policy "inline:foo" statement "DenyAll"`. A policy without
// a name is shown by index ("#0"), a statement without a Sid likewise.
func (r StatementRef) String() string {
	policy := " #" + strconv.Itoa(r.PolicyIndex)
	if r.Policy != "" {
		policy = " " + strconv.Quote(r.Policy)
	}
	stmt := " statement #" + strconv.Itoa(r.Index)
	if r.Sid != "" {
		stmt = " statement " + strconv.Quote(r.Sid)
	}
	return r.Source.String() + policy + stmt
}

// Decision is the result of [Evaluate]. A denial is a Decision, not an error.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Matched lists every statement whose action, resource, principal and
	// conditions matched, Allow and Deny alike, in Set order.
	Matched []StatementRef
	// Explanation says why, in the words of an AWS authorization failure,
	// e.g. `explicit deny in identity-based policy "inline:foo" statement
	// "DenyAll"` or `no identity-based policy allows the s3:GetObject action`.
	Explanation string
}

// Message renders the decision the way AWS words an AccessDenied message:
//
//	User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no identity-based policy allows the ACTION action
func (d Decision) Message(req Request) string {
	who := req.Principal.ARN
	if who == "" {
		who = "anonymous"
	}
	if d.Allowed {
		return fmt.Sprintf("User: %s is authorized to perform: %s on resource: %s: %s", who, req.Action, req.Resource, d.Explanation)
	}
	link := "because"
	if d.Reason == ExplicitDeny {
		link = "with an"
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s %s", who, req.Action, req.Resource, link, d.Explanation)
}

// compiledStatement is a statement with its patterns compiled.
type compiledStatement struct {
	src         *Statement
	deny        bool
	actions     []string // lower-cased glob patterns
	notAction   bool
	resources   []arnPattern
	notResource bool
	anyResource bool // no Resource/NotResource: the resource the policy is attached to
	conds       []compiledCondition
}

// evaluator holds the per-request state of one Evaluate call.
type evaluator struct {
	req   *Request
	pi    principalInfo
	parts [6]string // the resource's, when isARN
	isARN bool
	set   *Set
}

func (e *evaluator) actionMatches(cs *compiledStatement) bool {
	m := false
	for _, p := range cs.actions {
		if globMatch(p, e.req.Action, true) {
			m = true
			break
		}
	}
	return m != cs.notAction
}

func (e *evaluator) resourceMatches(cs *compiledStatement) bool {
	if cs.anyResource {
		return true
	}
	for i := range cs.resources {
		m, ok := cs.resources[i].match(e.req.Resource, &e.parts, e.isARN, &e.req.Context)
		if !ok && cs.notResource {
			return false // an unresolvable NotResource makes the statement inapplicable
		}
		if m {
			return !cs.notResource
		}
	}
	return cs.notResource
}

func (e *evaluator) conditionsHold(cs *compiledStatement) bool {
	for i := range cs.conds {
		if !cs.conds[i].eval(&e.req.Context) {
			return false
		}
	}
	return true
}

// principalMatches applies Principal/NotPrincipal for resource-based and
// trust policies.
func (e *evaluator) principalMatches(cs *compiledStatement) (principalMatch, string) {
	s := cs.src
	switch {
	case s.Principal != nil:
		m := s.Principal.match(&e.pi)
		return m, m.String()
	case s.NotPrincipal != nil && cs.deny:
		// AWS: a Deny with NotPrincipal always applies to a principal that has
		// a permissions boundary, whatever NotPrincipal lists.
		bounded := e.pi.p.Type == PrincipalAWS && !e.pi.isRoot && present(e.set.Boundary) > 0
		if !bounded && s.NotPrincipal.excludes(&e.pi) {
			return matchNone, ""
		}
		return matchDirect, "not-principal"
	}
	return matchNone, "" // a principal-less statement cannot apply here
}

// tally collects the matches of one Source.
type tally struct {
	present   int // non-nil documents
	allow     int // index in Decision.Matched of the first matching Allow, or -1
	best      principalMatch
	bestAllow int // index of the first Allow with the best principal match
}

func present(docs []*Document) int {
	n := 0
	for _, d := range docs {
		if d != nil {
			n++
		}
	}
	return n
}

// Evaluate decides req against set following AWS's documented evaluation
// logic for a single account and across accounts:
//
//  1. An explicit Deny in any policy wins.
//  2. Otherwise the request needs an Allow: from an identity-based policy
//     (further limited by the permissions boundary and session policies
//     when present), or from a resource-based policy. A resource-based
//     policy in the same account that names the principal itself (user ARN,
//     session ARN, or "*") allows on its own; one that names an equivalent
//     identity (the session's role) is still limited by the boundary and
//     session policies; one that names only the account defers to the
//     identity-based policies. Across accounts both sides must allow.
//  3. A role trust policy (Set.Trust) must allow the principal in every case.
//  4. The account root user is allowed in its own account unless denied.
//  5. A federated-user session without a session policy has no permissions
//     beyond resource-based policies that name it.
//  6. A root-only task ([RootOnly]) is denied to every AWS principal but the
//     account's root user, whatever the policies allow.
//
// Evaluate never fails: a malformed request simply matches nothing.
func Evaluate(req Request, set Set) Decision {
	e := evaluator{req: &req, pi: newPrincipalInfo(&req.Principal), set: &set}
	e.parts, e.isARN = arnSegments(req.Resource)

	var d Decision
	var denies []int // indexes into d.Matched
	t := [5]tally{{allow: -1}, {allow: -1}, {allow: -1}, {allow: -1}, {allow: -1}}
	for src, docs := range [...][]*Document{set.Identity, set.Resource, set.Trust, set.Boundary, set.Session} {
		source := Source(src)
		principalBased := source == SourceResource || source == SourceTrust
		for di, doc := range docs {
			if doc == nil {
				continue
			}
			t[src].present++
			for si := range doc.compiled {
				cs := &doc.compiled[si]
				if !e.actionMatches(cs) || !e.resourceMatches(cs) {
					continue
				}
				pm, via := matchDirect, ""
				if principalBased {
					if pm, via = e.principalMatches(cs); pm == matchNone {
						continue
					}
				}
				if !e.conditionsHold(cs) {
					continue
				}
				eff := Allow
				if cs.deny {
					eff = Deny
				}
				if d.Matched == nil {
					d.Matched = make([]StatementRef, 0, 4)
				}
				d.Matched = append(d.Matched, StatementRef{
					Source: source, Policy: doc.name, PolicyIndex: di, Index: si,
					Sid: cs.src.Sid, Effect: eff, Via: via,
				})
				if cs.deny {
					denies = append(denies, len(d.Matched)-1)
					continue
				}
				idx := len(d.Matched) - 1
				if t[src].allow < 0 {
					t[src].allow = idx
				}
				if pm > t[src].best {
					t[src].best, t[src].bestAllow = pm, idx
				}
			}
		}
	}
	if len(denies) > 0 {
		d.Reason = ExplicitDeny
		d.Explanation = "explicit deny in " + d.Matched[denies[0]].String()
		return d
	}
	e.decideAllow(&d, &t)
	if task, ok := RootOnly(req.Action); ok && !e.pi.isRoot && req.Principal.Type == PrincipalAWS {
		d.Allowed, d.Reason, d.Explanation = false, ImplicitDeny, rootOnlyDenial(req.Action, task)
	}
	return d
}

// decideAllow fills in d when no Deny matched.
func (e *evaluator) decideAllow(d *Decision, t *[5]tally) {
	action := e.req.Action
	id, res, trust, bnd, sess := &t[SourceIdentity], &t[SourceResource], &t[SourceTrust], &t[SourceBoundary], &t[SourceSession]
	pi := &e.pi

	boundaryOK := bnd.present == 0 || bnd.allow >= 0
	sessionOK := sess.allow >= 0
	if sess.present == 0 {
		sessionOK = !pi.fedUser
	}
	aws := pi.p.Type == PrincipalAWS
	// permsPath: the caller's own side allows (identity ∩ boundary ∩ session).
	permsPath := aws && (pi.isRoot || (id.allow >= 0 && boundaryOK && sessionOK))
	// limitedPath: boundary and session allow, for grants to an equivalent identity.
	limitedPath := aws && (pi.isRoot || (boundaryOK && sessionOK))

	resAcct := e.req.ResourceAccount
	if resAcct == "" && e.isARN {
		resAcct = e.parts[4]
	}
	same := resAcct == "" || pi.account == "" || resAcct == pi.account

	ref := func(i int) string { return d.Matched[i].String() }
	allow := func(why string) {
		d.Allowed, d.Reason, d.Explanation = true, Allowed, why
	}
	deny := func(why string) {
		d.Allowed, d.Reason, d.Explanation = false, ImplicitDeny, why
	}
	// callerSideReason explains why the caller's own policies do not allow.
	callerSideReason := func(needIdentity bool) string {
		switch {
		case !aws:
			return "no resource-based policy allows the " + action + " action"
		case needIdentity && id.allow < 0:
			return "no identity-based policy allows the " + action + " action"
		case !boundaryOK:
			return "no permissions boundary allows the " + action + " action"
		case !sessionOK && sess.present == 0:
			return "no session policy allows the " + action + " action (a federated user session without a session policy has no permissions)"
		case !sessionOK:
			return "no session policy allows the " + action + " action"
		}
		return "no identity-based policy allows the " + action + " action"
	}
	grant := func(via principalMatch) (bool, string) {
		switch {
		case !aws:
			return via != matchNone, ""
		case !same:
			return permsPath, callerSideReason(true)
		case via == matchDirect:
			return true, ""
		case via == matchEquivalent:
			return limitedPath, callerSideReason(false)
		}
		return permsPath, callerSideReason(true)
	}

	if trust.present > 0 {
		if trust.allow < 0 {
			who := pi.p.ARN
			if who == "" {
				who = "the principal"
			}
			deny("no role trust policy allows " + who + " to perform the " + action + " action")
			return
		}
		ok, why := grant(trust.best)
		if !ok {
			deny(why)
			return
		}
		msg := "allowed by " + ref(trust.bestAllow)
		if aws && (!same || trust.best == matchAccount) && !pi.isRoot {
			msg += " and " + ref(id.allow)
		}
		allow(msg)
		return
	}

	if !aws {
		if res.allow >= 0 {
			allow("allowed by " + ref(res.bestAllow))
			return
		}
		deny("no resource-based policy allows the " + action + " action")
		return
	}
	if pi.isRoot && same {
		allow("allowed: the principal is the root user of account " + pi.account + " and no policy denies the request")
		return
	}
	if !same {
		if !permsPath {
			deny(callerSideReason(true))
			return
		}
		if res.allow < 0 {
			deny("no resource-based policy allows the " + action + " action (cross-account access needs an allow in both accounts)")
			return
		}
		msg := "allowed by " + ref(res.bestAllow)
		if !pi.isRoot {
			msg += " and " + ref(id.allow)
		}
		allow(msg)
		return
	}
	if res.allow >= 0 && res.best != matchAccount {
		if ok, _ := grant(res.best); ok {
			allow("allowed by " + ref(res.bestAllow))
			return
		}
	}
	if permsPath {
		allow("allowed by " + ref(id.allow))
		return
	}
	if res.allow >= 0 && res.best == matchEquivalent {
		_, why := grant(res.best)
		deny(why)
		return
	}
	deny(callerSideReason(true))
}
