package main

import (
	"context"
	"errors"
	"strings"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/rolestore"
)

var _ admin.InstanceEditor = (*fleet)(nil)

// AddInstance adds an instance while serving: its own metadata server
// (without metrics: those are registered once, for the config's
// instances), routed by its sources, its credentials minted as it. It
// implements admin.InstanceEditor.
func (f *fleet) AddInstance(ctx context.Context, spec admin.InstanceSpec) (admin.InstanceInfo, error) {
	e := config.InstanceEntry{
		Instance: config.Instance{ID: spec.ID, Account: spec.Account, Profile: spec.Profile, Type: spec.Type,
			Region: spec.Region, Tags: spec.Tags, UserData: spec.UserData},
		Match: config.Match{Sources: spec.Sources},
	}
	if e.Account == "" {
		e.Account = f.primary.entry.Account
	}
	// Type, region and zone left out are the metadata server's defaults
	// (imds.Instance): t3.micro, us-east-1 and its zone a, REGION+"a".
	// The checks of the config file, on this one instance.
	s := f.s
	s.Instances, s.DefaultInstance = []config.InstanceEntry{e}, ""
	if err := s.Validate(); err != nil {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrInvalid, "%s", strings.ReplaceAll(err.Error(), "instances[0].", ""))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.byID[e.ID]; dup {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "there is an instance %s already", e.ID)
	}
	for _, m := range f.members {
		if e.Profile != "" && m.entry.Account == e.Account && strings.EqualFold(m.entry.Profile, e.Profile) {
			return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "instance profile %s is attached to %s; give each instance its own (imdsemu keeps one session per profile)", e.Profile, m.entry.ID)
		}
	}
	m, err := f.newMember(ctx, e, nil)
	if errors.Is(err, rolestore.ErrNotFound) {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance profile %q in account %s", e.Profile, e.Account)
	}
	if err != nil {
		return admin.InstanceInfo{}, err
	}
	if err := f.route(m); err != nil {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%v", err)
	}
	// The primary keeps every profile's credentials, minted as itself;
	// this one's are minted as the new instance from now on.
	if arn := m.inst.Attachment().Profile; arn != "" {
		f.d.sched.Remove(arn)
	}
	if err := m.inst.Keep(ctx); err != nil {
		f.router.Remove(e.ID)
		f.d.sched.Remove(m.inst.IdentityRoleKey())
		return admin.InstanceInfo{}, errors.Join(err, f.primary.inst.KeepAll(ctx))
	}
	f.members = append(f.members, m)
	f.byID[e.ID] = m
	return f.info(m), nil
}

// SetSources changes the source addresses instance id serves.
func (f *fleet) SetSources(id string, sources []string) (admin.InstanceInfo, error) {
	match := config.Match{Sources: sources}
	if _, err := match.Prefixes(); err != nil {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrInvalid, "sources: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.byID[id]
	if !ok {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance %q", id)
	}
	if len(sources) == 0 && m.entry.Match.Listen == "" && id != f.router.Default() {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrInvalid, "sources: instance %s would serve nobody; remove it instead", id)
	}
	next := *m
	next.entry.Match.Sources = sources
	if err := f.route(&next); err != nil {
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%v", err)
	}
	*m = next
	return f.info(m), nil
}

// RemoveInstance removes instance id: its clients get the default
// instance or 404 at once, and its credentials are no longer minted as
// it (the primary keeps its profile's, as it keeps every profile's).
func (f *fleet) RemoveInstance(ctx context.Context, id string) (admin.InstanceInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.byID[id]
	switch {
	case !ok:
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrNotFound, "no instance %q", id)
	case m == f.primary:
		return admin.InstanceInfo{}, admin.Errorf(admin.ErrConflict, "%s is the default (or first) instance, which the control API's top-level paths stand for; it cannot be removed", id)
	}
	info := f.info(m)
	f.router.Remove(id)
	f.d.sched.Remove(m.inst.IdentityRoleKey())
	if arn := m.inst.Attachment().Profile; arn != "" {
		f.d.sched.Remove(arn)
	}
	delete(f.byID, id)
	for i, o := range f.members {
		if o == m {
			f.members = append(f.members[:i:i], f.members[i+1:]...)
			break
		}
	}
	info.Default = false
	return info, f.primary.inst.KeepAll(ctx)
}
