package rolestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Revoke records that every session of the role issued before notBefore is
// denied: AWS's "Revoke active sessions" (the AWSRevokeOlderSessions policy,
// a Deny on aws:TokenIssueTime). Revoking again moves the time, forwards or
// backwards. The role must exist.
func (s *SQLite) Revoke(ctx context.Context, roleARN string, notBefore time.Time) error {
	if _, err := s.RoleByARN(ctx, roleARN); err != nil {
		return err
	}
	return s.write(ctx, "revoke", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations (role_arn, not_before) VALUES (?, ?)
ON CONFLICT (role_arn) DO UPDATE SET not_before = excluded.not_before`, roleARN, notBefore.UnixNano())
		if err != nil {
			return fmt.Errorf("rolestore: revoke %s: %w", roleARN, err)
		}
		return nil
	})
}

// RevokedBefore returns the time before which the role's sessions are
// denied, or the zero time when they never were revoked. STS asks on every
// request of a role session, so it answers from a copy of the table in
// memory that is never stale: see revocations.
func (s *SQLite) RevokedBefore(ctx context.Context, roleARN string) (time.Time, error) {
	set, err := s.rev.current(ctx, s.db)
	if err != nil {
		return time.Time{}, fmt.Errorf("rolestore: revocation of %s: %w", roleARN, err)
	}
	if set == nil { // no way to notice other processes' writes: ask SQLite
		return queryRevokedBefore(ctx, s.db, roleARN)
	}
	ns, ok := set.notBefore[roleARN]
	if !ok {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

func queryRevokedBefore(ctx context.Context, db *sql.DB, roleARN string) (time.Time, error) {
	var ns int64
	err := db.QueryRowContext(ctx, `SELECT not_before FROM revocations WHERE role_arn = ?`, roleARN).Scan(&ns)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("rolestore: revocation of %s: %w", roleARN, err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// walIndexHeaderSize is the size of the WAL-index header at the start of
// a database's -shm file (https://www.sqlite.org/walformat.html, "The
// WAL-Index Header"). SQLite rewrites it at every commit by any connection
// of any process: its change counter and last frame number move, and the
// checksum over it changes.
const walIndexHeaderSize = 48

// revocations is the revocations table in memory, for RevokedBefore. A
// revocation made by another process (`imdsemu revoke` writes the database
// file while `imdsemu serve` runs) must count from the very next request, so
// the copy is checked on every call, cheaply: the WAL-index header, which
// changes at every commit of any writer, is compared with the header seen
// when the copy was loaded. SQLite itself looks at these bytes to learn
// whether its page cache is current. They are mapped into memory, so the
// check makes no system call, where a SQL query (even PRAGMA data_version)
// begins a read transaction and takes the WAL's shared-memory locks with
// several fcntl calls, and a pread is still one call (several µs on a
// loaded VM). Commits through this store also move gen, which is all that
// protects the copy of an in-memory database (":memory:" has no WAL index,
// and no other process), or where the index cannot be mapped.
//
// The -shm file stays open until the database is closed: POSIX record
// locks belong to the process, and closing any descriptor of a file drops
// all of them, including SQLite's own on the WAL index.
type revocations struct {
	path string        // the database file, or ":memory:"
	gen  atomic.Uint64 // moved after every commit through this store

	mu      sync.Mutex
	started bool
	// shm is the database's -shm file and mem its header mapped; conn is a
	// connection held open for as long as it is mapped, because SQLite
	// truncates and rebuilds the WAL index only when no connection of any
	// process has the database open. All nil for ":memory:".
	shm  *os.File
	mem  []byte
	conn *sql.Conn
	// off: the database is not in WAL mode (or its index cannot be
	// mapped), so nothing tells this process of other processes' commits:
	// RevokedBefore queries every time.
	off bool
	hdr [walIndexHeaderSize]byte // the header just read
	set *revocationSet
}

// revocationSet is one load of the table and what it was current for.
type revocationSet struct {
	gen       uint64
	hdr       [walIndexHeaderSize]byte
	notBefore map[string]int64 // role ARN -> UnixNano
}

// current returns the revocations as committed now, or nil when they
// cannot be kept in memory.
func (r *revocations) current(ctx context.Context, db *sql.DB) (*revocationSet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		if err := r.start(ctx, db); err != nil {
			return nil, err
		}
		r.started = true
	}
	if r.off {
		return nil, nil
	}
	// gen and the header are read before the table, so a commit that
	// races with the load makes the next call load again.
	gen := r.gen.Load()
	if r.mem != nil {
		copy(r.hdr[:], r.mem)
	}
	if r.set != nil && r.set.gen == gen && r.set.hdr == r.hdr {
		return r.set, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT role_arn, not_before FROM revocations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := &revocationSet{gen: gen, hdr: r.hdr, notBefore: map[string]int64{}}
	for rows.Next() {
		var arn string
		var ns int64
		if err := rows.Scan(&arn, &ns); err != nil {
			return nil, err
		}
		set.notBefore[arn] = ns
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	r.set = set
	return set, nil
}

// start opens what current reads: for a database file in WAL mode, a
// connection of its own and the -shm file.
func (r *revocations) start(ctx context.Context, db *sql.DB) error {
	if r.path == ":memory:" {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	var mode string
	// The query also makes the connection map the WAL index.
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		conn.Close()
		return err
	}
	if mode != "wal" {
		r.off = true
		return conn.Close()
	}
	shm, err := os.Open(r.path + "-shm")
	if err != nil {
		conn.Close()
		return fmt.Errorf("open the WAL index: %w", err)
	}
	mem, err := mapWALIndex(shm)
	if err != nil {
		// Not closed before the database is: see revocations.
		r.off, r.shm = true, shm
		return conn.Close()
	}
	r.conn, r.shm, r.mem = conn, shm, mem
	return nil
}

// close closes the database db after what start opened, in the order that
// keeps SQLite's locks: the connection, the database, then the -shm file.
func (r *revocations) close(db *sql.DB) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.conn != nil {
		errs = append(errs, r.conn.Close())
	}
	errs = append(errs, db.Close())
	if r.mem != nil {
		errs = append(errs, unmapWALIndex(r.mem))
	}
	if r.shm != nil {
		errs = append(errs, r.shm.Close())
	}
	r.shm, r.mem, r.conn, r.set = nil, nil, nil, nil
	return errors.Join(errs...)
}

// committed identifies the committed state of the database as this process
// sees it: the store's own commit count and the WAL-index header, which
// every commit of any process rewrites.
type committed struct {
	gen uint64
	hdr [walIndexHeaderSize]byte
}

// now returns the committed state, cheaply (no system call), or ok false
// when commits of other processes cannot be noticed, so that nothing read
// before may be trusted.
func (r *revocations) now(ctx context.Context, db *sql.DB) (c committed, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		if err := r.start(ctx, db); err != nil {
			return committed{}, false, err
		}
		r.started = true
	}
	if r.off {
		return committed{}, false, nil
	}
	c.gen = r.gen.Load()
	if r.mem != nil {
		copy(c.hdr[:], r.mem)
	}
	return c, true, nil
}
