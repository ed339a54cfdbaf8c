package sts

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// messageVersion marks a sealed authorization message. It differs from
// tokenVersion, so a message never opens as a session token or the reverse.
const messageVersion = 0x81

// ErrBadMessage is returned by OpenMessage for anything it did not seal.
var ErrBadMessage = errors.New("sts: not an authorization message sealed by this imdsemu")

// SealMessage encrypts and authenticates an authorization failure message
// (the explanation of a denial) under the sealing key, for
// DecodeAuthorizationMessage: the caller sees only an opaque string, and
// only a principal allowed sts:DecodeAuthorizationMessage reads it.
func (i *Issuer) SealMessage(plain []byte) (string, error) {
	n := i.aead.NonceSize()
	out := make([]byte, 1+len(i.keyID)+n, 1+len(i.keyID)+n+len(plain)+i.aead.Overhead())
	out[0] = messageVersion
	copy(out[1:], i.keyID[:])
	if _, err := io.ReadFull(i.rand, out[5:]); err != nil {
		return "", fmt.Errorf("sts: nonce: %w", err)
	}
	out = i.aead.Seal(out, out[5:5+n], plain, out[:5])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// OpenMessage reverses SealMessage. Any failure is ErrBadMessage.
func (i *Issuer) OpenMessage(msg string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(msg)
	n := i.aead.NonceSize()
	if err != nil || len(raw) < 1+len(i.keyID)+n+i.aead.Overhead() || raw[0] != messageVersion || [4]byte(raw[1:5]) != i.keyID {
		return nil, ErrBadMessage
	}
	plain, err := i.aead.Open(nil, raw[5:5+n], raw[5+n:], raw[:5])
	if err != nil {
		return nil, ErrBadMessage
	}
	return plain, nil
}
