package iamapi

import (
	"sort"
	"strings"

	"github.com/imdsemu/imdsemu/policy"
)

// principal is an IAM identity a policy can be put on or attached to: a
// user, a group or a role, as the Put*Policy, Attach*Policy and List*
// actions of each name it.
type principal struct {
	kind  string // "User", "Group", "Role": in action and parameter names
	shape shape
}

var (
	userKind  = principal{"User", userName}
	groupKind = principal{"Group", groupName}
	roleKind  = principal{"Role", roleName}
)

// entity is a loaded user, group or role: its name as stored, its ARN,
// its inline policies and attached managed policies.
type entity struct {
	name, arn string
	inline    map[string]string
	managed   []string
}

// load reads the principal named by the KindName parameter.
func (s *Server) load(rc *request, k principal, name string) (entity, *Error) {
	switch k.kind {
	case "User":
		u, e := s.loadUser(rc, name, "")
		return entity{u.Name, u.ARN(), u.Policies, u.ManagedPolicies}, e
	case "Group":
		g, e := s.loadGroup(rc, name, "")
		return entity{g.Name, g.ARN(), g.Policies, g.ManagedPolicies}, e
	}
	r, e := s.loadRole(rc, name, "")
	return entity{r.Name, r.ARN(), r.Policies, r.ManagedPolicies}, e
}

// target reads KindName, loads it and authorizes action on it.
func (s *Server) target(rc *request, k principal, v *validation, action string) (entity, *Error) {
	name := v.str(rc.p, k.kind+"Name", true, k.shape)
	if e := v.Err(); e != nil {
		return entity{}, e
	}
	ent, e := s.load(rc, k, name)
	if e != nil {
		return entity{}, e
	}
	if e := s.authorize(rc, action, ent.arn); e != nil {
		return entity{}, e
	}
	return ent, nil
}

func (s *Server) putInlinePolicy(rc *request, k principal) (any, *Error) {
	var v validation
	pname := v.str(rc.p, "PolicyName", true, policyName)
	doc := v.str(rc.p, "PolicyDocument", true, document)
	ent, e := s.target(rc, k, &v, "iam:Put"+k.kind+"Policy")
	if e != nil {
		return nil, e
	}
	kind := map[string]policy.Kind{"User": policy.KindInlineUser, "Group": policy.KindInlineGroup, "Role": policy.KindInlineRole}[k.kind]
	if e := checkPolicy(doc, kind); e != nil {
		return nil, e
	}
	var err error
	switch k.kind {
	case "User":
		err = s.store.PutUserPolicy(rc.ctx, rc.account(), ent.name, pname, doc)
	case "Group":
		err = s.store.PutGroupPolicy(rc.ctx, rc.account(), ent.name, pname, doc)
	default:
		err = s.store.PutRolePolicy(rc.ctx, rc.account(), ent.name, pname, doc)
	}
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return nil, nil
}

