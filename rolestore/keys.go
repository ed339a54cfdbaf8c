package rolestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Entity names used in ValidationError.Entity.
const (
	EntityAccessKey = "access key"
	EntityMFADevice = "MFA device"
)

// IAM quotas for long-term credentials.
const (
	// MaxAccessKeysPerUser is how many access keys (active or not) IAM
	// lets one user, or the root user, have.
	MaxAccessKeysPerUser = 2
	// MaxMFADevicesPerUser is how many MFA devices IAM lets one user have.
	MaxMFADevicesPerUser = 8
)

// AccessKeyStatus is Active or Inactive, as in IAM.
type AccessKeyStatus string

// The two access key states. An inactive key fails every request with
// InvalidClientTokenId, as in AWS.
const (
	AccessKeyActive   AccessKeyStatus = "Active"
	AccessKeyInactive AccessKeyStatus = "Inactive"
)

// Immutable after package initialisation and safe for concurrent use.
var (
	accessKeyIDRe = pattern.Lazy(`^AKIA[A-Z2-7]{16}$`)
	secretKeyRe   = pattern.Lazy(`^[A-Za-z0-9+/]{40}$`)
	mfaSerialRe   = pattern.Lazy(`^arn:aws:iam::([0-9]{12}):mfa/([\x21-\x7E]*/)?([\w+=,.@-]+)$`)
	totpSecretRe  = pattern.MustCompile(`^[A-Z2-7]+$`, 16, 128) // before any = padding
)

// AccessKey is a long-term access key of an IAM user or of the account root
// user (UserName ""). The secret is what a client signs with; it is never
// logged (see LogValue).
type AccessKey struct {
	// ID is "AKIA" and 16 characters of [A-Z2-7].
	ID string
	// SecretAccessKey is 40 characters of base64.
	SecretAccessKey string
	AccountID       string
	// UserName is the owning user's name, or "" for the account root user.
	UserName string
	// UserID is filled in by the store on reads: the owner's AIDA... ID, or
	// the account ID for the root user, as GetCallerIdentity reports it.
	UserID    string
	Status    AccessKeyStatus
	CreatedAt time.Time
}

// LogValue keeps the secret out of logs.
func (k AccessKey) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", k.ID),
		slog.String("account", k.AccountID),
		slog.String("user", k.UserName),
		slog.String("status", string(k.Status)),
	)
}

// Root reports whether the key belongs to the account root user.
func (k AccessKey) Root() bool { return k.UserName == "" }

// Validate checks the key's shape. It never puts the secret in an error.
func (k AccessKey) Validate() error {
	bad := func(field, value, reason string) error {
		return &ValidationError{Entity: EntityAccessKey, Name: k.ID, Field: field, Value: value, Reason: reason}
	}
	if !accessKeyIDRe.MatchString(k.ID) {
		return bad("ID", short(k.ID), `must be "AKIA" followed by 16 characters of A-Z and 2-7`)
	}
	if !secretKeyRe.MatchString(k.SecretAccessKey) {
		return bad("SecretAccessKey", "", "must be 40 characters of A-Z, a-z, 0-9, + and /")
	}
	if !accountIDRe.MatchString(k.AccountID) {
		return bad("AccountID", k.AccountID, "must be 12 digits")
	}
	if k.UserName != "" {
		if err := checkName(k.UserName, 64); err != "" {
			return bad("UserName", short(k.UserName), err)
		}
	}
	if k.Status != AccessKeyActive && k.Status != AccessKeyInactive {
		return bad("Status", short(string(k.Status)), `must be "Active" or "Inactive"`)
	}
	return nil
}

// ownerPK returns the pk of the user owning a key or device (NULL for the
// root user), or a *ValidationError when the user does not exist.
func ownerPK(ctx context.Context, tx *sql.Tx, entity, name, accountID, userName string) (sql.NullInt64, error) {
	if err := accountExists(ctx, tx, entity, name, accountID); err != nil {
		return sql.NullInt64{}, err
	}
	if userName == "" {
		return sql.NullInt64{}, nil
	}
	var pk int64
	err := tx.QueryRowContext(ctx, `SELECT pk FROM users WHERE account_id = ? AND name = ?`, accountID, userName).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.NullInt64{}, &ValidationError{Entity: entity, Name: name, Field: "UserName", Value: userName,
			Reason: fmt.Sprintf("is not a user in account %s", accountID)}
	}
	if err != nil {
		return sql.NullInt64{}, fmt.Errorf("rolestore: user %s/%s: %w", accountID, userName, err)
	}
	return sql.NullInt64{Int64: pk, Valid: true}, nil
}

func ownerLabel(accountID, userName string) string {
	if userName == "" {
		return "the root user of account " + accountID
	}
	return fmt.Sprintf("user %s in account %s", userName, accountID)
}

