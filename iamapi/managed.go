package iamapi

import (
	"strings"

	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

func policyARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":policy" + pathOf(path) + name
}

func msgNoPolicy(arn string) string { return "Policy " + arn + " was not found." }

type xmlPolicy struct {
	PolicyName                    string           `xml:"PolicyName"`
	PolicyID                      string           `xml:"PolicyId"`
	Arn                           string           `xml:"Arn"`
	Path                          string           `xml:"Path"`
	DefaultVersionID              string           `xml:"DefaultVersionId"`
	AttachmentCount               int              `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int              `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool             `xml:"IsAttachable"`
	Description                   string           `xml:"Description,omitempty"`
	CreateDate                    string           `xml:"CreateDate"`
	UpdateDate                    string           `xml:"UpdateDate"`
	Tags                          *members[xmlTag] `xml:"Tags,omitempty"`
}

func policyXML(p rolestore.ManagedPolicy) xmlPolicy {
	return xmlPolicy{
		PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN(), Path: pathOf(p.Path), DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: p.AttachmentCount, PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, IsAttachable: true,
		Description: p.Description, CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt),
	}
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

func versionXML(v rolestore.PolicyVersion, withDoc bool) xmlPolicyVersion {
	x := xmlPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}
	if withDoc {
		x.Document = policyText(v.Document)
	}
	return x
}

// checkPolicy parses a document as the policy grammar of kind does and
// answers IAM's MalformedPolicyDocument (or LimitExceeded for size) with
// what is wrong.
func checkPolicy(doc string, kind policy.Kind) *Error {
	_, err := policy.Parse([]byte(doc), kind)
	if err == nil {
		return nil
	}
	if coded, ok := err.(interface {
		ErrorCode() string
		Detail() string
	}); ok {
		return newError(coded.ErrorCode(), statusOf(coded.ErrorCode()), "%s", coded.Detail())
	}
	return errMalformedPolicy("Syntax errors in policy.")
}

type policyResult struct {
	Policy xmlPolicy `xml:"Policy"`
}

func (s *Server) createPolicy(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "PolicyName", true, policyName)
	path := v.str(rc.p, "Path", false, pathShape)
	doc := v.str(rc.p, "PolicyDocument", true, document)
	desc := v.str(rc.p, "Description", false, description)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreatePolicy", policyARN(rc.account(), path, name)); e != nil {
		return nil, e
	}
	if e := checkPolicy(doc, policy.KindManaged); e != nil {
		return nil, e
	}
	p, err := s.store.CreatePolicy(rc.ctx, rolestore.ManagedPolicy{AccountID: rc.account(), Name: name, Path: path, Description: desc, Document: doc})
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return policyResult{Policy: policyXML(p)}, nil
}

// policyParam reads PolicyArn, authorizes action on it and loads it.
func (s *Server) policyParam(rc *request, v *validation, action string) (rolestore.ManagedPolicy, *Error) {
	arn := v.str(rc.p, "PolicyArn", true, arnShape)
	if e := v.Err(); e != nil {
		return rolestore.ManagedPolicy{}, e
	}
	if e := s.authorize(rc, action, arn); e != nil {
		return rolestore.ManagedPolicy{}, e
	}
	p, err := s.store.Policy(rc.ctx, arn)
	if err == nil && !p.AWSManaged() && p.AccountID != rc.account() {
		err = rolestore.ErrNotFound
	}
	if err != nil {
		return rolestore.ManagedPolicy{}, s.storeError(rc, err, msgNoPolicy(arn))
	}
	return p, nil
}

func (s *Server) getPolicy(rc *request) (any, *Error) {
	var v validation
	p, e := s.policyParam(rc, &v, "iam:GetPolicy")
	if e != nil {
		return nil, e
	}
	return policyResult{Policy: policyXML(p)}, nil
}

type listPoliciesResult struct {
	Policies    members[xmlPolicy] `xml:"Policies"`
	IsTruncated bool               `xml:"IsTruncated"`
	Marker      string             `xml:"Marker,omitempty"`
}

