package main

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
)

func TestApplyIMDSFlags(t *testing.T) {
	var f imdsFlags
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addIMDSFlags(fl, &f)
	if err := fl.Parse([]string{"--hop-limit", "3", "--extended-credentials=false", "--throttle-rps", "2.5", "--ecs-addr", "127.0.0.1:1341"}); err != nil {
		t.Fatal(err)
	}
	yes := true
	s := config.Settings{IPv6Addr: "[fd00:ec2::254]:80", ExtendedCredentials: &yes, InstanceMetadataTags: true, Throttle: config.Throttle{Burst: 4}}
	applyIMDSFlags(fl, &f, &s)
	if s.HopLimit != 3 || *s.ExtendedCredentials || s.Throttle != (config.Throttle{RPS: 2.5, Burst: 4}) ||
		s.ECSAddr != "127.0.0.1:1341" || s.IPv6Addr != "[fd00:ec2::254]:80" || !s.InstanceMetadataTags {
		t.Errorf("settings after flags = %+v", s)
	}
	// Flags left unset change nothing, and the defaults the CLI documents
	// hold when nothing sets them.
	var g imdsFlags
	fl2 := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addIMDSFlags(fl2, &g)
	var empty config.Settings
	applyIMDSFlags(fl2, &g, &empty)
	if empty.ExtendedCredentials != nil || empty.HopLimit != 0 {
		t.Errorf("unset flags changed settings: %+v", empty)
	}
	x := &imdsSetup{s: empty}
	o := x.options(imds.Options{})
	if !o.ExtendedCredentials || o.HopLimit != 0 {
		t.Errorf("options from empty settings: extended %t, hop limit %d; want on and 0 (imds makes it 1)", o.ExtendedCredentials, o.HopLimit)
	}
}
