package instance

import (
	"context"
	"errors"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/refresher"
	"github.com/imdsemu/imdsemu/rolestore"
)

// The admin API drives an instance through these.
var (
	_ admin.Attacher = (*Instance)(nil)
	_ admin.Profiles = (*Instance)(nil)
)

// Attachment is the instance's profile and its role.
func (in *Instance) Attachment() admin.Attachment {
	cur := in.att.Load()
	return admin.Attachment{Profile: cur.ProfileARN, Role: cur.Role}
}

// profile reads the instance's profile from the store.
func (in *Instance) profile(ctx context.Context) (rolestore.InstanceProfile, error) {
	cur := in.att.Load()
	if cur.ProfileARN == "" {
		return rolestore.InstanceProfile{}, admin.Errorf(admin.ErrConflict, "the instance has no instance profile (set instance.profile in the config file)")
	}
	account, name, err := splitProfileARN(cur.ProfileARN)
	if err != nil {
		return rolestore.InstanceProfile{}, err
	}
	return in.store.InstanceProfile(ctx, account, name)
}

// Attach puts role in the instance's profile: the store first (so that a
// failure changes nothing), then the credentials start over for the new
// role. Until its first generation is minted, the credential paths answer
// 404, as on EC2 right after an association changes.
func (in *Instance) Attach(ctx context.Context, role string) (admin.Attachment, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	prof, err := in.profile(ctx)
	if err != nil {
		return admin.Attachment{}, err
	}
	r, err := in.store.Role(ctx, prof.AccountID, role)
	if errors.Is(err, rolestore.ErrNotFound) {
		return admin.Attachment{}, admin.Errorf(admin.ErrNotFound, "no role %q in account %s", role, prof.AccountID)
	}
	if err != nil {
		return admin.Attachment{}, err
	}
	cur := *in.att.Load()
	if cur.Role == r.Name {
		return in.Attachment(), nil
	}
	prof.Roles = []string{r.Name}
	if _, err := in.store.PutInstanceProfile(ctx, prof); err != nil {
		var ve *rolestore.ValidationError
		if errors.As(err, &ve) {
			return admin.Attachment{}, admin.Errorf(admin.ErrInvalid, "%v", err)
		}
		return admin.Attachment{}, err
	}
	arn := prof.ARN()
	in.sched.Remove(arn)
	in.setRole(arn, r.ARN())
	next := cur
	next.Role = r.Name
	in.att.Store(&next)
	in.sched.Add(arn, in)
	return in.Attachment(), nil
}

// Detach empties the instance's profile; the credential paths answer 404.
func (in *Instance) Detach(ctx context.Context) (admin.Attachment, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	cur := *in.att.Load()
	if cur.Role == "" {
		return in.Attachment(), nil
	}
	prof, err := in.profile(ctx)
	if err != nil {
		return admin.Attachment{}, err
	}
	prof.Roles = nil
	if _, err := in.store.PutInstanceProfile(ctx, prof); err != nil {
		return admin.Attachment{}, err
	}
	next := cur
	next.Role = ""
	in.att.Store(&next)
	arn := prof.ARN()
	in.sched.Remove(arn)
	in.setRole(arn, "")
	return in.Attachment(), nil
}

// Profiles lists the store's instance profiles with the state of their
// credentials, marking the instance's own.
func (in *Instance) Profiles(ctx context.Context) ([]admin.Profile, error) {
	ps, err := in.store.InstanceProfiles(ctx, "")
	if err != nil {
		return nil, err
	}
	mine := in.att.Load().ProfileARN
	out := make([]admin.Profile, 0, len(ps))
	for _, ip := range ps {
		arn := ip.ARN()
		ap := admin.Profile{ARN: arn, Name: ip.Name, Account: ip.AccountID, Instance: arn == mine, Frozen: in.sched.Frozen(arn)}
		if len(ip.Roles) > 0 {
			ap.Role = ip.Roles[0]
		}
		if g := in.sched.Current(arn); g != nil {
			ap.Generation = g.Seq
			exp := g.Credentials.Expires
			ap.Expires = &exp
		}
		out = append(out, ap)
	}
	return out, nil
}

// RotateNow mints the next generation of profileARN at once.
func (in *Instance) RotateNow(profileARN string) error {
	return schedulerErr(profileARN, in.sched.RotateNow(profileARN))
}

// Freeze stops or resumes the rotation of profileARN.
func (in *Instance) Freeze(profileARN string, frozen bool) error {
	return schedulerErr(profileARN, in.sched.Freeze(profileARN, frozen))
}

func schedulerErr(arn string, err error) error {
	switch {
	case errors.Is(err, refresher.ErrUnknownKey):
		return admin.Errorf(admin.ErrConflict, "instance profile %s has no role, so imdsemu keeps no credentials for it; attach one first", arn)
	case errors.Is(err, refresher.ErrFrozen):
		return admin.Errorf(admin.ErrConflict, "rotation of %s is frozen; unfreeze it first", arn)
	}
	return err
}

// ProfileChanged follows a change that someone else (the IAM API) made in
// the store to the role of the instance profile profileARN: when it is the
// instance's own profile, the credentials start over for role ("" empties
// it), as Attach and Detach do, so the metadata service serves the change
// at once. Other profiles are left alone.
func (in *Instance) ProfileChanged(ctx context.Context, profileARN, role string) error {
	if in.att.Load().ProfileARN != profileARN {
		return nil
	}
	var err error
	if role == "" {
		_, err = in.Detach(ctx)
	} else {
		_, err = in.Attach(ctx, role)
	}
	return err
}
