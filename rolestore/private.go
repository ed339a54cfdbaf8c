package rolestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// sqliteSidecars are the files SQLite keeps beside the database in WAL mode.
// They hold pages of the database, secrets included.
var sqliteSidecars = [...]string{"-wal", "-shm"}

// ensurePrivate makes sure that the database at path and its directory are
// readable by their owner only: it refuses a directory or an existing
// database file (or WAL or shared-memory file) that group or others can
// read, saying which chmod fixes it, and it creates a missing database file
// with mode 0600. SQLite creates the -wal and -shm files with the mode of
// the database file, so they are 0600 too. MkdirAll(dir, 0700) does not
// tighten a directory that already exists, hence the check.
func ensurePrivate(path string) error {
	dir := filepath.Dir(path)
	if err := checkDirPrivate(dir); err != nil {
		return err
	}
	for _, name := range []string{path, path + sqliteSidecars[0], path + sqliteSidecars[1]} {
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rolestore: %w", err)
		}
		if p := info.Mode().Perm(); p&0o077 != 0 {
			return fmt.Errorf("rolestore: %s has mode %v; it holds secret keys and must not be readable by group or others (chmod 600 %s)", name, p, name)
		}
	}
	// An empty file is an empty SQLite database; creating it here is what
	// sets its mode, and so its sidecars'. (A umask only ever removes bits.)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rolestore: %w", err)
	}
	return f.Close()
}

// checkDirPrivate refuses a directory that group or others can list or
// enter. Only access they really have counts: a directory under a parent
// they cannot pass through (such as a test's temporary directory inside a
// 0700 one) is private whatever its own mode.
func checkDirPrivate(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("rolestore: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("rolestore: %w", err)
	}
	mode := info.Mode().Perm()
	open := mode & 0o077
	for p := filepath.Dir(abs); open != 0; p = filepath.Dir(p) {
		pi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("rolestore: %w", err)
		}
		pass := fs.FileMode(0)
		if pi.Mode()&0o010 != 0 {
			pass |= 0o070
		}
		if pi.Mode()&0o001 != 0 {
			pass |= 0o007
		}
		open &= pass
		if p == filepath.Dir(p) {
			break
		}
	}
	if open != 0 {
		return fmt.Errorf("rolestore: data directory %s has mode %v and its parents let group or others reach it; it holds secret keys (chmod 700 %s)", dir, mode, dir)
	}
	return nil
}
