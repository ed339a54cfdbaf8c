//go:build !linux

package linklocal

import (
	"errors"
	"net/netip"
)

// Options are ClaimAddresses' options.
type Options struct {
	Override  bool
	Proc      string
	Namespace *Namespace
}

// Claim is what ClaimAddresses did.
type Claim struct {
	Added, Present []netip.Addr
	IPv6Err        error
}

// ClaimAddresses needs Linux network namespaces.
func ClaimAddresses(Options) (*Claim, error) {
	return nil, errors.New("claiming the link-local address needs Linux network namespaces")
}

// Release does nothing.
func (c *Claim) Release() error { return nil }

// AddRoute needs Linux network namespaces.
func AddRoute(Options, netip.Addr) (bool, error) {
	return false, errors.New("routing the link-local address needs Linux network namespaces")
}
