// Package cli is imdsemu's command line apart from serve: the commands that
// drive a running server through its control API (fault, scenario, options,
// rotate, freeze, attach, generations, events, notice, instance), the
// commands that change the store in the data directory directly (user, key,
// mfa, revoke), the offline tools (policy, idp, link-local) and the lab's
// front ends (compare, demo).
//
// Each command is a cobra command built by a constructor that takes the
// process's [Env], so tests run them in-process. The package holds no state
// and starts no goroutine that outlives a command; AWS rules live in the
// packages the commands call (admin, rolestore, policy, federation, lab).
package cli
