package audit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

// Directory is the IAM model the audit reads; *rolestore.SQLite implements
// it. accountID "" lists every account's users and roles.
type Directory interface {
	Users(ctx context.Context, accountID string) ([]rolestore.User, error)
	Roles(ctx context.Context, accountID string) ([]rolestore.Role, error)
	AccessKeys(ctx context.Context, accountID, userName string) ([]rolestore.AccessKey, error)
	MFADevices(ctx context.Context, accountID, userName string) ([]rolestore.MFADevice, error)
}

// Managed is the part of the IAM model that groups and managed policies
// add; *rolestore.SQLite implements it. Without one (nil) the audit sees
// users' and roles' own policies only.
type Managed interface {
	Groups(ctx context.Context, accountID string) ([]rolestore.Group, error)
	// Policies lists the customer managed policies with their default
	// version's document.
	Policies(ctx context.Context, accountID string) ([]rolestore.ManagedPolicy, error)
}

// KeyUses is what the server recorded about long-term key use.
type KeyUses interface {
	// KeyUse returns when key id was last used, with the addresses it was
	// used from; ok false when it was not used.
	KeyUse(id string) (at time.Time, service, region string, from []netip.Addr, ok bool)
}

// Fleet is the emulated instances and the routing of metadata clients.
type Fleet interface {
	// Instances lists the instances, with their IMDSv1 counts.
	Instances() []Instance
	// InstanceFor is the instance whose metadata a client at addr reaches.
	InstanceFor(addr netip.Addr) (id string, ok bool)
}

// Sources are where Gather reads from. Directory is required; the others
// may be nil.
type Sources struct {
	Directory Directory
	Managed   Managed
	KeyUses   KeyUses
	Fleet     Fleet
	// Accounts are accounts to audit even without users or roles (the
	// config file's); the accounts of users, roles and instances are added.
	Accounts []string
	// KeyUseSince is when key use began to be recorded.
	KeyUseSince time.Time
}

// Gather reads the Input the rules need, at now.
func Gather(ctx context.Context, src Sources, now time.Time) (Input, error) {
	in := Input{Now: now, KeyUseSince: src.KeyUseSince}
	users, err := src.Directory.Users(ctx, "")
	if err != nil {
		return Input{}, fmt.Errorf("audit: users: %w", err)
	}
	roles, err := src.Directory.Roles(ctx, "")
	if err != nil {
		return Input{}, fmt.Errorf("audit: roles: %w", err)
	}
	if src.Fleet != nil {
		in.Instances = src.Fleet.Instances()
	}
	ids := slices.Clone(src.Accounts)
	for _, u := range users {
		ids = append(ids, u.AccountID)
	}
	for _, r := range roles {
		ids = append(ids, r.AccountID)
	}
	for _, i := range in.Instances {
		ids = append(ids, i.Account)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if id == "" {
			continue
		}
		a, err := gatherAccount(ctx, src, id, users, roles)
		if err != nil {
			return Input{}, err
		}
		in.Accounts = append(in.Accounts, a)
	}
	return in, nil
}

func gatherAccount(ctx context.Context, src Sources, id string, users []rolestore.User, roles []rolestore.Role) (Account, error) {
	a := Account{ID: id}
	var err error
	if a.RootKeys, err = keys(ctx, src, id, ""); err != nil {
		return Account{}, err
	}
	mfa, err := src.Directory.MFADevices(ctx, id, "")
	if err != nil {
		return Account{}, fmt.Errorf("audit: MFA devices of the root user of %s: %w", id, err)
	}
	a.RootMFA = len(mfa) > 0
	for _, u := range users {
		if u.AccountID != id {
			continue
		}
		au := User{Name: u.Name, ARN: u.ARN(), Inline: u.Policies, Managed: u.ManagedPolicies, Groups: u.Groups}
		if au.Keys, err = keys(ctx, src, id, u.Name); err != nil {
			return Account{}, err
		}
		mfa, err := src.Directory.MFADevices(ctx, id, u.Name)
		if err != nil {
			return Account{}, fmt.Errorf("audit: MFA devices of %s: %w", u.Name, err)
		}
		au.MFA = len(mfa) > 0
		a.Users = append(a.Users, au)
	}
	for _, r := range roles {
		if r.AccountID != id {
			continue
		}
		a.Roles = append(a.Roles, Role{Name: r.Name, ARN: r.ARN(), Trust: r.TrustPolicy, Inline: r.Policies, Managed: r.ManagedPolicies})
	}
	if src.Managed != nil {
		groups, err := src.Managed.Groups(ctx, id)
		if err != nil {
			return Account{}, fmt.Errorf("audit: groups of %s: %w", id, err)
		}
		for _, g := range groups {
			a.Groups = append(a.Groups, Group{Name: g.Name, ARN: g.ARN(), Inline: g.Policies, Managed: g.ManagedPolicies})
		}
		policies, err := src.Managed.Policies(ctx, id)
		if err != nil {
			return Account{}, fmt.Errorf("audit: managed policies of %s: %w", id, err)
		}
		for _, p := range policies {
			a.Policies = append(a.Policies, ManagedPolicy{ARN: p.ARN(), Name: p.Name, Document: p.Document})
		}
	}
	return a, nil
}

// keys reads the access keys of a user (root: "") with their use.
func keys(ctx context.Context, src Sources, account, user string) ([]Key, error) {
	ks, err := src.Directory.AccessKeys(ctx, account, user)
	if err != nil {
		return nil, fmt.Errorf("audit: access keys of %q in %s: %w", user, account, err)
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		key := Key{ID: k.ID, Active: k.Status == rolestore.AccessKeyActive, Created: k.CreatedAt}
		if src.KeyUses != nil {
			if at, service, region, from, ok := src.KeyUses.KeyUse(k.ID); ok {
				use := &KeyUse{At: at, Service: service, Region: region}
				for _, addr := range from {
					s := KeySource{Address: addr.String()}
					if src.Fleet != nil {
						s.Instance, _ = src.Fleet.InstanceFor(addr)
					}
					use.From = append(use.From, s)
				}
				key.LastUsed = use
			}
		}
		out = append(out, key)
	}
	return out, nil
}
