package instance

import (
	"errors"
	"testing"
	"time"

	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/rolestore"
)

// ec2Trust lets EC2 assume a role, as config's default roles do.
const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestTrustGate(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g := newTrustGate(func() time.Time { return now })
	const profile = "arn:aws:iam::123456789012:instance-profile/web"
	role := rolestore.Role{AccountID: "123456789012", Name: "web", Path: "/", TrustPolicy: ec2Trust}
	att := attached{ProfileARN: profile, Role: "web"}

	if err := g.check(profile, role); err != nil {
		t.Fatalf("EC2-trusted role: check = %v", err)
	}
	if _, ok := g.attachment(&att); ok || g.denied(profile) {
		t.Fatal("EC2-trusted role is denied")
	}

	for name, policy := range map[string]string{
		"lambda only":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		"explicit deny": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		"wrong action":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:TagSession"}]}`,
		"not a policy":  `{"Statement":"nope"}`,
	} {
		t.Run(name, func(t *testing.T) {
			g := newTrustGate(func() time.Time { return now })
			bad := role
			bad.TrustPolicy = policy
			err := g.check(profile, bad)
			var te *TrustError
			if !errors.As(err, &te) || te.ProfileARN != profile || te.RoleARN != "arn:aws:iam::123456789012:role/web" {
				t.Fatalf("check = %v, want a *TrustError", err)
			}
			a, ok := g.attachment(&att)
			want := imds.ErrorDocument{
				Code:    "AssumeRoleUnauthorizedAccess",
				Message: "EC2 cannot assume the role web. Please see documentation at http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html.",
				Since:   now,
			}
			if !ok || a.Error == nil || *a.Error != want || a.ProfileARN != profile || a.Role != "web" {
				t.Errorf("attachment = %+v, %t; want the error document", a, ok)
			}
			if !g.denied(profile) || g.denied("arn:aws:iam::123456789012:instance-profile/other") {
				t.Error("denied() does not follow the profile")
			}
			// No role attached: no document at all.
			if _, ok := g.attachment(&attached{ProfileARN: profile}); ok {
				t.Error("error document for a profile with no role")
			}
			// A standing denial keeps its time; fixing the policy clears it.
			later := now.Add(time.Hour)
			g.now = func() time.Time { return later }
			_ = g.check(profile, bad)
			if a, _ := g.attachment(&att); !a.Error.Since.Equal(now) {
				t.Errorf("LastUpdated moved to %v on a repeated denial", a.Error.Since)
			}
			if err := g.check(profile, role); err != nil || g.denied(profile) {
				t.Errorf("after fixing the trust policy: check = %v, denied = %t", err, g.denied(profile))
			}
			// The outcome remembered for the last policy follows each change.
			if err := g.check(profile, bad); err == nil || !g.denied(profile) {
				t.Errorf("the bad policy again: check = %v, denied = %t", err, g.denied(profile))
			}
			moved := role
			moved.Path = "/moved/"
			if err := g.check(profile, moved); err != nil || g.denied(profile) {
				t.Errorf("a trusted role at another path: check = %v, denied = %t", err, g.denied(profile))
			}
		})
	}
}
