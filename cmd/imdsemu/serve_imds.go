package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/instance"
	"github.com/imdsemu/imdsemu/internal/httpserve"
)

// imdsSetup is what serve prepares for the metadata server beyond its base
// options: the instance's metadata, user data and the ECS token.
type imdsSetup struct {
	s        config.Settings
	userData []byte
	ecsToken string
}

func newIMDSSetup(s config.Settings) (*imdsSetup, error) {
	x := &imdsSetup{s: s}
	var err error
	if x.userData, err = s.Instance.ReadUserData(); err != nil {
		return nil, err
	}
	if s.ECSAddr != "" {
		if x.ecsToken, err = instance.LoadOrCreateECSToken(s.DataDir); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// forInstance is the setup of one instance of several: its metadata and
// user data, with the shared ECS token.
func (x *imdsSetup) forInstance(in config.Instance) (*imdsSetup, error) {
	s := x.s
	s.Instance, s.ECSAddr = in, ""
	y, err := newIMDSSetup(s)
	if err != nil {
		return nil, err
	}
	y.s.ECSAddr, y.ecsToken = x.s.ECSAddr, x.ecsToken
	return y, nil
}

// metadata is the instance's metadata from the settings.
func (x *imdsSetup) metadata() imds.Instance {
	in := x.s.Instance
	return imds.Instance{
		ID: in.ID, Type: in.Type, Region: in.Region, AvailabilityZone: in.AvailabilityZone, AccountID: in.Account,
		AMIID: in.AMIID, Hostname: in.Hostname, LocalIPv4: in.LocalIPv4, PublicIPv4: in.PublicIPv4,
		MAC: in.MAC, AvailabilityZoneID: in.AvailabilityZoneID, Tags: in.Tags, UserData: x.userData,
		LifeCycle: in.LifeCycle, AutoScaling: in.AutoScaling, AMILaunchIndex: in.AMILaunchIndex,
		AMIManifestPath: in.AMIManifestPath, ReservationID: in.ReservationID, KernelID: in.KernelID,
		RamdiskID: in.RamdiskID, ProductCodes: in.ProductCodes, SecurityGroups: in.SecurityGroups,
		SecurityGroupIDs: in.SecurityGroupIDs, InterfaceID: in.InterfaceID, SubnetID: in.SubnetID, VPCID: in.VPCID,
		SubnetCIDR: in.SubnetCIDR, VPCCIDR: in.VPCCIDR, IPv6: in.IPv6, PlacementGroup: in.PlacementGroup,
		PartitionNumber: in.PartitionNumber, HostID: in.HostID, KeyName: in.KeyName, PublicKey: in.PublicKey,
		RootDevice: in.RootDevice, EBS: in.EBSDevices, Ephemeral: in.EphemeralDevices,
		DetailedMonitoring: in.DetailedMonitoring,
	}
}

// options completes the metadata server's options.
func (x *imdsSetup) options(o imds.Options) imds.Options {
	s := x.s
	o.HopLimit = s.HopLimit
	o.ExtendedCredentials = s.ExtendedCredentials == nil || *s.ExtendedCredentials
	o.InstanceMetadataTags = s.InstanceMetadataTags
	o.Throttle = imds.Throttle{RPS: s.Throttle.RPS, Burst: s.Throttle.Burst}
	return o
}

// listen opens the optional listeners and returns what to print about
// them. The IPv6 one serves h (the metadata handler, with whatever wraps
// it) with connContext (the hop limit's socket, the connection's route);
// the ECS one serves only container credentials, from the handler ecs
// makes with the token.
func (x *imdsSetup) listen(ls *listeners, connContext func(context.Context, net.Conn) context.Context, h http.Handler, ecs func(token string) http.Handler) ([]string, error) {
	var lines []string
	if a := x.s.IPv6Addr; a != "" {
		l, err := ls.listen("IPv6 metadata", a, h)
		if err != nil {
			return nil, err
		}
		l.srv.ConnContext = connContext
		lines = append(lines, fmt.Sprintf("imdsemu: metadata service also on http://%s", httpserve.DialAddr(l.ln.Addr())))
	}
	if a := x.s.ECSAddr; a != "" {
		l, err := ls.listen("ECS", a, ecs(x.ecsToken))
		if err != nil {
			return nil, err
		}
		base := "http://" + httpserve.DialAddr(l.ln.Addr())
		url := base + "/v2/credentials/imdsemu"
		lines = append(lines,
			fmt.Sprintf("imdsemu: ECS container credentials on %s, and each instance's role at %s%sNAME (token in %s)", url, base, instance.ECSRolePrefix, filepath.Join(x.s.DataDir, instance.ECSTokenFile)),
			"export AWS_CONTAINER_CREDENTIALS_FULL_URI="+url,
			"export AWS_CONTAINER_AUTHORIZATION_TOKEN="+x.ecsToken)
	}
	return lines, nil
}

// print writes the listeners' lines and where the identity certificate is.
func (x *imdsSetup) print(w io.Writer, lines []string) {
	fmt.Fprintf(w, "imdsemu: identity document signed by %s (trust this certificate to verify pkcs7, rsa2048, signature)\n", filepath.Join(x.s.DataDir, instance.SigningCertFile))
	for _, line := range lines {
		fmt.Fprintln(w, line)
	}
}
