// Package credential holds the one value temporary AWS credentials travel
// in, from the STS issuer through the refresher to the metadata server's
// documents, under one set of names: access key id, secret access key,
// session token, and when they were issued and expire.
//
// The wire formats name two fields differently, and only their writers
// translate: the IMDS credential document serves Issued as LastUpdated and
// Expires as Expiration, and calls SessionToken Token (as the ECS
// endpoint does); STS's XML calls Expires Expiration.
//
// A Value carries a secret. Its [Value.LogValue] and [Value.String] show
// only the [Public] part, which is also all the admin API shows about a
// generation; secret and token never reach a log line or an error message
// through them.
//
// The package is a leaf: it imports nothing of imdsemu's, so every package
// may use it, imds and refresher included.
package credential

import (
	"fmt"
	"log/slog"
	"time"
)

// Value is a set of temporary credentials. The zero Value holds none.
type Value struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Issued is when the credentials were minted (IMDS: LastUpdated).
	Issued time.Time
	// Expires is when they stop working (IMDS and STS: Expiration).
	Expires time.Time
}

// Public is what may be shown about a Value: everything but the secret
// access key and the session token.
type Public struct {
	AccessKeyID     string
	Issued, Expires time.Time
}

// Public returns v without its secrets.
func (v Value) Public() Public {
	return Public{AccessKeyID: v.AccessKeyID, Issued: v.Issued, Expires: v.Expires}
}

// LogValue keeps the secret and the token out of logs.
func (v Value) LogValue() slog.Value { return v.Public().LogValue() }

// String keeps the secret and the token out of fmt's %v and %s.
func (v Value) String() string { return v.Public().String() }

// GoString keeps the secret and the token out of fmt's %#v.
func (v Value) GoString() string { return "credential.Value{" + v.Public().String() + "}" }

// LogValue groups the access key id and the two times.
func (p Public) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", p.AccessKeyID),
		slog.Time("issued", p.Issued),
		slog.Time("expires", p.Expires),
	)
}

// String is "ACCESS-KEY-ID (issued TIME, expires TIME)".
func (p Public) String() string {
	return fmt.Sprintf("%s (issued %s, expires %s)", p.AccessKeyID, p.Issued.Format(time.RFC3339), p.Expires.Format(time.RFC3339))
}
