package iamapi

import (
	"errors"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// keyOwnerARN is the resource of an access key call: the owning user, or
// the root user's ARN for its own keys.
func keyOwnerARN(rc *request, u rolestore.User, root bool) string {
	if root {
		return rolestore.RootARN(rc.account())
	}
	return u.ARN()
}

// keyOwner resolves the UserName of an access key call.
func (s *Server) keyOwner(rc *request, v *validation) (rolestore.User, bool, *Error) {
	name, root, e := s.targetUser(rc, v)
	if e != nil || root {
		return rolestore.User{}, root, e
	}
	u, e := s.loadUser(rc, name, "")
	return u, false, e
}

// listOwned reads what a List call of things a user (or the root user)
// owns asks for, the owner and the page, and authorizes action on the
// owner: the first half of ListAccessKeys and ListMFADevices.
func (s *Server) listOwned(rc *request, action string) (rolestore.User, page, *Error) {
	var v validation
	u, root, e := s.keyOwner(rc, &v)
	if e != nil {
		return u, page{}, e
	}
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return u, page{}, e
	}
	return u, pg, s.authorize(rc, action, keyOwnerARN(rc, u, root))
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type createAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

func (s *Server) createAccessKey(rc *request) (any, *Error) {
	var v validation
	u, root, e := s.keyOwner(rc, &v)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:CreateAccessKey", keyOwnerARN(rc, u, root)); e != nil {
		return nil, e
	}
	s.randMu.Lock()
	k, err := sts.NewLongTermKey(rc.account(), u.Name, s.rand)
	s.randMu.Unlock()
	if err != nil {
		s.log.Error("iam: making an access key", "err", err)
		return nil, errInternal()
	}
	k.CreatedAt = s.now()
	stored, err := s.store.PutAccessKey(rc.ctx, k)
	if errors.Is(err, rolestore.ErrLimitExceeded) {
		return nil, errLimitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", rolestore.MaxAccessKeysPerUser)
	}
	if err != nil {
		return nil, s.storeError(rc, err, msgNoUser(u.Name))
	}
	return createAccessKeyResult{AccessKey: xmlAccessKey{
		UserName: u.Name, AccessKeyID: stored.ID, Status: string(stored.Status),
		SecretAccessKey: stored.SecretAccessKey, CreateDate: isoTime(stored.CreatedAt),
	}}, nil
}

