package sqlite

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaTokenExpiry gives API tokens an expiry and a successor (rotation).
// Tokens stored before it keep 0, no expiry: they go on working, and the
// hub warns about them at start until they are rotated or revoked.
const schemaTokenExpiry = `
ALTER TABLE tokens ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';
`

// schemaTokenMaker records the console account that made each token
// (store.Token.CreatedBy). Tokens stored before it keep none, as a token the
// CLI operator made: nobody is known to stand behind them.
const schemaTokenMaker = `
ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
`

const tokenCols = `id, name, scope, hash, created, last_used, revoked, expires, replaced_by, created_by`

func scanToken(s scanner) (store.Token, error) {
	var (
		t                                   store.Token
		created, lastUsed, revoked, expires int64
	)
	if err := s.Scan(&t.ID, &t.Name, &t.Scope, &t.Hash, &created, &lastUsed, &revoked, &expires, &t.ReplacedBy, &t.CreatedBy); err != nil {
		return store.Token{}, err
	}
	t.Created, t.LastUsed, t.Revoked, t.Expires = fromNanos(created), fromNanos(lastUsed), fromNanos(revoked), fromNanos(expires)
	return t, nil
}

func normToken(t store.Token) store.Token {
	t.Created, t.LastUsed, t.Revoked, t.Expires = utc(t.Created), utc(t.LastUsed), utc(t.Revoked), utc(t.Expires)
	return t
}

func tokenArgs(t store.Token) ([]any, error) {
	if err := checkTimes(t.Created, t.LastUsed, t.Revoked, t.Expires); err != nil {
		return nil, err
	}
	return []any{t.ID, t.Name, t.Scope, t.Hash, nanos(t.Created), nanos(t.LastUsed), nanos(t.Revoked), nanos(t.Expires), t.ReplacedBy, t.CreatedBy}, nil
}

func (o ops) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	args, err := tokenArgs(t)
	if err != nil {
		return store.Token{}, fmt.Errorf("create token %s: %w", t.ID, err)
	}
	err = o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return mapErr(err)
	})
	if err != nil {
		return store.Token{}, fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return normToken(t), nil
}

func (o ops) GetToken(ctx context.Context, id string) (store.Token, error) {
	t, err := getToken(ctx, o.read, id)
	if err != nil {
		return store.Token{}, fmt.Errorf("get token %s: %w", id, err)
	}
	return t, nil
}

func getToken(ctx context.Context, q querier, id string) (store.Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	return t, mapErr(err)
}

// ListTokens returns every token ordered by Created, then ID.
func (o ops) ListTokens(ctx context.Context) ([]store.Token, error) {
	ts, err := queryAll(ctx, o.read, scanToken, `SELECT `+tokenCols+` FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

func (o ops) UpdateToken(ctx context.Context, id string, fn func(store.Token) (store.Token, error)) (store.Token, error) {
	var t store.Token
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getToken(ctx, q, id)
		if err != nil {
			return err
		}
		if t, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		// Who made the token is fixed when it is made: a change that
		// cleared it would free the token from its maker's self checks.
		t.ID, t.Created, t.CreatedBy = old.ID, old.Created, old.CreatedBy
		args, err := tokenArgs(t)
		if err != nil {
			return err
		}
		// created_by (?10) is not written: it never changes.
		_, err = q.ExecContext(ctx, `UPDATE tokens SET name = ?2, scope = ?3, hash = ?4,
			created = ?5, last_used = ?6, revoked = ?7, expires = ?8, replaced_by = ?9 WHERE id = ?1`, args...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.Token{}, fnErr
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("update token %s: %w", id, err)
	}
	return normToken(t), nil
}