// inlineResult is Get{User,Group,Role}PolicyResult: the entity's name
// element is named after its kind.
type inlineResult struct {
	UserName       string `xml:"UserName,omitempty"`
	GroupName      string `xml:"GroupName,omitempty"`
	RoleName       string `xml:"RoleName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (s *Server) getInlinePolicy(rc *request, k principal) (any, *Error) {
	var v validation
	pname := v.str(rc.p, "PolicyName", true, policyName)
	ent, e := s.target(rc, k, &v, "iam:Get"+k.kind+"Policy")
	if e != nil {
		return nil, e
	}
	for n, doc := range ent.inline {
		if strings.EqualFold(n, pname) {
			r := inlineResult{PolicyName: n, PolicyDocument: policyText(doc)}
			switch k.kind {
			case "User":
				r.UserName = ent.name
			case "Group":
				r.GroupName = ent.name
			default:
				r.RoleName = ent.name
			}
			return r, nil
		}
	}
	return nil, errNoSuchEntity("The %s policy with name %s cannot be found.", strings.ToLower(k.kind), pname)
}

type listInlineResult struct {
	PolicyNames members[string] `xml:"PolicyNames"`
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
}

func (s *Server) listInlinePolicies(rc *request, k principal) (any, *Error) {
	var v validation
	pg := v.page(rc.p)
	ent, e := s.target(rc, k, &v, "iam:List"+k.kind+"Policies")
	if e != nil {
		return nil, e
	}
	names := make([]string, 0, len(ent.inline))
	for n := range ent.inline {
		names = append(names, n)
	}
	sort.Strings(names)
	items, trunc, marker := paginate(names, pg)
	return listInlineResult{PolicyNames: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func (s *Server) deleteInlinePolicy(rc *request, k principal) (any, *Error) {
	var v validation
	pname := v.str(rc.p, "PolicyName", true, policyName)
	ent, e := s.target(rc, k, &v, "iam:Delete"+k.kind+"Policy")
	if e != nil {
		return nil, e
	}
	var err error
	switch k.kind {
	case "User":
		err = s.store.DeleteUserPolicy(rc.ctx, rc.account(), ent.name, pname)
	case "Group":
		err = s.store.DeleteGroupPolicy(rc.ctx, rc.account(), ent.name, pname)
	default:
		err = s.store.DeleteRolePolicy(rc.ctx, rc.account(), ent.name, pname)
	}
	if err != nil {
		return nil, s.storeError(rc, err, "The "+strings.ToLower(k.kind)+" policy with name "+pname+" cannot be found.")
	}
	return nil, nil
}

func (s *Server) attachPolicy(rc *request, k principal) (any, *Error) {
	var v validation
	arn := v.str(rc.p, "PolicyArn", true, arnShape)
	ent, e := s.target(rc, k, &v, "iam:Attach"+k.kind+"Policy")
	if e != nil {
		return nil, e
	}
	var err error
	switch k.kind {
	case "User":
		err = s.store.AttachUserPolicy(rc.ctx, rc.account(), ent.name, arn)
	case "Group":
		err = s.store.AttachGroupPolicy(rc.ctx, rc.account(), ent.name, arn)
	default:
		err = s.store.AttachRolePolicy(rc.ctx, rc.account(), ent.name, arn)
	}
	if err != nil {
		return nil, s.storeError(rc, err, "Policy "+arn+" does not exist or is not attachable.")
	}
	return nil, nil
}

func (s *Server) detachPolicy(rc *request, k principal) (any, *Error) {
	var v validation
	arn := v.str(rc.p, "PolicyArn", true, arnShape)
	ent, e := s.target(rc, k, &v, "iam:Detach"+k.kind+"Policy")
	if e != nil {
		return nil, e
	}
	var err error
	switch k.kind {
	case "User":
		err = s.store.DetachUserPolicy(rc.ctx, rc.account(), ent.name, arn)
	case "Group":
		err = s.store.DetachGroupPolicy(rc.ctx, rc.account(), ent.name, arn)
	default:
		err = s.store.DetachRolePolicy(rc.ctx, rc.account(), ent.name, arn)
	}
	if err != nil {
		return nil, s.storeError(rc, err, "Policy "+arn+" was not found.")
	}
	return nil, nil
}

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies members[xmlAttachedPolicy] `xml:"AttachedPolicies"`
	IsTruncated      bool                       `xml:"IsTruncated"`
	Marker           string                     `xml:"Marker,omitempty"`
}

func (s *Server) listAttachedPolicies(rc *request, k principal) (any, *Error) {
	var v validation
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	pg := v.page(rc.p)
	ent, e := s.target(rc, k, &v, "iam:ListAttached"+k.kind+"Policies")
	if e != nil {
		return nil, e
	}
	out := attachedXML(ent.managed, prefix)
	items, trunc, marker := paginate(out, pg)
	return listAttachedResult{AttachedPolicies: list(items), IsTruncated: trunc, Marker: marker}, nil
}

// attachedXML names attached policies by their ARNs' last part, keeping
// those whose path starts with prefix.
func attachedXML(arns []string, prefix string) []xmlAttachedPolicy {
	out := make([]xmlAttachedPolicy, 0, len(arns))
	for _, arn := range arns {
		_, rest, _ := strings.Cut(arn, ":policy")
		i := strings.LastIndexByte(rest, '/')
		path, name := rest[:i+1], rest[i+1:]
		if !strings.HasPrefix(path, pathOf(prefix)) {
			continue
		}
		out = append(out, xmlAttachedPolicy{PolicyName: name, PolicyArn: arn})
	}
	return out
}
