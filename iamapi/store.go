package iamapi

import (
	"context"

	"github.com/imdsemu/imdsemu/rolestore"
)

// Store is what the IAM API reads and writes: the IAM model of the
// accounts it serves. *rolestore.SQLite implements it.
type Store interface {
	User(ctx context.Context, accountID, name string) (rolestore.User, error)
	Users(ctx context.Context, accountID string) ([]rolestore.User, error)
	PutUser(ctx context.Context, u rolestore.User) (rolestore.User, error)
	DeleteUser(ctx context.Context, accountID, name string) error

	AccessKey(ctx context.Context, id string) (rolestore.AccessKey, error)
	AccessKeys(ctx context.Context, accountID, userName string) ([]rolestore.AccessKey, error)
	PutAccessKey(ctx context.Context, k rolestore.AccessKey) (rolestore.AccessKey, error)
	SetAccessKeyStatus(ctx context.Context, id string, status rolestore.AccessKeyStatus) error
	DeleteAccessKey(ctx context.Context, id string) error

	MFADevices(ctx context.Context, accountID, userName string) ([]rolestore.MFADevice, error)
	MFADevice(ctx context.Context, serial string) (rolestore.MFADevice, error)
	PutMFADevice(ctx context.Context, d rolestore.MFADevice) (rolestore.MFADevice, error)
	DeleteMFADevice(ctx context.Context, serial string) error

	CreateGroup(ctx context.Context, g rolestore.Group) (rolestore.Group, error)
	Group(ctx context.Context, accountID, name string) (rolestore.Group, error)
	Groups(ctx context.Context, accountID string) ([]rolestore.Group, error)
	GroupsForUser(ctx context.Context, accountID, userName string) ([]rolestore.Group, error)
	GroupUsers(ctx context.Context, accountID, groupName string) ([]rolestore.User, error)
	UpdateGroup(ctx context.Context, accountID, name, newName, newPath string) (rolestore.Group, error)
	DeleteGroup(ctx context.Context, accountID, name string) error
	AddUserToGroup(ctx context.Context, accountID, groupName, userName string) error
	RemoveUserFromGroup(ctx context.Context, accountID, groupName, userName string) error

	PutUserPolicy(ctx context.Context, accountID, userName, policyName, doc string) error
	DeleteUserPolicy(ctx context.Context, accountID, userName, policyName string) error
	PutGroupPolicy(ctx context.Context, accountID, groupName, policyName, doc string) error
	DeleteGroupPolicy(ctx context.Context, accountID, groupName, policyName string) error
	PutRolePolicy(ctx context.Context, accountID, roleName, policyName, doc string) error
	DeleteRolePolicy(ctx context.Context, accountID, roleName, policyName string) error

	CreatePolicy(ctx context.Context, p rolestore.ManagedPolicy) (rolestore.ManagedPolicy, error)
	Policy(ctx context.Context, arn string) (rolestore.ManagedPolicy, error)
	Policies(ctx context.Context, accountID string) ([]rolestore.ManagedPolicy, error)
	AWSPolicies(ctx context.Context) ([]rolestore.ManagedPolicy, error)
	DeletePolicy(ctx context.Context, arn string) error
	CreatePolicyVersion(ctx context.Context, arn, doc string, setAsDefault bool) (rolestore.PolicyVersion, error)
	PolicyVersion(ctx context.Context, arn, versionID string) (rolestore.PolicyVersion, error)
	PolicyVersions(ctx context.Context, arn string) ([]rolestore.PolicyVersion, error)
	DeletePolicyVersion(ctx context.Context, arn, versionID string) error
	SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error
	PolicyEntities(ctx context.Context, accountID, arn string) (rolestore.PolicyEntities, error)
	AttachUserPolicy(ctx context.Context, accountID, userName, arn string) error
	DetachUserPolicy(ctx context.Context, accountID, userName, arn string) error
	AttachGroupPolicy(ctx context.Context, accountID, groupName, arn string) error
	DetachGroupPolicy(ctx context.Context, accountID, groupName, arn string) error
	AttachRolePolicy(ctx context.Context, accountID, roleName, arn string) error
	DetachRolePolicy(ctx context.Context, accountID, roleName, arn string) error

	Role(ctx context.Context, accountID, name string) (rolestore.Role, error)
	Roles(ctx context.Context, accountID string) ([]rolestore.Role, error)
	PutRole(ctx context.Context, r rolestore.Role) (rolestore.Role, error)
	DeleteRole(ctx context.Context, accountID, name string) error

	InstanceProfile(ctx context.Context, accountID, name string) (rolestore.InstanceProfile, error)
	InstanceProfiles(ctx context.Context, accountID string) ([]rolestore.InstanceProfile, error)
	PutInstanceProfile(ctx context.Context, p rolestore.InstanceProfile) (rolestore.InstanceProfile, error)
	DeleteInstanceProfile(ctx context.Context, accountID, name string) error
}

var _ Store = (*rolestore.SQLite)(nil)
