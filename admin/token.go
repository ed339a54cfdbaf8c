package admin

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/imdsemu/imdsemu/internal/keyfile"
)

// tokenBytes is the entropy of a generated token: 256 bits, written as 43
// base64url characters so that it can be pasted into a header.
const tokenBytes = 32

// TokenLen is the length of a generated token.
const TokenLen = (tokenBytes*8 + 5) / 6

// LoadOrCreateToken returns the bearer token stored at path, creating it
// (mode 0600, atomically, as internal/keyfile does for keys) with a fresh
// random token when it does not exist. created reports whether this call
// made it, so that the caller can show the token once, at the first start.
// r is the randomness (nil: crypto/rand).
func LoadOrCreateToken(path string, r io.Reader) (token string, created bool, err error) {
	if r == nil {
		r = rand.Reader
	}
	raw := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", false, fmt.Errorf("admin: generating a token: %w", err)
	}
	fresh := []byte(base64.RawURLEncoding.EncodeToString(raw))
	got, err := keyfile.LoadOrCreate(path, TokenLen, bytes.NewReader(fresh))
	if err != nil {
		return "", false, err
	}
	return string(got), bytes.Equal(got, fresh), nil
}
