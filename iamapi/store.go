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
}

var _ Store = (*rolestore.SQLite)(nil)
