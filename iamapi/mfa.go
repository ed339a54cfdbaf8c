package iamapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// Virtual MFA devices. A device IAM creates is unassigned until
// EnableMFADevice gives it to a user with two consecutive codes; the store
// keeps assigned devices only, so an unassigned one is kept here, in
// memory, until it is enabled or deleted (and is lost with the server).

// maxPendingDevices bounds the unassigned devices kept per account.
const maxPendingDevices = 100

// pendingDevices are the accounts' unassigned virtual MFA devices.
type pendingDevices struct {
	mu sync.Mutex
	m  map[string]rolestore.MFADevice // serial -> device (no owner)
}

func (p *pendingDevices) get(serial string) (rolestore.MFADevice, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.m[serial]
	return d, ok
}

func (p *pendingDevices) put(d rolestore.MFADevice) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]rolestore.MFADevice{}
	}
	n := 0
	for _, x := range p.m {
		if x.AccountID == d.AccountID {
			n++
		}
	}
	if n >= maxPendingDevices {
		return false
	}
	p.m[d.SerialNumber] = d
	return true
}

func (p *pendingDevices) remove(serial string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, serial)
}

func (p *pendingDevices) of(account string) []rolestore.MFADevice {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []rolestore.MFADevice
	for _, d := range p.m {
		if d.AccountID == account {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SerialNumber < out[j].SerialNumber })
	return out
}

func mfaARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":mfa" + pathOf(path) + name
}

type xmlVirtualMFADevice struct {
	SerialNumber     string   `xml:"SerialNumber"`
	Base32StringSeed string   `xml:"Base32StringSeed,omitempty"`
	User             *xmlUser `xml:"User,omitempty"`
	EnableDate       string   `xml:"EnableDate,omitempty"`
}

type createVirtualMFADeviceResult struct {
	VirtualMFADevice xmlVirtualMFADevice `xml:"VirtualMFADevice"`
}

