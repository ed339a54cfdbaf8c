package admin

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

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

// Limits of a token read by ReadToken.
const (
	minTokenLen = 32
	maxTokenLen = 256
)

// ReadToken reads a bearer token someone else provisioned (a Kubernetes
// Secret mounted as a file, say): the file's content without a trailing
// newline. The token must be 32 to 256 characters of base64, base64url or
// the other unreserved URL characters, so a placeholder left in a manifest
// ("REPLACE ME ...") is refused. Its mode is the orchestrator's (Kubernetes
// mounts secrets 0644 by default, podman always), but a file others may
// write is refused: anyone could set the token.
func ReadToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return "", fmt.Errorf("admin token file %s has mode %v; others may write it (chmod o-w it)", path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	token := strings.TrimRight(string(raw), "\r\n")
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return "", fmt.Errorf("admin token file %s: the token must be %d to %d characters, not %d (make one: openssl rand -base64 32)", path, minTokenLen, maxTokenLen, len(token))
	}
	for _, c := range token {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.~+/=", c)
		if !ok {
			return "", fmt.Errorf("admin token file %s: the token may hold only A-Z a-z 0-9 - _ . ~ + / = (make one: openssl rand -base64 32)", path)
		}
	}
	return token, nil
}
