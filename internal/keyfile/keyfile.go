// Package keyfile loads a secret key from a file in the data directory, creating
// it with fresh random bytes and mode 0600 the first time.
//
// The key is written with internal/atomicfile's Create, so a crash never
// leaves a short or empty key behind, and two processes starting at once end
// up with the same key.
package keyfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/imdsemu/imdsemu/internal/atomicfile"
)

// LoadOrCreate returns the n-byte key stored at path. When the file does not
// exist it is created with n bytes read from r (crypto/rand when r is nil).
// An existing file of the wrong size, or one readable by group or others, is an
// error: a key that may have leaked is not silently reused.
func LoadOrCreate(path string, n int, r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	key, err := load(path, n)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	key = make([]byte, n)
	if _, err := io.ReadFull(r, key); err != nil {
		return nil, fmt.Errorf("keyfile: generate %s: %w", filepath.Base(path), err)
	}
	// Create fails if another process created the key first; then use theirs.
	if err := atomicfile.Create(path, key, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return load(path, n)
		}
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	return key, nil
}

func load(path string, n int) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyfile: %s has mode %v; it must not be readable by group or others (chmod 600 it)", path, info.Mode().Perm())
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if len(key) != n {
		return nil, fmt.Errorf("keyfile: %s holds %d bytes, want %d; remove it to generate a new key (sessions sealed with the old key stop working)", path, len(key), n)
	}
	return key, nil
}
