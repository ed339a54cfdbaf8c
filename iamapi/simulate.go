package iamapi

import (
	"errors"
	"strconv"
	"strings"

	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/sts"
)

// Simulate*: the policy engine answers, as it answers every real request.
// Positions of matched statements in their documents are not reported.

type xmlStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
}

type xmlBoundaryDetail struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type xmlEvaluation struct {
	EvalActionName                    string                `xml:"EvalActionName"`
	EvalResourceName                  string                `xml:"EvalResourceName"`
	EvalDecision                      string                `xml:"EvalDecision"`
	MatchedStatements                 members[xmlStatement] `xml:"MatchedStatements"`
	MissingContextValues              members[string]       `xml:"MissingContextValues"`
	PermissionsBoundaryDecisionDetail *xmlBoundaryDetail    `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type simulateResult struct {
	EvaluationResults members[xmlEvaluation] `xml:"EvaluationResults"`
	IsTruncated       bool                   `xml:"IsTruncated"`
	Marker            string                 `xml:"Marker,omitempty"`
}

// simulation is what both Simulate actions evaluate.
type simulation struct {
	principal policy.Principal
	set       policy.Set
	actions   []string
	resources []string
	context   policy.Context
	pg        page
}

// readSimulation reads the parameters both actions share: the extra
// policies, boundary policies, actions, resources, resource policy and
// context entries.
func (s *Server) readSimulation(rc *request, v *validation, inputsRequired bool) simulation {
	var sim simulation
	inputs := rc.p.list("PolicyInputList", v)
	if inputsRequired && len(inputs) == 0 {
		v.Missing("policyInputList")
	}
	for i, doc := range inputs {
		d, e := parseInput(doc, policy.KindManaged, "PolicyInputList."+strconv.Itoa(i+1))
		if e != nil {
			v.Add(e.Msg)
			continue
		}
		sim.set.Identity = append(sim.set.Identity, d)
	}
	for i, doc := range rc.p.list("PermissionsBoundaryPolicyInputList", v) {
		d, e := parseInput(doc, policy.KindBoundary, "PermissionsBoundaryPolicyInputList."+strconv.Itoa(i+1))
		if e != nil {
			v.Add(e.Msg)
			continue
		}
		sim.set.Boundary = append(sim.set.Boundary, d)
	}
	sim.actions = rc.p.list("ActionNames", v)
	if len(sim.actions) == 0 {
		v.Missing("actionNames")
	}
	sim.resources = rc.p.list("ResourceArns", v)
	if len(sim.resources) == 0 {
		sim.resources = []string{"*"}
	}
	if doc := v.str(rc.p, "ResourcePolicy", false, document); doc != "" {
		d, e := parseInput(doc, policy.KindResource, "ResourcePolicy")
		if e != nil {
			v.Add(e.Msg)
		} else {
			sim.set.Resource = append(sim.set.Resource, d)
		}
	}
	for _, e := range rc.p.members("ContextEntries", v) {
		name := e["ContextKeyName"]
		if name == "" {
			v.Missing("contextEntries.member.contextKeyName")
			continue
		}
		sim.context.Set(name, sublist(e, "ContextKeyValues")...)
	}
	sim.pg = v.page(rc.p)
	return sim
}

// parseInput parses a policy given to a simulation; its name is where it
// came from, as AWS names it in MatchedStatements.
func parseInput(doc string, kind policy.Kind, name string) (*policy.Document, *Error) {
	d, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: kind, Name: name})
	if err != nil {
		return nil, errMalformedPolicy("%s: %v", name, strings.TrimPrefix(err.Error(), "policy: "))
	}
	return d, nil
}

// run evaluates every action on every resource.
func (sim simulation) run() simulateResult {
	var out []xmlEvaluation
	for _, act := range sim.actions {
		for _, res := range sim.resources {
			pc := sim.context.Clone()
			policy.SetPrincipalKeys(&pc, sim.principal)
			req := policy.Request{Principal: sim.principal, Action: act, Resource: res, Context: pc}
			dec := policy.Evaluate(req, sim.set)
			x := xmlEvaluation{EvalActionName: act, EvalResourceName: res, EvalDecision: dec.Reason.String(),
				MatchedStatements: list([]xmlStatement{}), MissingContextValues: list([]string{})}
			for _, m := range dec.Matched {
				x.MatchedStatements.Member = append(x.MatchedStatements.Member, xmlStatement{SourcePolicyID: m.Policy, SourcePolicyType: sourceType(m)})
			}
			if len(sim.set.Boundary) > 0 {
				bdec := policy.Evaluate(req, policy.Set{Identity: sim.set.Boundary})
				x.PermissionsBoundaryDecisionDetail = &xmlBoundaryDetail{AllowedByPermissionsBoundary: bdec.Allowed}
			}
			out = append(out, x)
		}
	}
	items, trunc, marker := paginate(out, sim.pg)
	return simulateResult{EvaluationResults: list(items), IsTruncated: trunc, Marker: marker}
}

// sourceType is SourcePolicyType as IAM's simulator names it.
func sourceType(m policy.StatementRef) string {
	name := m.Policy
	switch {
	case m.Source == policy.SourceResource:
		return "resource"
	case strings.HasPrefix(name, "PolicyInputList"), strings.HasPrefix(name, "PermissionsBoundaryPolicyInputList"):
		return "IAM Policy"
	case strings.Contains(name, "arn:aws:iam::aws:policy/"):
		return "aws-managed"
	case strings.Contains(name, ":policy/"):
		return "user-managed"
	case strings.HasPrefix(name, "group/"):
		return "group"
	}
	return "none"
}

// simulatePrincipalPolicy evaluates the policies of a user or role of the
// account (those of its groups too, and its permissions boundary) with the
// extra policies given.
func (s *Server) simulatePrincipalPolicy(rc *request) (any, *Error) {
	var v validation
	source := v.str(rc.p, "PolicySourceArn", true, arnShape)
	sim := s.readSimulation(rc, &v, false)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:SimulatePrincipalPolicy", source); e != nil {
		return nil, e
	}
	p, set, err := s.auth.PermissionsOf(rc.ctx, source)
	switch {
	case errors.Is(err, sts.ErrNotPrincipal):
		return nil, errInvalidInput("PolicySourceArn %s is not the ARN of a user or role of this account: imdsemu simulates users and roles (for a group, simulate one of its users).", source)
	case err != nil:
		return nil, s.storeError(rc, err, "Entity "+source+" does not exist.")
	case p.Account != rc.account():
		return nil, errNoSuchEntity("Entity %s does not exist.", source)
	}
	sim.principal = p
	sim.set.Identity = append(set.Identity, sim.set.Identity...)
	if len(sim.set.Boundary) == 0 {
		sim.set.Boundary = set.Boundary
	}
	return sim.run(), nil
}

// simulateCustomPolicy evaluates the given policies alone, for the caller
// as principal unless CallerArn names another.
func (s *Server) simulateCustomPolicy(rc *request) (any, *Error) {
	var v validation
	callerARN := v.str(rc.p, "CallerArn", false, arnShape)
	sim := s.readSimulation(rc, &v, true)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:SimulateCustomPolicy", "*"); e != nil {
		return nil, e
	}
	sim.principal = rc.caller.Principal()
	if callerARN != "" {
		p, err := policy.AWSPrincipal(callerARN, rc.account())
		if err != nil {
			return nil, errInvalidInput("CallerArn %s is not the ARN of an IAM user or role.", callerARN)
		}
		sim.principal = p
	}
	return sim.run(), nil
}
