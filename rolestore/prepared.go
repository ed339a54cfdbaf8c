package rolestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The queries of the reads on the hot paths: every mint reads the instance
// profile and its role (so that it uses the role the store has now), every
// STS request signed with a long-term access key reads the key and its
// user, and a permissions read that the cache cannot answer reads the user
// or role, its groups and the policy documents. Each is prepared once per
// store (see prepared), where a query by text would be parsed and planned
// by SQLite every time: half the cost of these lookups.
//
// A read passes the whole query as one of these constants, so that the
// text it runs is the text that was prepared.
const (
	selectRole  = `SELECT ` + roleColumns + ` FROM roles r WHERE `
	roleByName  = selectRole + `r.account_id = ? AND r.name = ?`
	roleByID    = selectRole + `r.role_id = ?`
	selectUser  = `SELECT ` + userColumns + ` FROM users u WHERE `
	userByName  = selectUser + `u.account_id = ? AND u.name = ?`
	userByID    = selectUser + `u.user_id = ?`
	groupsNamed = selectGroups + `g.account_id = ? AND g.name IN (SELECT value FROM json_each(?))` + groupsOrder

	selectProfiles = `SELECT p.account_id, p.name, p.path, p.profile_id, p.created_at, r.name
FROM instance_profiles p
LEFT JOIN instance_profile_roles pr ON pr.profile_pk = p.pk
LEFT JOIN roles r ON r.pk = pr.role_pk
WHERE `
	profilesOrder = `
ORDER BY p.account_id, p.name, p.pk, r.name`
	profileByName = selectProfiles + `p.account_id = ? AND p.name = ?` + profilesOrder

	accessKeyByID = `SELECT ` + accessKeyColumns + `
FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk WHERE k.id = ?`

	customerPolicyByName = `SELECT pk, path FROM managed_policies WHERE account_id = ? AND name = ?`
	defaultDocument      = `SELECT v.document FROM managed_policies mp
JOIN policy_versions v ON v.policy_pk = mp.pk AND v.version = mp.default_version WHERE mp.pk = ?`
)

// hotQueries lists the queries that OpenSQLite prepares.
func hotQueries() []string {
	return []string{
		roleByName, roleByID, userByName, userByID, groupsNamed, profileByName, accessKeyByID,
		customerPolicyByName, defaultDocument,
	}
}

// prepared holds a store's prepared statements by their query text. It is
// filled by OpenSQLite and read-only after, so safe for concurrent use;
// database/sql prepares each statement again on every connection it runs
// on, once.
type prepared map[string]*sql.Stmt

func prepare(ctx context.Context, db *sql.DB) (prepared, error) {
	p := prepared{}
	for _, q := range hotQueries() {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare: %w", err), p.close())
		}
		p[q] = st
	}
	return p, nil
}

// close closes the statements; the database is closed after.
func (p prepared) close() error {
	var errs []error
	for _, st := range p {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// preparedQuerier runs the queries that have a prepared statement from it,
// on tx when in a transaction, and any other query on q.
type preparedQuerier struct {
	q  querier
	tx *sql.Tx // nil outside a transaction
	p  prepared
	// inTx are tx's statements made from p, so that a query run again in
	// the transaction reuses its statement.
	inTx map[string]*sql.Stmt
}

// reader is the querier for reads outside a transaction.
func (s *SQLite) reader() querier { return &s.readerQ }

// inTx is the querier for reads in the transaction tx. The statements it
// runs there are tx's own and are closed with it.
func (s *SQLite) inTx(tx *sql.Tx) querier { return &preparedQuerier{q: tx, tx: tx, p: s.stmts} }

func (q *preparedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.p[query]
	if st == nil || q.tx == nil {
		return st
	}
	if own := q.inTx[query]; own != nil {
		return own
	}
	own := q.tx.StmtContext(ctx, st)
	if q.inTx == nil {
		q.inTx = make(map[string]*sql.Stmt, 4)
	}
	q.inTx[query] = own
	return own
}

func (q *preparedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.q.QueryContext(ctx, query, args...)
}

func (q *preparedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.q.QueryRowContext(ctx, query, args...)
}
