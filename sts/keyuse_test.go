package sts_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/imdsemu/imdsemu/sts"
)

// Requests signed with a long-term key are recorded; session credentials
// are not.
func TestServer_RecordsLongTermKeyUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, _, _, _, ok := f.keyUse.KeyUse(aliceKeyID); ok {
		t.Fatal("alice's key used before any request")
	}
	before := f.clock.Now()
	if _, err := f.client(longTerm(aliceKeyID, aliceSec)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	at, service, region, from, ok := f.keyUse.KeyUse(aliceKeyID)
	if !ok || at.Before(before) || service != "sts" || region != "us-east-1" || len(from) != 1 || !from[0].IsLoopback() {
		t.Errorf("KeyUse = %v %q %q %v %v", at, service, region, from, ok)
	}
	creds := f.instanceCreds(t, time.Hour)
	if _, err := f.client(creds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, ok := f.keyUse.KeyUse(creds.AccessKeyID); ok {
		t.Error("a session key was recorded as a long-term key use")
	}
}

func TestKeyUsage_BoundsSources(t *testing.T) {
	k := sts.NewKeyUsage()
	t0 := time.Unix(1e9, 0)
	for i := range sts.MaxKeySources + 4 {
		k.KeyUsed(sts.KeyUse{AccessKeyID: "AKIA", At: t0.Add(time.Duration(i) * time.Second), Service: "sts",
			Source: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})})
	}
	k.KeyUsed(sts.KeyUse{AccessKeyID: "AKIA", At: t0, Service: "iam"}) // older: last use unchanged
	at, service, _, from, ok := k.KeyUse("AKIA")
	if !ok || !at.Equal(t0.Add((sts.MaxKeySources+3)*time.Second)) || service != "sts" || len(from) != sts.MaxKeySources {
		t.Errorf("KeyUse = %v %q %d sources %v", at, service, len(from), ok)
	}
}
