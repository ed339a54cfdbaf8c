package iamapi

import (
	"sort"

	"github.com/imdsemu/imdsemu/rolestore"
)

type xmlPolicyDetail struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func inlineDetails(m map[string]string) *members[xmlPolicyDetail] {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]xmlPolicyDetail, 0, len(names))
	for _, n := range names {
		out = append(out, xmlPolicyDetail{n, policyText(m[n])})
	}
	return &members[xmlPolicyDetail]{Member: out}
}

type xmlUserDetail struct {
	Path                    string                     `xml:"Path"`
	UserName                string                     `xml:"UserName"`
	UserID                  string                     `xml:"UserId"`
	Arn                     string                     `xml:"Arn"`
	CreateDate              string                     `xml:"CreateDate"`
	UserPolicyList          *members[xmlPolicyDetail]  `xml:"UserPolicyList"`
	GroupList               members[string]            `xml:"GroupList"`
	AttachedManagedPolicies members[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
	PermissionsBoundary     *xmlBoundary               `xml:"PermissionsBoundary,omitempty"`
	Tags                    *members[xmlTag]           `xml:"Tags,omitempty"`
}

type xmlGroupDetail struct {
	Path                    string                     `xml:"Path"`
	GroupName               string                     `xml:"GroupName"`
	GroupID                 string                     `xml:"GroupId"`
	Arn                     string                     `xml:"Arn"`
	CreateDate              string                     `xml:"CreateDate"`
	GroupPolicyList         *members[xmlPolicyDetail]  `xml:"GroupPolicyList"`
	AttachedManagedPolicies members[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
}

type xmlRoleDetail struct {
	Path                     string                      `xml:"Path"`
	RoleName                 string                      `xml:"RoleName"`
	RoleID                   string                      `xml:"RoleId"`
	Arn                      string                      `xml:"Arn"`
	CreateDate               string                      `xml:"CreateDate"`
	AssumeRolePolicyDocument string                      `xml:"AssumeRolePolicyDocument"`
	InstanceProfileList      members[xmlInstanceProfile] `xml:"InstanceProfileList"`
	RolePolicyList           *members[xmlPolicyDetail]   `xml:"RolePolicyList"`
	AttachedManagedPolicies  members[xmlAttachedPolicy]  `xml:"AttachedManagedPolicies"`
	PermissionsBoundary      *xmlBoundary                `xml:"PermissionsBoundary,omitempty"`
	Tags                     *members[xmlTag]            `xml:"Tags,omitempty"`
}

type xmlManagedPolicyDetail struct {
	xmlPolicy
	PolicyVersionList members[xmlPolicyVersion] `xml:"PolicyVersionList"`
}

type authorizationDetailsResult struct {
	UserDetailList  members[xmlUserDetail]          `xml:"UserDetailList"`
	GroupDetailList members[xmlGroupDetail]         `xml:"GroupDetailList"`
	RoleDetailList  members[xmlRoleDetail]          `xml:"RoleDetailList"`
	Policies        members[xmlManagedPolicyDetail] `xml:"Policies"`
	IsTruncated     bool                            `xml:"IsTruncated"`
	Marker          string                          `xml:"Marker,omitempty"`
}

// detail is one entry of GetAccountAuthorizationDetails, of one of the
// four lists; the page is cut across them in that order.
type detail struct {
	user   *xmlUserDetail
	group  *xmlGroupDetail
	role   *xmlRoleDetail
	policy *xmlManagedPolicyDetail
}

// getAccountAuthorizationDetails is the account's IAM in one document:
// users, groups, roles (with their instance profiles) and managed policies
// (the account's, and the AWS managed ones attached to something) with
// every version, filtered by Filter.
func (s *Server) getAccountAuthorizationDetails(rc *request) (any, *Error) {
	var v validation
	filters := rc.p.list("Filter", &v)
	pg := v.page(rc.p)
	want := map[string]bool{}
	for _, f := range filters {
		switch f {
		case "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
			want[f] = true
		default:
			v.Fail("filter", f, "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")
		}
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:GetAccountAuthorizationDetails", "*"); e != nil {
		return nil, e
	}
	all := len(want) == 0
	acct := rc.account()
	var items []detail
	if all || want["User"] {
		users, err := s.store.Users(rc.ctx, acct)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		for _, u := range users {
			items = append(items, detail{user: &xmlUserDetail{
				Path: pathOf(u.Path), UserName: u.Name, UserID: u.ID, Arn: u.ARN(), CreateDate: isoTime(u.CreatedAt),
				UserPolicyList: inlineDetails(u.Policies), GroupList: list(append([]string{}, u.Groups...)),
				AttachedManagedPolicies: list(attachedXML(u.ManagedPolicies, "")), PermissionsBoundary: boundaryXML(u.PermissionsBoundary),
				Tags: tagsXML(u.Tags),
			}})
		}
	}
	if all || want["Group"] {
		groups, err := s.store.Groups(rc.ctx, acct)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		for _, g := range groups {
			items = append(items, detail{group: &xmlGroupDetail{
				Path: pathOf(g.Path), GroupName: g.Name, GroupID: g.ID, Arn: g.ARN(), CreateDate: isoTime(g.CreatedAt),
				GroupPolicyList: inlineDetails(g.Policies), AttachedManagedPolicies: list(attachedXML(g.ManagedPolicies, "")),
			}})
		}
	}
	if all || want["Role"] {
		roles, err := s.store.Roles(rc.ctx, acct)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		profiles, err := s.store.InstanceProfiles(rc.ctx, acct)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		for _, r := range roles {
			d := &xmlRoleDetail{
				Path: pathOf(r.Path), RoleName: r.Name, RoleID: r.ID, Arn: r.ARN(), CreateDate: isoTime(r.CreatedAt),
				AssumeRolePolicyDocument: policyText(r.TrustPolicy), InstanceProfileList: list([]xmlInstanceProfile{}),
				RolePolicyList: inlineDetails(r.Policies), AttachedManagedPolicies: list(attachedXML(r.ManagedPolicies, "")),
				PermissionsBoundary: boundaryXML(r.PermissionsBoundary), Tags: tagsXML(r.Tags),
			}
			for _, p := range profiles {
				if containsFold(p.Roles, r.Name) {
					x, e := s.profileXML(rc, p)
					if e != nil {
						return nil, e
					}
					d.InstanceProfileList.Member = append(d.InstanceProfileList.Member, x)
				}
			}
			items = append(items, detail{role: d})
		}
	}
	var policies []rolestore.ManagedPolicy
	if all || want["AWSManagedPolicy"] {
		aws, err := s.store.AWSPolicies(rc.ctx)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		for _, p := range aws {
			if p.AttachmentCount+p.PermissionsBoundaryUsageCount > 0 {
				policies = append(policies, p)
			}
		}
	}
	if all || want["LocalManagedPolicy"] {
		local, err := s.store.Policies(rc.ctx, acct)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		policies = append(policies, local...)
	}
	for _, p := range policies {
		vs, err := s.store.PolicyVersions(rc.ctx, p.ARN())
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		d := &xmlManagedPolicyDetail{xmlPolicy: policyXML(p), PolicyVersionList: list([]xmlPolicyVersion{})}
		for _, pv := range vs {
			d.PolicyVersionList.Member = append(d.PolicyVersionList.Member, versionXML(pv, true))
		}
		items = append(items, detail{policy: d})
	}
	page, trunc, marker := paginate(items, pg)
	r := authorizationDetailsResult{IsTruncated: trunc, Marker: marker,
		UserDetailList: list([]xmlUserDetail{}), GroupDetailList: list([]xmlGroupDetail{}),
		RoleDetailList: list([]xmlRoleDetail{}), Policies: list([]xmlManagedPolicyDetail{})}
	for _, d := range page {
		switch {
		case d.user != nil:
			r.UserDetailList.Member = append(r.UserDetailList.Member, *d.user)
		case d.group != nil:
			r.GroupDetailList.Member = append(r.GroupDetailList.Member, *d.group)
		case d.role != nil:
			r.RoleDetailList.Member = append(r.RoleDetailList.Member, *d.role)
		default:
			r.Policies.Member = append(r.Policies.Member, *d.policy)
		}
	}
	return r, nil
}
