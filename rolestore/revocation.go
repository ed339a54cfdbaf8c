package rolestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// denied, or the zero time when they never were revoked. It is one lookup
// by primary key, cheap enough for every request.
func (s *SQLite) RevokedBefore(ctx context.Context, roleARN string) (time.Time, error) {
	var ns int64
	err := s.db.QueryRowContext(ctx, `SELECT not_before FROM revocations WHERE role_arn = ?`, roleARN).Scan(&ns)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("rolestore: revocation of %s: %w", roleARN, err)
	}
	return time.Unix(0, ns).UTC(), nil
}
