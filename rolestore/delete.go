package rolestore

import (
	"context"
	"database/sql"
	"fmt"
)

// DeleteUser deletes a user with its access keys and MFA devices. IAM's
// rule that a user must first lose its keys, policies and groups is the
// caller's to apply (the IAM API answers DeleteConflict).
func (s *SQLite) DeleteUser(ctx context.Context, accountID, name string) error {
	return s.write(ctx, "delete user", func(tx *sql.Tx) error {
		return deleteOne(ctx, tx, `DELETE FROM users WHERE account_id = ? AND name = ?`, "user", accountID, name)
	})
}

// DeleteInstanceProfile deletes an instance profile. IAM's rule that the
// profile must first lose its role is the caller's to apply.
func (s *SQLite) DeleteInstanceProfile(ctx context.Context, accountID, name string) error {
	return s.write(ctx, "delete instance profile", func(tx *sql.Tx) error {
		return deleteOne(ctx, tx, `DELETE FROM instance_profiles WHERE account_id = ? AND name = ?`, "instance profile", accountID, name)
	})
}

// deleteOne runs a DELETE of one entity by account and name; no row is
// ErrNotFound.
func deleteOne(ctx context.Context, tx *sql.Tx, query, what, accountID, name string) error {
	res, err := tx.ExecContext(ctx, query, accountID, name)
	if err != nil {
		return fmt.Errorf("rolestore: delete %s %s/%s: %w", what, accountID, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %s/%s: %w", what, accountID, name, ErrNotFound)
	}
	return nil
}
