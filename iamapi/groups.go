package iamapi

import (
	"strings"

	"github.com/imdsemu/imdsemu/rolestore"
)

func groupARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":group" + pathOf(path) + name
}

func msgNoGroup(name string) string { return "The group with name " + name + " cannot be found." }

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func groupXML(g rolestore.Group) xmlGroup {
	return xmlGroup{Path: pathOf(g.Path), GroupName: g.Name, GroupID: g.ID, Arn: g.ARN(), CreateDate: isoTime(g.CreatedAt)}
}

// loadGroup returns a group of the caller's account or NoSuchEntity; with an
// action, only once the caller may do that to it (see load).
func (s *Server) loadGroup(rc *request, name, action string) (rolestore.Group, *Error) {
	return load(s, rc, s.store.Group, name, msgNoGroup(name), action)
}

type createGroupResult struct {
	Group xmlGroup `xml:"Group"`
}

func (s *Server) createGroup(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "GroupName", true, groupName)
	path := v.str(rc.p, "Path", false, pathShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreateGroup", groupARN(rc.account(), path, name)); e != nil {
		return nil, e
	}
	g, err := s.store.CreateGroup(rc.ctx, rolestore.Group{AccountID: rc.account(), Name: name, Path: path})
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return createGroupResult{Group: groupXML(g)}, nil
}

type getGroupResult struct {
	Group       xmlGroup         `xml:"Group"`
	Users       members[xmlUser] `xml:"Users"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func (s *Server) getGroup(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "GroupName", true, groupName)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	g, e := s.loadGroup(rc, name, "iam:GetGroup")
	if e != nil {
		return nil, e
	}
	users, err := s.store.GroupUsers(rc.ctx, rc.account(), g.Name)
	if err != nil {
		return nil, s.storeError(rc, err, msgNoGroup(name))
	}
	out := make([]xmlUser, 0, len(users))
	for _, u := range users {
		out = append(out, userXML(u, false))
	}
	items, trunc, marker := paginate(out, pg)
	return getGroupResult{Group: groupXML(g), Users: list(items), IsTruncated: trunc, Marker: marker}, nil
}

type listGroupsResult struct {
	Groups      members[xmlGroup] `xml:"Groups"`
	IsTruncated bool              `xml:"IsTruncated"`
	Marker      string            `xml:"Marker,omitempty"`
}

func (s *Server) listGroups(rc *request) (any, *Error) {
	var v validation
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListGroups", listARN(rc.account(), "group")); e != nil {
		return nil, e
	}
	groups, err := s.store.Groups(rc.ctx, rc.account())
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return groupsPage(groups, prefix, pg), nil
}

func groupsPage(groups []rolestore.Group, prefix string, pg page) listGroupsResult {
	var out []xmlGroup
	for _, g := range groups {
		if strings.HasPrefix(pathOf(g.Path), pathOf(prefix)) {
			out = append(out, groupXML(g))
		}
	}
	items, trunc, marker := paginate(out, pg)
	return listGroupsResult{Groups: list(items), IsTruncated: trunc, Marker: marker}
}

func (s *Server) listGroupsForUser(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "UserName", true, userName)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, e := s.loadUser(rc, name, "iam:ListGroupsForUser")
	if e != nil {
		return nil, e
	}
	groups, err := s.store.GroupsForUser(rc.ctx, rc.account(), u.Name)
	if err != nil {
		return nil, s.storeError(rc, err, msgNoUser(name))
	}
	return groupsPage(groups, "", pg), nil
}

func (s *Server) updateGroup(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "GroupName", true, groupName)
	newName := v.str(rc.p, "NewGroupName", false, groupName)
	newPath := v.str(rc.p, "NewPath", false, pathShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	g, e := s.loadGroup(rc, name, "iam:UpdateGroup")
	if e != nil {
		return nil, e
	}
	if _, err := s.store.UpdateGroup(rc.ctx, rc.account(), g.Name, newName, newPath); err != nil {
		return nil, s.storeError(rc, err, msgNoGroup(name))
	}
	return nil, nil
}

func (s *Server) deleteGroup(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "GroupName", true, groupName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	g, e := s.loadGroup(rc, name, "iam:DeleteGroup")
	if e != nil {
		return nil, e
	}
	if err := s.store.DeleteGroup(rc.ctx, rc.account(), g.Name); err != nil {
		return nil, s.storeError(rc, err, msgNoGroup(name))
	}
	return nil, nil
}

// membership runs AddUserToGroup or RemoveUserFromGroup.
func (s *Server) membership(rc *request, action string, op func(account, group, user string) error) (any, *Error) {
	var v validation
	gname := v.str(rc.p, "GroupName", true, groupName)
	uname := v.str(rc.p, "UserName", true, userName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	g, e := s.loadGroup(rc, gname, action)
	if e != nil {
		return nil, e
	}
	if _, e := s.loadUser(rc, uname, ""); e != nil {
		return nil, e
	}
	if err := op(rc.account(), g.Name, uname); err != nil {
		return nil, s.storeError(rc, err, msgNoUser(uname))
	}
	return nil, nil
}

func (s *Server) addUserToGroup(rc *request) (any, *Error) {
	return s.membership(rc, "iam:AddUserToGroup", func(a, g, u string) error { return s.store.AddUserToGroup(rc.ctx, a, g, u) })
}

func (s *Server) removeUserFromGroup(rc *request) (any, *Error) {
	return s.membership(rc, "iam:RemoveUserFromGroup", func(a, g, u string) error { return s.store.RemoveUserFromGroup(rc.ctx, a, g, u) })
}
