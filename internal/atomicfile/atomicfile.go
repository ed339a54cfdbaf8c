// Package atomicfile writes files that must never be seen half-written: keys,
// tokens, certificates and credentials files.
//
// Every write goes to a temporary file in the destination's directory, which
// is given its mode, written, fsynced and closed before it is put in place;
// the directory is fsynced afterwards so the new name survives a crash. A
// reader therefore sees the old file, or no file, or the whole new one.
//
// Create links the temporary file into place and so never replaces an
// existing file: when two processes create the same key at once, exactly one
// wins and the other reads the winner's key. Replace renames it into place,
// replacing whatever was there.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Create writes data to path with the given permission bits unless path
// already exists. When it does (another process created it first), Create
// leaves it untouched and returns an error that wraps fs.ErrExist.
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, os.Link)
}

// Replace writes data to path with the given permission bits, replacing any
// file already there.
func Replace(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, os.Rename)
}

// write puts data in a synced temporary file beside path and calls place to
// move it to path.
func write(path string, data []byte, perm fs.FileMode, place func(oldname, newname string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	// After a rename this removes nothing; after a link, or on failure, it
	// removes the temporary name.
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("atomicfile: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("atomicfile: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := place(tmp.Name(), path); err != nil {
		// *os.LinkError keeps fs.ErrExist reachable through errors.Is.
		return fmt.Errorf("atomicfile: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", dir, err)
	}
	return nil
}
