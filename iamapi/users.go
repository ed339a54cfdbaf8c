package iamapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// IAM ARNs of the account's entities, as the Service Authorization
// Reference names IAM's resource types.
func userARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":user" + pathOf(path) + name
}

// listARN is the resource of a List call on a resource type: IAM checks
// iam:ListUsers against arn:aws:iam::ACCOUNT:user/ (AccessDenied messages
// name it so).
func listARN(account, kind string) string { return "arn:aws:iam::" + account + ":" + kind + "/" }

func msgNoUser(name string) string { return "The user with name " + name + " cannot be found." }

// loadUser returns a user of the caller's account or NoSuchEntity; with an
// action, only once the caller may do that to it (see load).
func (s *Server) loadUser(rc *request, name, action string) (rolestore.User, *Error) {
	return load(s, rc, s.store.User, name, msgNoUser(name), action)
}

// targetUser is the user a call names with UserName, or, when it names
// none, the IAM user who calls (ok false with no error for the root user,
// whose own keys and devices some calls then act on). Other callers must
// name a user.
func (s *Server) targetUser(rc *request, v *validation) (name string, root bool, e *Error) {
	name = v.str(rc.p, "UserName", false, userName)
	if e := v.Err(); e != nil {
		return "", false, e
	}
	if name != "" {
		return name, false, nil
	}
	switch rc.caller.Kind() {
	case sts.CallerUser:
		return rc.caller.UserName(), false, nil
	case sts.CallerRoot:
		return "", true, nil
	}
	return "", false, newError(CodeValidationError, http.StatusBadRequest, "Must specify userName when calling with non-User credentials")
}

type createUserResult struct {
	User xmlUser `xml:"User"`
}

func (s *Server) createUser(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "UserName", true, userName)
	path := v.str(rc.p, "Path", false, pathShape)
	tags := rc.p.tags(&v)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreateUser", userARN(rc.account(), path, name)); e != nil {
		return nil, e
	}
	if _, err := s.store.User(rc.ctx, rc.account(), name); err == nil {
		return nil, errAlreadyExists("User with name %s already exists.", name)
	} else if !errors.Is(err, rolestore.ErrNotFound) {
		return nil, s.storeError(rc, err, "")
	}
	u, err := s.store.PutUser(rc.ctx, rolestore.User{AccountID: rc.account(), Name: name, Path: path, Tags: tags})
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	return createUserResult{User: userXML(u, true)}, nil
}

type getUserResult struct {
	User xmlUser `xml:"User"`
}

func (s *Server) getUser(rc *request) (any, *Error) {
	var v validation
	name, root, e := s.targetUser(rc, &v)
	if e != nil {
		return nil, e
	}
	if root {
		// The root user asking about itself: IAM answers with the account.
		acct := rc.account()
		return getUserResult{User: xmlUser{Path: "/", UserID: acct, Arn: rolestore.RootARN(acct), CreateDate: isoTime(s.now())}}, nil
	}
	u, e := s.loadUser(rc, name, "")
	if e != nil {
		if err := s.authorize(rc, "iam:GetUser", userARN(rc.account(), "/", name)); err != nil {
			return nil, err
		}
		return nil, e
	}
	if e := s.authorize(rc, "iam:GetUser", u.ARN()); e != nil {
		return nil, e
	}
	return getUserResult{User: userXML(u, true)}, nil
}

type listUsersResult struct {
	Users       members[xmlUser] `xml:"Users"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func (s *Server) listUsers(rc *request) (any, *Error) {
	var v validation
	prefix := v.str(rc.p, "PathPrefix", false, pathPrefix)
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListUsers", listARN(rc.account(), "user")); e != nil {
		return nil, e
	}
	users, err := s.store.Users(rc.ctx, rc.account())
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	var out []xmlUser
	for _, u := range users {
		if strings.HasPrefix(pathOf(u.Path), pathOf(prefix)) {
			out = append(out, userXML(u, false))
		}
	}
	items, trunc, marker := paginate(out, pg)
	return listUsersResult{Users: list(items), IsTruncated: trunc, Marker: marker}, nil
}

func (s *Server) updateUser(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "UserName", true, userName)
	newPath := v.str(rc.p, "NewPath", false, pathShape)
	newName := v.str(rc.p, "NewUserName", false, userName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, e := s.loadUser(rc, name, "iam:UpdateUser")
	if e != nil {
		return nil, e
	}
	if newName != "" && newName != u.Name {
		return nil, errInvalidInput("imdsemu does not rename users (NewUserName): create the user %s and move its keys and groups, then delete %s.", newName, u.Name)
	}
	if newPath != "" {
		u.Path = newPath
		if _, err := s.store.PutUser(rc.ctx, u); err != nil {
			return nil, s.storeError(rc, err, msgNoUser(name))
		}
	}
	return nil, nil
}

func (s *Server) deleteUser(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "UserName", true, userName)
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, e := s.loadUser(rc, name, "iam:DeleteUser")
	if e != nil {
		return nil, e
	}
	if e := s.userDeleteConflict(rc, u); e != nil {
		return nil, e
	}
	if err := s.store.DeleteUser(rc.ctx, rc.account(), u.Name); err != nil {
		return nil, s.storeError(rc, err, msgNoUser(name))
	}
	return nil, nil
}

// userDeleteConflict is IAM's DeleteConflict for a user that still has
// what must go first: access keys, inline policies, groups (the console
// does these for you; the API does not).
func (s *Server) userDeleteConflict(rc *request, u rolestore.User) *Error {
	keys, err := s.store.AccessKeys(rc.ctx, rc.account(), u.Name)
	if err != nil {
		return s.storeError(rc, err, msgNoUser(u.Name))
	}
	switch {
	case len(keys) > 0:
		return errDeleteConflict("Cannot delete entity, must delete access keys first.")
	case len(u.Policies) > 0:
		return errDeleteConflict("Cannot delete entity, must delete policies first.")
	case len(u.ManagedPolicies) > 0:
		return errDeleteConflict("Cannot delete entity, must detach all policies first.")
	case len(u.Groups) > 0:
		return errDeleteConflict("Cannot delete entity, must remove users from group first.")
	}
	return nil
}