// listPolicies lists the account's customer managed policies (Scope Local)
// and the AWS managed catalogue (Scope AWS), both for All (the default).
func (s *Server) listPolicies(rc *request) (any, *Error) {
	var v validation
	scope := v.enum(rc.p, "Scope", false, "All", "AWS", "Local")
	onlyAttached, _ := v.boolean(rc.p, "OnlyAttached")
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	usage := v.enum(rc.p, "PolicyUsageFilter", false, "PermissionsPolicy", "PermissionsBoundary")
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListPolicies", "*"); e != nil {
		return nil, e
	}
	var all []rolestore.ManagedPolicy
	if scope != "Local" {
		aws, err := s.store.AWSPolicies(rc.ctx)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		all = append(all, aws...)
	}
	if scope != "AWS" {
		local, err := s.store.Policies(rc.ctx, rc.account())
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		all = append(all, local...)
	}
	var out []xmlPolicy
	for _, p := range all {
		switch {
		case !strings.HasPrefix(pathOf(p.Path), pathOf(prefix)),
			onlyAttached && p.AttachmentCount+p.PermissionsBoundaryUsageCount == 0,
			usage == "PermissionsPolicy" && p.AttachmentCount == 0 && onlyAttached,
			usage == "PermissionsBoundary" && p.PermissionsBoundaryUsageCount == 0 && onlyAttached:
			continue
		}
		out = append(out, policyXML(p))
	}
	items, trunc, marker := paginate(out, pg)
	return listPoliciesResult{Policies: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func (s *Server) deletePolicy(rc *request) (any, *Error) {
	var v validation
	p, e := s.policyParam(rc, &v, "iam:DeletePolicy")
	if e != nil {
		return nil, e
	}
	if err := s.store.DeletePolicy(rc.ctx, p.ARN()); err != nil {
		return nil, s.storeError(rc, err, msgNoPolicy(p.ARN()))
	}
	return nil, nil
}

type policyVersionResult struct {
	PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
}

func (s *Server) createPolicyVersion(rc *request) (any, *Error) {
	var v validation
	doc := v.str(rc.p, "PolicyDocument", true, document)
	setDefault, _ := v.boolean(rc.p, "SetAsDefault")
	p, e := s.policyParam(rc, &v, "iam:CreatePolicyVersion")
	if e != nil {
		return nil, e
	}
	if e := checkPolicy(doc, policy.KindManaged); e != nil {
		return nil, e
	}
	pv, err := s.store.CreatePolicyVersion(rc.ctx, p.ARN(), doc, setDefault)
	if err != nil {
		return nil, s.storeError(rc, err, msgNoPolicy(p.ARN()))
	}
	return policyVersionResult{PolicyVersion: versionXML(pv, false)}, nil
}

// versionParam reads VersionId and loads the version of p.
func (s *Server) versionParam(rc *request, v *validation, action string) (rolestore.ManagedPolicy, string, *Error) {
	id := v.str(rc.p, "VersionId", true, versionShape)
	p, e := s.policyParam(rc, v, action)
	return p, id, e
}

func (s *Server) getPolicyVersion(rc *request) (any, *Error) {
	var v validation
	p, id, e := s.versionParam(rc, &v, "iam:GetPolicyVersion")
	if e != nil {
		return nil, e
	}
	pv, err := s.store.PolicyVersion(rc.ctx, p.ARN(), id)
	if err != nil {
		return nil, s.storeError(rc, err, "Policy "+p.ARN()+" version "+id+" does not exist.")
	}
	return policyVersionResult{PolicyVersion: versionXML(pv, true)}, nil
}

type listPolicyVersionsResult struct {
	Versions    members[xmlPolicyVersion] `xml:"Versions"`
	IsTruncated bool                      `xml:"IsTruncated"`
	Marker      string                    `xml:"Marker,omitempty"`
}

func (s *Server) listPolicyVersions(rc *request) (any, *Error) {
	var v validation
	pg := v.page(rc.p)
	p, e := s.policyParam(rc, &v, "iam:ListPolicyVersions")
	if e != nil {
		return nil, e
	}
	vs, err := s.store.PolicyVersions(rc.ctx, p.ARN())
	if err != nil {
		return nil, s.storeError(rc, err, msgNoPolicy(p.ARN()))
	}
	out := make([]xmlPolicyVersion, 0, len(vs))
	for _, pv := range vs {
		out = append(out, versionXML(pv, false))
	}
	items, trunc, marker := paginate(out, pg)
	return listPolicyVersionsResult{Versions: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func (s *Server) setDefaultPolicyVersion(rc *request) (any, *Error) {
	var v validation
	p, id, e := s.versionParam(rc, &v, "iam:SetDefaultPolicyVersion")
	if e != nil {
		return nil, e
	}
	if err := s.store.SetDefaultPolicyVersion(rc.ctx, p.ARN(), id); err != nil {
		return nil, s.storeError(rc, err, "Policy "+p.ARN()+" version "+id+" does not exist.")
	}
	return nil, nil
}

func (s *Server) deletePolicyVersion(rc *request) (any, *Error) {
	var v validation
	p, id, e := s.versionParam(rc, &v, "iam:DeletePolicyVersion")
	if e != nil {
		return nil, e
	}
	if err := s.store.DeletePolicyVersion(rc.ctx, p.ARN(), id); err != nil {
		return nil, s.storeError(rc, err, "Policy "+p.ARN()+" version "+id+" does not exist.")
	}
	return nil, nil
}

type policyGroupXML struct {
	GroupName string `xml:"GroupName"`
	GroupID   string `xml:"GroupId,omitempty"`
}

type policyUserXML struct {
	UserName string `xml:"UserName"`
	UserID   string `xml:"UserId,omitempty"`
}

type policyRoleXML struct {
	RoleName string `xml:"RoleName"`
	RoleID   string `xml:"RoleId,omitempty"`
}

type listEntitiesResult struct {
	PolicyGroups members[policyGroupXML] `xml:"PolicyGroups"`
	PolicyUsers  members[policyUserXML]  `xml:"PolicyUsers"`
	PolicyRoles  members[policyRoleXML]  `xml:"PolicyRoles"`
	IsTruncated  bool                    `xml:"IsTruncated"`
}

func (s *Server) listEntitiesForPolicy(rc *request) (any, *Error) {
	var v validation
	filter := v.enum(rc.p, "EntityFilter", false, "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
	p, e := s.policyParam(rc, &v, "iam:ListEntitiesForPolicy")
	if e != nil {
		return nil, e
	}
	ents, err := s.store.PolicyEntities(rc.ctx, rc.account(), p.ARN())
	if err != nil {
		return nil, s.storeError(rc, err, msgNoPolicy(p.ARN()))
	}
	var r listEntitiesResult
	r.PolicyGroups.Member, r.PolicyUsers.Member, r.PolicyRoles.Member = []policyGroupXML{}, []policyUserXML{}, []policyRoleXML{}
	if filter == "" || filter == "Group" {
		for _, n := range ents.Groups {
			g, _ := s.store.Group(rc.ctx, rc.account(), n)
			r.PolicyGroups.Member = append(r.PolicyGroups.Member, policyGroupXML{n, g.ID})
		}
	}
	if filter == "" || filter == "User" {
		for _, n := range ents.Users {
			u, _ := s.store.User(rc.ctx, rc.account(), n)
			r.PolicyUsers.Member = append(r.PolicyUsers.Member, policyUserXML{n, u.ID})
		}
	}
	if filter == "" || filter == "Role" {
		for _, n := range ents.Roles {
			ro, _ := s.store.Role(rc.ctx, rc.account(), n)
			r.PolicyRoles.Member = append(r.PolicyRoles.Member, policyRoleXML{n, ro.ID})
		}
	}
	return r, nil
}
