package main

import (
	"context"
	"net/netip"
	"time"

	"github.com/imdsemu/imdsemu/audit"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/instance"
	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// auditor adapts package audit to admin.Auditor: the store, the key use
// STS recorded since start, and the instances with their IMDSv1 counts.
type auditor struct {
	store    *rolestore.SQLite
	keys     *sts.KeyUsage
	fleet    *instance.Fleet
	noToken  func() *fault.NoTokenCounter // set once the metadata handler is built
	accounts []string
	since    time.Time
}

func newAuditor(store *rolestore.SQLite, keys *sts.KeyUsage, fl *instance.Fleet, ctl *controlPlane, seed rolestore.Seed) *auditor {
	a := &auditor{store: store, keys: keys, fleet: fl, noToken: func() *fault.NoTokenCounter { return ctl.noToken }, since: time.Now()}
	for _, acct := range seed.Accounts {
		a.accounts = append(a.accounts, acct.ID)
	}
	return a
}

func (a *auditor) Audit(ctx context.Context) (audit.Report, error) {
	in, err := audit.Gather(ctx, audit.Sources{
		Directory: a.store, Managed: a.store, KeyUses: a.keys, Fleet: auditFleet{a},
		Accounts: a.accounts, KeyUseSince: a.since,
	}, time.Now())
	if err != nil {
		return audit.Report{}, err
	}
	return audit.Run(in), nil
}

// auditFleet adapts the fleet and the router to audit.Fleet.
type auditFleet struct{ a *auditor }

func (f auditFleet) Instances() []audit.Instance {
	infos := f.a.fleet.Instances()
	out := make([]audit.Instance, len(infos))
	at := map[string]int{}
	for i, info := range infos {
		out[i] = audit.Instance{ID: info.ID, Account: info.Account, Role: info.Role, NoTokenRequests: map[string]uint64{}}
		at[info.ID] = i
	}
	if c := f.a.noToken(); c != nil {
		for client, n := range c.Counts() {
			addr, err := netip.ParseAddr(client)
			if err != nil {
				continue // "other": past the counter's bound
			}
			if id, ok := f.InstanceFor(addr); ok {
				out[at[id]].NoTokenRequests[client] += n
			}
		}
	}
	return out
}

func (f auditFleet) InstanceFor(addr netip.Addr) (string, bool) {
	return f.a.fleet.InstanceFor(addr)
}
