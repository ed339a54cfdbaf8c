package sts

import (
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/imdsemu/imdsemu/rolestore"
)

// Long-term credentials: the access keys of users and of the account root,
// and virtual MFA devices, made as the STS API checks them.

// NewLongTermKey makes an active long-term access key (AKIA…, with the
// account encoded as AWS does) for owner, a user of account or "" for the
// account root user, with randomness from r (crypto/rand when nil). The
// caller stores it.
func NewLongTermKey(account, owner string, r io.Reader) (rolestore.AccessKey, error) {
	if r == nil {
		r = rand.Reader
	}
	id, err := NewAccessKeyIDForAccount("AKIA", account, r)
	if err != nil {
		return rolestore.AccessKey{}, err
	}
	secret, err := NewSecretAccessKey(r)
	if err != nil {
		return rolestore.AccessKey{}, err
	}
	return rolestore.AccessKey{ID: id, SecretAccessKey: secret, AccountID: account, UserName: owner, Status: rolestore.AccessKeyActive}, nil
}

// mfaOpts are the TOTP parameters of virtual MFA devices: RFC 6238's
// defaults, as AWS's virtual devices use them.
var mfaOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewVirtualMFADevice makes a virtual MFA device named device for owner (a
// user of account, or "" for the root user), with a seed read from r
// (crypto/rand when nil). It returns the device to store and its otpauth://
// URI, which holds the seed, for an authenticator app.
func NewVirtualMFADevice(account, owner, device string, r io.Reader) (rolestore.MFADevice, string, error) {
	if r == nil {
		r = rand.Reader
	}
	label := owner
	if label == "" {
		label = "root"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: "imdsemu", AccountName: label + "@" + account, Rand: r,
		Period: uint(mfaOpts.Period), Digits: mfaOpts.Digits, Algorithm: mfaOpts.Algorithm,
	})
	if err != nil {
		return rolestore.MFADevice{}, "", fmt.Errorf("sts: MFA device: %w", err)
	}
	d := rolestore.MFADevice{SerialNumber: rolestore.MFASerial(account, device), AccountID: account, UserName: owner, Secret: key.Secret()}
	return d, key.URL(), nil
}

// MFACode is the device's code at t, as an authenticator app shows it.
func MFACode(d rolestore.MFADevice, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(d.Secret, t, mfaOpts)
}

// validMFACode reports whether code is the device's code at t, give or take
// one period.
func validMFACode(d rolestore.MFADevice, code string, t time.Time) bool {
	ok, err := totp.ValidateCustom(code, d.Secret, t, mfaOpts)
	return err == nil && ok
}