type xmlAccessKeyMetadata struct {
	UserName    string `xml:"UserName,omitempty"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type listAccessKeysResult struct {
	AccessKeyMetadata members[xmlAccessKeyMetadata] `xml:"AccessKeyMetadata"`
	IsTruncated       bool                          `xml:"IsTruncated"`
	Marker            string                        `xml:"Marker,omitempty"`
}

func (s *Server) listAccessKeys(rc *request) (any, *Error) {
	u, pg, e := s.listOwned(rc, "iam:ListAccessKeys")
	if e != nil {
		return nil, e
	}
	keys, err := s.store.AccessKeys(rc.ctx, rc.account(), u.Name)
	if err != nil {
		return nil, s.storeError(rc, err, msgNoUser(u.Name))
	}
	out := make([]xmlAccessKeyMetadata, 0, len(keys))
	for _, k := range keys {
		out = append(out, xmlAccessKeyMetadata{UserName: u.Name, AccessKeyID: k.ID, Status: string(k.Status), CreateDate: isoTime(k.CreatedAt)})
	}
	items, trunc, marker := paginate(out, pg)
	return listAccessKeysResult{AccessKeyMetadata: list(items), IsTruncated: trunc, Marker: marker}, nil
}

// ownKey returns the key AccessKeyId of the call's user, or NoSuchEntity
// as IAM words it.
func (s *Server) ownKey(rc *request, v *validation, action string) (rolestore.AccessKey, *Error) {
	u, root, e := s.keyOwner(rc, v)
	if e != nil {
		return rolestore.AccessKey{}, e
	}
	id := v.str(rc.p, "AccessKeyId", true, accessKeyID)
	if e := v.Err(); e != nil {
		return rolestore.AccessKey{}, e
	}
	if e := s.authorize(rc, action, keyOwnerARN(rc, u, root)); e != nil {
		return rolestore.AccessKey{}, e
	}
	owner := u.Name
	if root {
		owner = "root"
	}
	notFound := "The Access Key with id " + id + " cannot be found."
	k, err := s.store.AccessKey(rc.ctx, id)
	if err != nil {
		return rolestore.AccessKey{}, s.storeError(rc, err, notFound)
	}
	if k.AccountID != rc.account() || k.UserName != u.Name {
		return rolestore.AccessKey{}, errNoSuchEntity("The Access Key with id %s cannot be found for user %s.", id, owner)
	}
	return k, nil
}

func (s *Server) updateAccessKey(rc *request) (any, *Error) {
	var v validation
	status := v.enum(rc.p, "Status", true, "Active", "Inactive")
	k, e := s.ownKey(rc, &v, "iam:UpdateAccessKey")
	if e != nil {
		return nil, e
	}
	if err := s.store.SetAccessKeyStatus(rc.ctx, k.ID, rolestore.AccessKeyStatus(status)); err != nil {
		return nil, s.storeError(rc, err, "The Access Key with id "+k.ID+" cannot be found.")
	}
	return nil, nil
}

func (s *Server) deleteAccessKey(rc *request) (any, *Error) {
	var v validation
	k, e := s.ownKey(rc, &v, "iam:DeleteAccessKey")
	if e != nil {
		return nil, e
	}
	if err := s.store.DeleteAccessKey(rc.ctx, k.ID); err != nil {
		return nil, s.storeError(rc, err, "The Access Key with id "+k.ID+" cannot be found.")
	}
	return nil, nil
}

type xmlAccessKeyLastUsed struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	ServiceName  string `xml:"ServiceName"`
	Region       string `xml:"Region"`
}

type getAccessKeyLastUsedResult struct {
	UserName          string               `xml:"UserName"`
	AccessKeyLastUsed xmlAccessKeyLastUsed `xml:"AccessKeyLastUsed"`
}

// getAccessKeyLastUsed answers for a key of the account: when STS (or
// this API) last verified a request signed with it since the server
// started, or, as IAM does for a key never used, ServiceName and Region
// "N/A" and no LastUsedDate.
func (s *Server) getAccessKeyLastUsed(rc *request) (any, *Error) {
	var v validation
	id := v.str(rc.p, "AccessKeyId", true, accessKeyID)
	if e := v.Err(); e != nil {
		return nil, e
	}
	k, err := s.store.AccessKey(rc.ctx, id)
	if err == nil && k.AccountID != rc.account() {
		err = rolestore.ErrNotFound
	}
	if err != nil {
		if e := s.authorize(rc, "iam:GetAccessKeyLastUsed", listARN(rc.account(), "user")+"*"); e != nil {
			return nil, e
		}
		return nil, s.storeError(rc, err, "The Access Key with id "+id+" cannot be found.")
	}
	owner := rolestore.RootARN(k.AccountID)
	if k.UserName != "" {
		u, e := s.loadUser(rc, k.UserName, "")
		if e != nil {
			return nil, e
		}
		owner = u.ARN()
	}
	if e := s.authorize(rc, "iam:GetAccessKeyLastUsed", owner); e != nil {
		return nil, e
	}
	name := k.UserName
	if name == "" {
		name = "<root_account>"
	}
	last := xmlAccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	if at, service, region, ok := s.lastUse(k.ID); ok {
		last = xmlAccessKeyLastUsed{LastUsedDate: isoTime(at), ServiceName: service, Region: region}
	}
	return getAccessKeyLastUsedResult{UserName: name, AccessKeyLastUsed: last}, nil
}

// lastUse is when the key was last used (since the server started), on
// what service and in what region.
func (s *Server) lastUse(id string) (at time.Time, service, region string, ok bool) {
	if s.keyUse == nil {
		return time.Time{}, "", "", false
	}
	at, service, region, _, ok = s.keyUse.KeyUse(id)
	return at, service, region, ok
}
