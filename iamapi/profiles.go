package iamapi

import (
	"strings"

	"github.com/imdsemu/imdsemu/rolestore"
)

func profileARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":instance-profile" + pathOf(path) + name
}

func msgNoProfile(name string) string { return "Instance Profile " + name + " cannot be found." }

type xmlInstanceProfile struct {
	Path                string           `xml:"Path"`
	InstanceProfileName string           `xml:"InstanceProfileName"`
	InstanceProfileID   string           `xml:"InstanceProfileId"`
	Arn                 string           `xml:"Arn"`
	CreateDate          string           `xml:"CreateDate"`
	Roles               members[xmlRole] `xml:"Roles"`
}

// profileXML renders a profile with its role in full, as IAM does.
func (s *Server) profileXML(rc *request, p rolestore.InstanceProfile) (xmlInstanceProfile, *Error) {
	x := xmlInstanceProfile{Path: pathOf(p.Path), InstanceProfileName: p.Name, InstanceProfileID: p.ID, Arn: p.ARN(),
		CreateDate: isoTime(p.CreatedAt), Roles: list([]xmlRole{})}
	for _, name := range p.Roles {
		r, e := s.loadRole(rc, name, "")
		if e != nil {
			return x, e
		}
		rx := roleXML(r)
		rx.Tags = nil
		x.Roles.Member = append(x.Roles.Member, rx)
	}
	return x, nil
}

// loadProfile returns a profile of the caller's account or NoSuchEntity; with an
// action, only once the caller may do that to it (see load).
func (s *Server) loadProfile(rc *request, name, action string) (rolestore.InstanceProfile, *Error) {
	return load(s, rc, s.store.InstanceProfile, name, msgNoProfile(name), action)
}

type profileResult struct {
	InstanceProfile xmlInstanceProfile `xml:"InstanceProfile"`
}

func (s *Server) createInstanceProfile(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "InstanceProfileName", true, profileName)
	path := v.str(rc.p, "Path", false, pathShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreateInstanceProfile", profileARN(rc.account(), path, name)); e != nil {
		return nil, e
	}
	if _, err := s.store.InstanceProfile(rc.ctx, rc.account(), name); err == nil {
		return nil, errAlreadyExists("Instance Profile %s already exists.", name)
	}
	p, err := s.store.PutInstanceProfile(rc.ctx, rolestore.InstanceProfile{AccountID: rc.account(), Name: name, Path: path})
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	x, e := s.profileXML(rc, p)
	if e != nil {
		return nil, e
	}
	return profileResult{InstanceProfile: x}, nil
}

func (s *Server) getInstanceProfile(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "InstanceProfileName", true, profileName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	p, e := s.loadProfile(rc, name, "iam:GetInstanceProfile")
	if e != nil {
		return nil, e
	}
	x, e := s.profileXML(rc, p)
	if e != nil {
		return nil, e
	}
	return profileResult{InstanceProfile: x}, nil
}

type listProfilesResult struct {
	InstanceProfiles members[xmlInstanceProfile] `xml:"InstanceProfiles"`
	IsTruncated      bool                        `xml:"IsTruncated"`
	Marker           string                      `xml:"Marker,omitempty"`
}

// profilesPage renders the profiles whose path starts with prefix (and that
// hold role, when given) as one page.
func (s *Server) profilesPage(rc *request, prefix, role string, pg page) (any, *Error) {
	ps, err := s.store.InstanceProfiles(rc.ctx, rc.account())
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	var out []xmlInstanceProfile
	for _, p := range ps {
		if !strings.HasPrefix(pathOf(p.Path), pathOf(prefix)) || role != "" && !containsFold(p.Roles, role) {
			continue
		}
		x, e := s.profileXML(rc, p)
		if e != nil {
			return nil, e
		}
		out = append(out, x)
	}
	items, trunc, marker := paginate(out, pg)
	return listProfilesResult{InstanceProfiles: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (s *Server) listInstanceProfiles(rc *request) (any, *Error) {
	var v validation
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListInstanceProfiles", listARN(rc.account(), "instance-profile")); e != nil {
		return nil, e
	}
	return s.profilesPage(rc, prefix, "", pg)
}

func (s *Server) listInstanceProfilesForRole(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "RoleName", true, roleName)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, e := s.loadRole(rc, name, "iam:ListInstanceProfilesForRole")
	if e != nil {
		return nil, e
	}
	return s.profilesPage(rc, "", r.Name, pg)
}

// profileRole reads InstanceProfileName and RoleName and authorizes action
// on the profile.
func (s *Server) profileRole(rc *request, action string) (rolestore.InstanceProfile, rolestore.Role, *Error) {
	var v validation
	pname := v.str(rc.p, "InstanceProfileName", true, profileName)
	rname := v.str(rc.p, "RoleName", true, roleName)
	if e := v.Err(); e != nil {
		return rolestore.InstanceProfile{}, rolestore.Role{}, e
	}
	p, e := s.loadProfile(rc, pname, action)
	if e != nil {
		return p, rolestore.Role{}, e
	}
	r, e := s.loadRole(rc, rname, "")
	return p, r, e
}

// addRoleToInstanceProfile puts the role in the profile (IAM allows one)
// and tells the instances, whose metadata service serves the role's
// credentials at once. As in IAM, the caller also needs iam:PassRole on
// the role.
func (s *Server) addRoleToInstanceProfile(rc *request) (any, *Error) {
	p, r, e := s.profileRole(rc, "iam:AddRoleToInstanceProfile")
	if e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:PassRole", r.ARN()); e != nil {
		return nil, e
	}
	if len(p.Roles) > 0 {
		return nil, errLimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
	}
	p.Roles = []string{r.Name}
	if _, err := s.store.PutInstanceProfile(rc.ctx, p); err != nil {
		return nil, s.storeError(rc, err, msgNoProfile(p.Name))
	}
	return nil, s.profileChanged(rc, p.ARN(), r.Name)
}

func (s *Server) removeRoleFromInstanceProfile(rc *request) (any, *Error) {
	p, r, e := s.profileRole(rc, "iam:RemoveRoleFromInstanceProfile")
	if e != nil {
		return nil, e
	}
	if !containsFold(p.Roles, r.Name) {
		return nil, errNoSuchEntity("The role with name %s cannot be found in instance profile %s.", r.Name, p.Name)
	}
	p.Roles = nil
	if _, err := s.store.PutInstanceProfile(rc.ctx, p); err != nil {
		return nil, s.storeError(rc, err, msgNoProfile(p.Name))
	}
	return nil, s.profileChanged(rc, p.ARN(), "")
}

// profileChanged tells the watcher; a failure is logged and internal: the
// store holds the change, the instances have not followed.
func (s *Server) profileChanged(rc *request, arn, role string) *Error {
	if s.profiles == nil {
		return nil
	}
	if err := s.profiles.ProfileChanged(rc.ctx, arn, role); err != nil {
		s.log.Error("iam: instances did not follow the profile change", "profile", arn, "role", role, "err", err)
		return errInternal()
	}
	return nil
}

func (s *Server) deleteInstanceProfile(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "InstanceProfileName", true, profileName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	p, e := s.loadProfile(rc, name, "iam:DeleteInstanceProfile")
	if e != nil {
		return nil, e
	}
	if len(p.Roles) > 0 {
		return nil, errDeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	if err := s.store.DeleteInstanceProfile(rc.ctx, rc.account(), p.Name); err != nil {
		return nil, s.storeError(rc, err, msgNoProfile(name))
	}
	return nil, nil
}