// createVirtualMFADevice makes an unassigned device and returns its seed
// once (Base32StringSeed, base64-encoded as IAM's blobs are; the CLI's
// --bootstrap-method Base32StringSeed writes it out). No QR code is made.
func (s *Server) createVirtualMFADevice(rc *request) (any, *Error) {
	var v validation
	name := v.str(rc.p, "VirtualMFADeviceName", true, mfaName)
	path := v.str(rc.p, "Path", false, pathShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	serial := mfaARN(rc.account(), path, name)
	if e := s.authorize(rc, "iam:CreateVirtualMFADevice", serial); e != nil {
		return nil, e
	}
	if _, ok := s.pending.get(serial); ok {
		return nil, errAlreadyExists("MFADevice entity at the same path and name already exists.")
	}
	if _, err := s.store.MFADevice(rc.ctx, serial); err == nil {
		return nil, errAlreadyExists("MFADevice entity at the same path and name already exists.")
	}
	s.randMu.Lock()
	d, _, err := sts.NewVirtualMFADevice(rc.account(), "", name, s.rand)
	s.randMu.Unlock()
	if err != nil {
		s.log.Error("iam: making an MFA device", "err", err)
		return nil, errInternal()
	}
	d.SerialNumber, d.CreatedAt = serial, s.now()
	if !s.pending.put(d) {
		return nil, errLimitExceeded("Cannot exceed quota for unassigned virtual MFA devices: %d", maxPendingDevices)
	}
	return createVirtualMFADeviceResult{VirtualMFADevice: xmlVirtualMFADevice{
		SerialNumber: serial, Base32StringSeed: base64.StdEncoding.EncodeToString([]byte(d.Secret)),
	}}, nil
}

// enableMFADevice gives an unassigned device to a user once two
// consecutive codes of it check out.
func (s *Server) enableMFADevice(rc *request) (any, *Error) {
	var v validation
	uname := v.str(rc.p, "UserName", true, userName)
	serial := v.str(rc.p, "SerialNumber", true, serialShape)
	code1 := v.str(rc.p, "AuthenticationCode1", true, authCode)
	code2 := v.str(rc.p, "AuthenticationCode2", true, authCode)
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, e := s.loadUser(rc, uname, "iam:EnableMFADevice")
	if e != nil {
		return nil, e
	}
	d, ok := s.pending.get(serial)
	if !ok || d.AccountID != rc.account() {
		if _, err := s.store.MFADevice(rc.ctx, serial); err == nil {
			return nil, errAlreadyExists("MFA Device is already in use.")
		}
		return nil, errNoSuchEntity("VirtualMFADevice with serial number %s doesn't exist.", serial)
	}
	if !consecutiveCodes(d, code1, code2, s.now()) {
		return nil, newError(CodeInvalidAuthenticationCode, http.StatusForbidden, "Authentication code for device is not valid.")
	}
	d.UserName, d.CreatedAt = u.Name, s.now()
	if _, err := s.store.PutMFADevice(rc.ctx, d); err != nil {
		return nil, s.storeError(rc, err, msgNoUser(uname))
	}
	s.pending.remove(serial)
	return nil, nil
}

// consecutiveCodes reports whether c1 and c2 are the device's codes of two
// consecutive 30-second steps, the later one now or just before.
func consecutiveCodes(d rolestore.MFADevice, c1, c2 string, now time.Time) bool {
	for back := 0; back <= 2; back++ {
		t := now.Add(-time.Duration(back) * 30 * time.Second)
		a, err1 := sts.MFACode(d, t.Add(-30*time.Second))
		b, err2 := sts.MFACode(d, t)
		if err1 == nil && err2 == nil && a == c1 && b == c2 {
			return true
		}
	}
	return false
}

type xmlMFADevice struct {
	UserName     string `xml:"UserName"`
	SerialNumber string `xml:"SerialNumber"`
	EnableDate   string `xml:"EnableDate"`
}

type listMFADevicesResult struct {
	MFADevices  members[xmlMFADevice] `xml:"MFADevices"`
	IsTruncated bool                  `xml:"IsTruncated"`
	Marker      string                `xml:"Marker,omitempty"`
}

func (s *Server) listMFADevices(rc *request) (any, *Error) {
	u, pg, e := s.listOwned(rc, "iam:ListMFADevices")
	if e != nil {
		return nil, e
	}
	ds, err := s.store.MFADevices(rc.ctx, rc.account(), u.Name)
	if err != nil {
		return nil, s.storeError(rc, err, msgNoUser(u.Name))
	}
	out := make([]xmlMFADevice, 0, len(ds))
	for _, d := range ds {
		out = append(out, xmlMFADevice{UserName: u.Name, SerialNumber: d.SerialNumber, EnableDate: isoTime(d.CreatedAt)})
	}
	items, trunc, marker := paginate(out, pg)
	return listMFADevicesResult{MFADevices: list(items), IsTruncated: trunc, Marker: marker}, nil
}

// deactivateMFADevice takes a device from its user; it is unassigned
// again (kept in memory) until enabled for someone or deleted.
func (s *Server) deactivateMFADevice(rc *request) (any, *Error) {
	var v validation
	uname := v.str(rc.p, "UserName", true, userName)
	serial := v.str(rc.p, "SerialNumber", true, serialShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, e := s.loadUser(rc, uname, "iam:DeactivateMFADevice")
	if e != nil {
		return nil, e
	}
	d, err := s.store.MFADevice(rc.ctx, serial)
	if err == nil && !d.OwnedBy(rc.account(), u.Name) {
		err = rolestore.ErrNotFound
	}
	if err != nil {
		return nil, s.storeError(rc, err, "MFA Device with serial number "+serial+" does not exist.")
	}
	if err := s.store.DeleteMFADevice(rc.ctx, serial); err != nil {
		return nil, s.storeError(rc, err, "MFA Device with serial number "+serial+" does not exist.")
	}
	d.UserName = ""
	s.pending.put(d)
	return nil, nil
}

func (s *Server) deleteVirtualMFADevice(rc *request) (any, *Error) {
	var v validation
	serial := v.str(rc.p, "SerialNumber", true, serialShape)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:DeleteVirtualMFADevice", serial); e != nil {
		return nil, e
	}
	if d, ok := s.pending.get(serial); ok && d.AccountID == rc.account() {
		s.pending.remove(serial)
		return nil, nil
	}
	_, err := s.store.MFADevice(rc.ctx, serial)
	switch {
	case err == nil:
		return nil, errDeleteConflict("MFA Device is still in use")
	case errors.Is(err, rolestore.ErrNotFound):
		return nil, errNoSuchEntity("VirtualMFADevice with serial number %s doesn't exist.", serial)
	}
	return nil, s.storeError(rc, err, "")
}

type listVirtualMFADevicesResult struct {
	VirtualMFADevices members[xmlVirtualMFADevice] `xml:"VirtualMFADevices"`
	IsTruncated       bool                         `xml:"IsTruncated"`
	Marker            string                       `xml:"Marker,omitempty"`
}

// listVirtualMFADevices lists the assigned devices of the account's users
// and the unassigned ones.
func (s *Server) listVirtualMFADevices(rc *request) (any, *Error) {
	var v validation
	status := v.enum(rc.p, "AssignmentStatus", false, "Assigned", "Unassigned", "Any")
	pg := v.page(rc.p)
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:ListVirtualMFADevices", "*"); e != nil {
		return nil, e
	}
	var out []xmlVirtualMFADevice
	if status != "Unassigned" {
		users, err := s.store.Users(rc.ctx, rc.account())
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		for _, u := range users {
			ds, err := s.store.MFADevices(rc.ctx, rc.account(), u.Name)
			if err != nil {
				return nil, s.storeError(rc, err, "")
			}
			for _, d := range ds {
				ux := userXML(u, false)
				out = append(out, xmlVirtualMFADevice{SerialNumber: d.SerialNumber, User: &ux, EnableDate: isoTime(d.CreatedAt)})
			}
		}
	}
	if status != "Assigned" {
		for _, d := range s.pending.of(rc.account()) {
			out = append(out, xmlVirtualMFADevice{SerialNumber: d.SerialNumber})
		}
	}
	items, trunc, marker := paginate(out, pg)
	return listVirtualMFADevicesResult{VirtualMFADevices: list(items), IsTruncated: trunc, Marker: marker}, nil
}
