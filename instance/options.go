package instance

import (
	"github.com/imdsemu/imdsemu/admin"
	"github.com/imdsemu/imdsemu/imds"
)

// MetadataControl adapts the options of a metadata server to the control
// API (admin.Metadata): GET and PATCH /v1/options.
type MetadataControl struct{ Server *imds.Server }

var _ admin.Metadata = MetadataControl{}

// MetadataOptions are the server's options as the control API shows them.
func (m MetadataControl) MetadataOptions() admin.MetadataOptions {
	o := m.Server.Options()
	endpoint := "enabled"
	if o.EndpointDisabled {
		endpoint = "disabled"
	}
	return admin.MetadataOptions{
		HTTPTokens: string(o.HTTPTokens), HTTPEndpoint: endpoint, HopLimit: o.HopLimit,
		ExtendedCredentials: o.ExtendedCredentials, InstanceMetadataTags: o.InstanceMetadataTags,
		Throttle: admin.Throttle{RPS: o.Throttle.RPS, Burst: o.Throttle.Burst},
	}
}

// SetMetadataOptions applies options the control API has validated. The
// throttle is set only when it changed, since setting it refills every
// client's bucket.
func (m MetadataControl) SetMetadataOptions(n admin.MetadataOptions) error {
	cur := m.MetadataOptions()
	if err := m.Server.SetHTTPTokens(imds.Mode(n.HTTPTokens)); err != nil {
		return admin.Errorf(admin.ErrInvalid, "%v", err)
	}
	if err := m.Server.SetHopLimit(n.HopLimit); err != nil {
		return admin.Errorf(admin.ErrInvalid, "%v", err)
	}
	m.Server.SetEndpointDisabled(n.HTTPEndpoint == "disabled")
	m.Server.SetExtendedCredentials(n.ExtendedCredentials)
	m.Server.SetInstanceMetadataTags(n.InstanceMetadataTags)
	if n.Throttle != cur.Throttle {
		m.Server.SetThrottle(n.Throttle.RPS, n.Throttle.Burst)
	}
	return nil
}