// PutAccessKey stores a new access key. The account and user must exist;
// an owner that already has MaxAccessKeysPerUser keys gets an error wrapping
// ErrLimitExceeded, and an ID already in use one wrapping ErrConflict.
func (s *SQLite) PutAccessKey(ctx context.Context, k AccessKey) (AccessKey, error) {
	if err := k.Validate(); err != nil {
		return AccessKey{}, err
	}
	err := s.write(ctx, "put access key", func(tx *sql.Tx) error {
		owner, err := ownerPK(ctx, tx, EntityAccessKey, k.ID, k.AccountID, k.UserName)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_keys WHERE account_id = ? AND user_pk IS ?`,
			k.AccountID, owner).Scan(&n); err != nil {
			return fmt.Errorf("rolestore: put access key %s: %w", k.ID, err)
		}
		if n >= MaxAccessKeysPerUser {
			return fmt.Errorf("%s already has %d access keys, the most IAM allows; delete one first: %w",
				ownerLabel(k.AccountID, k.UserName), n, ErrLimitExceeded)
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM access_keys WHERE id = ?`, k.ID).Scan(&one)
		switch {
		case err == nil:
			return fmt.Errorf("access key %s already exists: %w", k.ID, ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("rolestore: put access key %s: %w", k.ID, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO access_keys (id, account_id, user_pk, secret, status, created_at)
VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.AccountID, owner, k.SecretAccessKey, string(k.Status), s.createdAt(k.CreatedAt))
		if err != nil {
			return fmt.Errorf("rolestore: put access key %s: %w", k.ID, err)
		}
		return nil
	})
	if err != nil {
		return AccessKey{}, err
	}
	return s.AccessKey(ctx, k.ID)
}

const accessKeyColumns = `k.id, k.account_id, COALESCE(u.name, ''), COALESCE(u.user_id, ''), k.secret, k.status, k.created_at`

func scanAccessKey(row scanner) (AccessKey, error) {
	var (
		k       AccessKey
		status  string
		created int64
	)
	if err := row.Scan(&k.ID, &k.AccountID, &k.UserName, &k.UserID, &k.SecretAccessKey, &status, &created); err != nil {
		return AccessKey{}, err
	}
	if k.UserID == "" {
		k.UserID = k.AccountID
	}
	k.Status = AccessKeyStatus(status)
	k.CreatedAt = time.Unix(0, created).UTC()
	return k, nil
}

// AccessKey returns the access key with the given ID, or an error wrapping
// ErrNotFound. STS asks on every request signed with a long-term key, so
// the answers are kept in memory while nothing is committed (see caches).
func (s *SQLite) AccessKey(ctx context.Context, id string) (AccessKey, error) {
	return cachedRead(ctx, s, &s.cache.keys, id, func() (AccessKey, error) { return s.readAccessKey(ctx, id) })
}

func (s *SQLite) readAccessKey(ctx context.Context, id string) (AccessKey, error) {
	k, err := scanAccessKey(s.reader().QueryRowContext(ctx, accessKeyByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return AccessKey{}, fmt.Errorf("access key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return AccessKey{}, fmt.Errorf("rolestore: access key %s: %w", id, err)
	}
	return k, nil
}

// AccessKeys lists the keys of one user (userName "" for the root user) in
// order of creation.
func (s *SQLite) AccessKeys(ctx context.Context, accountID, userName string) ([]AccessKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accessKeyColumns+`
FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk
WHERE k.account_id = ? AND COALESCE(u.name, '') = ? COLLATE NOCASE
ORDER BY k.created_at, k.id`, accountID, userName)
	if err != nil {
		return nil, fmt.Errorf("rolestore: list access keys: %w", err)
	}
	defer rows.Close()
	var out []AccessKey
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, fmt.Errorf("rolestore: list access keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rolestore: list access keys: %w", err)
	}
	return out, nil
}

// SetAccessKeyStatus activates or deactivates a key.
func (s *SQLite) SetAccessKeyStatus(ctx context.Context, id string, status AccessKeyStatus) error {
	if status != AccessKeyActive && status != AccessKeyInactive {
		return &ValidationError{Entity: EntityAccessKey, Name: id, Field: "Status", Value: short(string(status)),
			Reason: `must be "Active" or "Inactive"`}
	}
	return s.write(ctx, "set access key status", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE access_keys SET status = ? WHERE id = ?`, string(status), id)
		if err != nil {
			return fmt.Errorf("rolestore: set access key status %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("access key %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// DeleteAccessKey deletes a key.
func (s *SQLite) DeleteAccessKey(ctx context.Context, id string) error {
	return s.write(ctx, "delete access key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("rolestore: delete access key %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("access key %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// MFADevice is a virtual (TOTP) MFA device of a user or of the root user
// (UserName ""). Secret is the base32 TOTP seed; it is never logged.
type MFADevice struct {
	// SerialNumber is the device ARN, arn:aws:iam::ACCOUNT:mfa/NAME, which
	// clients pass as SerialNumber.
	SerialNumber string
	AccountID    string
	UserName     string
	Secret       string
	CreatedAt    time.Time
}

// LogValue keeps the seed out of logs.
func (d MFADevice) LogValue() slog.Value {
	return slog.GroupValue(slog.String("serial", d.SerialNumber), slog.String("user", d.UserName))
}

// MFASerial returns the serial number (ARN) of a virtual MFA device.
func MFASerial(accountID, deviceName string) string {
	return "arn:aws:iam::" + accountID + ":mfa/" + deviceName
}

// Validate checks the device's shape.
func (d MFADevice) Validate() error {
	bad := func(field, value, reason string) error {
		return &ValidationError{Entity: EntityMFADevice, Name: d.SerialNumber, Field: field, Value: value, Reason: reason}
	}
	m := mfaSerialRe.FindStringSubmatch(d.SerialNumber)
	if m == nil || len(m[3]) > 226 {
		return bad("SerialNumber", short(d.SerialNumber), "must be arn:aws:iam::ACCOUNT:mfa/NAME with NAME matching [\\w+=,.@-]{1,226}")
	}
	if m[1] != d.AccountID {
		return bad("AccountID", d.AccountID, "must be the account in the serial number")
	}
	if d.UserName != "" {
		if err := checkName(d.UserName, 64); err != "" {
			return bad("UserName", short(d.UserName), err)
		}
	}
	if !totpSecretRe.MatchString(strings.TrimRight(d.Secret, "=")) {
		return bad("Secret", "", "must be 16 to 128 base32 characters")
	}
	return nil
}

// PutMFADevice stores a new MFA device. The serial number must be unused
// (ErrConflict) and the owner must have fewer than MaxMFADevicesPerUser
// devices (ErrLimitExceeded).
func (s *SQLite) PutMFADevice(ctx context.Context, d MFADevice) (MFADevice, error) {
	if err := d.Validate(); err != nil {
		return MFADevice{}, err
	}
	err := s.write(ctx, "put MFA device", func(tx *sql.Tx) error {
		owner, err := ownerPK(ctx, tx, EntityMFADevice, d.SerialNumber, d.AccountID, d.UserName)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_devices WHERE account_id = ? AND user_pk IS ?`,
			d.AccountID, owner).Scan(&n); err != nil {
			return fmt.Errorf("rolestore: put MFA device: %w", err)
		}
		if n >= MaxMFADevicesPerUser {
			return fmt.Errorf("%s already has %d MFA devices, the most IAM allows: %w", ownerLabel(d.AccountID, d.UserName), n, ErrLimitExceeded)
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM mfa_devices WHERE serial = ?`, d.SerialNumber).Scan(&one)
		switch {
		case err == nil:
			return fmt.Errorf("MFA device %s already exists: %w", d.SerialNumber, ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("rolestore: put MFA device: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mfa_devices (serial, account_id, user_pk, secret, created_at)
VALUES (?, ?, ?, ?, ?)`, d.SerialNumber, d.AccountID, owner, d.Secret, s.createdAt(d.CreatedAt))
		if err != nil {
			return fmt.Errorf("rolestore: put MFA device: %w", err)
		}
		return nil
	})
	if err != nil {
		return MFADevice{}, err
	}
	return s.MFADevice(ctx, d.SerialNumber)
}

// MFADevice returns the device with the given serial number, or an error
// wrapping ErrNotFound.
func (s *SQLite) MFADevice(ctx context.Context, serial string) (MFADevice, error) {
	var (
		d       MFADevice
		created int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT d.serial, d.account_id, COALESCE(u.name, ''), d.secret, d.created_at
FROM mfa_devices d LEFT JOIN users u ON u.pk = d.user_pk WHERE d.serial = ?`, serial).
		Scan(&d.SerialNumber, &d.AccountID, &d.UserName, &d.Secret, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return MFADevice{}, fmt.Errorf("MFA device %s: %w", serial, ErrNotFound)
	}
	if err != nil {
		return MFADevice{}, fmt.Errorf("rolestore: MFA device %s: %w", serial, err)
	}
	d.CreatedAt = time.Unix(0, created).UTC()
	return d, nil
}

// OwnedBy reports whether the device belongs to the user userName (the
// root user when "") of accountID.
func (d MFADevice) OwnedBy(accountID, userName string) bool {
	return d.AccountID == accountID && strings.EqualFold(d.UserName, userName)
}
