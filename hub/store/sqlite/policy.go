package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaPolicy keeps every version of the login policy (hub/policy's JSON
// document). Versions are history: like the audit log, they are never
// rewritten.
const schemaPolicy = `
CREATE TABLE policy_rules (
	version    INTEGER PRIMARY KEY,
	document   TEXT NOT NULL,
	changed_by TEXT NOT NULL,
	changed    INTEGER NOT NULL
);
CREATE TRIGGER policy_rules_no_update BEFORE UPDATE ON policy_rules
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
CREATE TRIGGER policy_rules_no_delete BEFORE DELETE ON policy_rules
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
`

const policyCols = `version, document, changed_by, changed`

func scanPolicy(s scanner) (store.PolicyVersion, error) {
	var (
		p       store.PolicyVersion
		doc     string
		changed int64
	)
	if err := s.Scan(&p.Version, &doc, &p.ChangedBy, &changed); err != nil {
		return store.PolicyVersion{}, err
	}
	p.Document, p.Changed = []byte(doc), fromNanos(changed)
	return p, nil
}

func (o ops) GetPolicy(ctx context.Context) (store.PolicyVersion, error) {
	p, err := scanPolicy(o.read.QueryRowContext(ctx, `SELECT `+policyCols+` FROM policy_rules ORDER BY version DESC LIMIT 1`))
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("get policy: %w", mapErr(err))
	}
	return p, nil
}

func (o ops) UpdatePolicy(ctx context.Context, fn func(store.PolicyVersion) (store.PolicyVersion, error)) (store.PolicyVersion, error) {
	var out store.PolicyVersion
	err := o.write(ctx, func(q querier) error {
		old, err := scanPolicy(q.QueryRowContext(ctx, `SELECT `+policyCols+` FROM policy_rules ORDER BY version DESC LIMIT 1`))
		if err = mapErr(err); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		next, err := fn(old)
		if err != nil {
			return err
		}
		next.Version, next.Changed = old.Version+1, utc(next.Changed)
		if err := checkTimes(next.Changed); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO policy_rules (`+policyCols+`) VALUES (?, ?, ?, ?)`,
			next.Version, string(next.Document), next.ChangedBy, nanos(next.Changed)); err != nil {
			return fmt.Errorf("store policy version %d: %w", next.Version, mapErr(err))
		}
		out = next
		return nil
	})
	if err != nil {
		return store.PolicyVersion{}, err
	}
	return out, nil
}

func (o ops) ListPolicyVersions(ctx context.Context, limit int) ([]store.PolicyVersion, error) {
	lim, largs := page(0, limit)
	ps, err := queryAll(ctx, o.read, scanPolicy, `SELECT `+policyCols+` FROM policy_rules ORDER BY version DESC`+lim, largs...)
	if err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	return ps, nil
}
