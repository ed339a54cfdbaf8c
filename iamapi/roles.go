package iamapi

import (
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/policy"
	"github.com/imdsemu/imdsemu/rolestore"
)

func roleARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":role" + pathOf(path) + name
}

func msgNoRole(name string) string { return "The role with name " + name + " cannot be found." }

type xmlBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

func boundaryXML(arn string) *xmlBoundary {
	if arn == "" {
		return nil
	}
	return &xmlBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: arn}
}

type xmlRole struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *xmlBoundary     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *members[xmlTag] `xml:"Tags,omitempty"`
}

func roleXML(r rolestore.Role) xmlRole {
	return xmlRole{
		Path: pathOf(r.Path), RoleName: r.Name, RoleID: r.ID, Arn: r.ARN(), CreateDate: isoTime(r.CreatedAt),
		AssumeRolePolicyDocument: policyText(r.TrustPolicy), Description: r.Description,
		MaxSessionDuration:  int(r.EffectiveMaxSessionDuration() / time.Second),
		PermissionsBoundary: boundaryXML(r.PermissionsBoundary), Tags: tagsXML(r.Tags),
	}
}

// loadRole returns a role of the caller's account or NoSuchEntity; with an
// action, only once the caller may do that to it (see load).
func (s *Server) loadRole(rc *request, name, action string) (rolestore.Role, *Error) {
	return load(s, rc, s.store.Role, name, msgNoRole(name), action)
}

type roleResult struct {
	Role xmlRole `xml:"Role"`
}

func (s *Server) createRole(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	path := v.str(rc.p, "Path", false, pathShape)
	trust := v.str(rc.p, "AssumeRolePolicyDocument", true, document)
	desc := v.str(rc.p, "Description", false, description)
	maxSession := v.integer(rc.p, "MaxSessionDuration", 3600, 43200, 0)
	boundary := v.str(rc.p, "PermissionsBoundary", false, arnShape)
	tags := rc.p.tags(&v)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreateRole", roleARN(rc.account(), path, name)); e != nil {
		return nil, e
	}
	if e := checkPolicy(trust, policy.KindTrust); e != nil {
		return nil, e
	}
	if _, err := s.store.Role(rc.ctx, rc.account(), name); err == nil {
		return nil, errAlreadyExists("Role with name %s already exists.", name)
	}
	r, err := s.store.PutRole(rc.ctx, rolestore.Role{AccountID: rc.account(), Name: name, Path: path, TrustPolicy: trust,
		Description: desc, MaxSessionDuration: time.Duration(maxSession) * time.Second, PermissionsBoundary: boundary, Tags: tags})
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return roleResult{Role: roleXML(r)}, nil
}

func (s *Server) getRole(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, e := s.loadRole(rc, name, "iam:GetRole")
	if e != nil {
		return nil, e
	}
	return roleResult{Role: roleXML(r)}, nil
}

type listRolesResult struct {
	Roles       members[xmlRole] `xml:"Roles"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func (s *Server) listRoles(rc *request) (any, *Error) {
	var v validation
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListRoles", listARN(rc.account(), "role")); e != nil {
		return nil, e
	}
	roles, err := s.store.Roles(rc.ctx, rc.account())
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	var out []xmlRole
	for _, r := range roles {
		if strings.HasPrefix(pathOf(r.Path), pathOf(prefix)) {
			x := roleXML(r)
			x.Tags = nil // ListRoles leaves tags out, as IAM does
			out = append(out, x)
		}
	}
	items, trunc, marker := paginate(out, pg)
	return listRolesResult{Roles: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func (s *Server) updateRole(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	desc := v.str(rc.p, "Description", false, description)
	maxSession := v.integer(rc.p, "MaxSessionDuration", 3600, 43200, 0)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, e := s.loadRole(rc, name, "iam:UpdateRole")
	if e != nil {
		return nil, e
	}
	if rc.p.has("Description") {
		r.Description = desc
	}
	if maxSession != 0 {
		r.MaxSessionDuration = time.Duration(maxSession) * time.Second
	}
	if _, err := s.store.PutRole(rc.ctx, r); err != nil {
		return nil, s.storeError(rc, err, msgNoRole(name))
	}
	return struct{}{}, nil
}

func (s *Server) updateAssumeRolePolicy(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	trust := v.str(rc.p, "PolicyDocument", true, document)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, e := s.loadRole(rc, name, "iam:UpdateAssumeRolePolicy")
	if e != nil {
		return nil, e
	}
	if e := checkPolicy(trust, policy.KindTrust); e != nil {
		return nil, e
	}
	r.TrustPolicy = trust
	if _, err := s.store.PutRole(rc.ctx, r); err != nil {
		return nil, s.storeError(rc, err, msgNoRole(name))
	}
	return nil, nil
}

func (s *Server) deleteRole(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, e := s.loadRole(rc, name, "iam:DeleteRole")
	if e != nil {
		return nil, e
	}
	switch {
	case len(r.Policies) > 0:
		return nil, errDeleteConflict("Cannot delete entity, must delete policies first.")
	case len(r.ManagedPolicies) > 0:
		return nil, errDeleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if err := s.store.DeleteRole(rc.ctx, rc.account(), r.Name); err != nil {
		if rolestore.Code(err) == rolestore.CodeDeleteConflict {
			return nil, errDeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
		return nil, s.storeError(rc, err, msgNoRole(name))
	}
	return nil, nil
}
