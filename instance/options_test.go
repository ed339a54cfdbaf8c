package instance

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/imds"
)

func TestMetadataControl(t *testing.T) {
	f := newFixture(t)
	in := f.instance(t, firstID, "web")
	srv, err := imds.New(imds.Options{Credentials: in, TokenKey: bytes.Repeat([]byte{7}, 32), HopLimit: 1, ExtendedCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	c := MetadataControl{srv}
	want := admin.MetadataOptions{HTTPTokens: "optional", HTTPEndpoint: "enabled", HopLimit: 1, ExtendedCredentials: true}
	if got := c.MetadataOptions(); got != want {
		t.Errorf("MetadataOptions() = %+v, want %+v", got, want)
	}
	want = admin.MetadataOptions{HTTPTokens: "required", HTTPEndpoint: "disabled", HopLimit: 3, InstanceMetadataTags: true,
		Throttle: admin.Throttle{RPS: 5, Burst: 10}}
	if err := c.SetMetadataOptions(want); err != nil {
		t.Fatal(err)
	}
	if got := c.MetadataOptions(); got != want {
		t.Errorf("after SetMetadataOptions: %+v, want %+v", got, want)
	}
	o := srv.Options()
	if o.HTTPTokens != imds.ModeRequired || !o.EndpointDisabled || o.HopLimit != 3 || o.ExtendedCredentials || !o.InstanceMetadataTags {
		t.Errorf("server options = %+v", o)
	}
	for _, bad := range []admin.MetadataOptions{
		{HTTPTokens: "sometimes", HopLimit: 1},
		{HTTPTokens: "optional", HopLimit: 65},
	} {
		if err := c.SetMetadataOptions(bad); !errors.Is(err, admin.ErrInvalid) {
			t.Errorf("SetMetadataOptions(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
