package main

import (
	"testing"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
)

// The defaults the CLI documents hold when nothing sets them.
func TestIMDSOptions_Defaults(t *testing.T) {
	var empty config.Settings
	x := &imdsSetup{s: empty}
	o := x.options(imds.Options{})
	if !o.ExtendedCredentials || o.HopLimit != 0 {
		t.Errorf("options from empty settings: extended %t, hop limit %d; want on and 0 (imds makes it 1)", o.ExtendedCredentials, o.HopLimit)
	}
}
