package rolestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MFADevices lists the MFA devices of a user of accountID (the root user's
// when userName is ""), oldest first.
func (s *SQLite) MFADevices(ctx context.Context, accountID, userName string) ([]MFADevice, error) {
	var (
		rows *sql.Rows
		err  error
	)
	const q = `SELECT d.serial, d.account_id, COALESCE(u.name, ''), d.secret, d.created_at
FROM mfa_devices d LEFT JOIN users u ON u.pk = d.user_pk WHERE d.account_id = ? AND `
	if userName == "" {
		rows, err = s.db.QueryContext(ctx, q+`d.user_pk IS NULL ORDER BY d.created_at, d.serial`, accountID)
	} else {
		rows, err = s.db.QueryContext(ctx, q+`u.name = ? ORDER BY d.created_at, d.serial`, accountID, userName)
	}
	if err != nil {
		return nil, fmt.Errorf("rolestore: list MFA devices: %w", err)
	}
	defer rows.Close()
	var out []MFADevice
	for rows.Next() {
		var (
			d       MFADevice
			created int64
		)
		if err := rows.Scan(&d.SerialNumber, &d.AccountID, &d.UserName, &d.Secret, &created); err != nil {
			return nil, fmt.Errorf("rolestore: list MFA devices: %w", err)
		}
		d.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list MFA devices: %w", err)
	}
	return out, nil
}

// DeleteMFADevice deletes a device by serial number.
func (s *SQLite) DeleteMFADevice(ctx context.Context, serial string) error {
	return s.write(ctx, "delete MFA device", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mfa_devices WHERE serial = ?`, serial)
		if err != nil {
			return fmt.Errorf("rolestore: delete MFA device %s: %w", serial, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("MFA device %s: %w", serial, ErrNotFound)
		}
		return nil
	})
}
