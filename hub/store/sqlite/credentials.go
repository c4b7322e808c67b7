package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const credentialCols = `id, user_id, public_key, aaguid, sign_count, state, reason, created, last_used, model_unproven`

// schemaCredentialModelProof records which credentials' models no
// attestation proved (store.Credential.ModelUnproven).
const schemaCredentialModelProof = `ALTER TABLE credentials ADD COLUMN model_unproven INTEGER NOT NULL DEFAULT 0;`

func scanCredential(s scanner) (store.Credential, error) {
	var (
		c                 store.Credential
		signCount, state  int64
		created, lastUsed int64
	)
	if err := s.Scan(&c.ID, &c.UserID, &c.PublicKey, &c.AAGUID, &signCount, &state, &c.Reason, &created, &lastUsed, &c.ModelUnproven); err != nil {
		return store.Credential{}, err
	}
	c.SignCount, c.State = uint32(signCount), store.CredentialState(state)
	c.Created, c.LastUsed = fromNanos(created), fromNanos(lastUsed)
	return c, nil
}

func normCredential(c store.Credential) store.Credential {
	c.Created, c.LastUsed = utc(c.Created), utc(c.LastUsed)
	return c
}

func credentialArgs(c store.Credential) ([]any, error) {
	if err := checkTimes(c.Created, c.LastUsed); err != nil {
		return nil, err
	}
	return []any{c.ID, c.UserID, c.PublicKey, c.AAGUID, int64(c.SignCount), int64(c.State),
		c.Reason, nanos(c.Created), nanos(c.LastUsed), c.ModelUnproven}, nil
}

// sortCredentials orders credentials by Created, then ID.
func sortCredentials(cs []store.Credential) {
	slices.SortFunc(cs, func(a, b store.Credential) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
}

func (o ops) CreateCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	if c.ID == nil {
		c.ID = []byte{}
	}
	args, err := credentialArgs(c)
	if err != nil {
		return store.Credential{}, fmt.Errorf("create credential %x: %w", c.ID, err)
	}
	err = o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO credentials (`+credentialCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return mapErr(err)
	})
	if err != nil {
		return store.Credential{}, fmt.Errorf("create credential %x: %w", c.ID, err)
	}
	return normCredential(c), nil
}

func (o ops) GetCredential(ctx context.Context, id []byte) (store.Credential, error) {
	c, err := getCredential(ctx, o.read, id)
	if err != nil {
		return store.Credential{}, fmt.Errorf("get credential %x: %w", id, err)
	}
	return c, nil
}

func getCredential(ctx context.Context, q querier, id []byte) (store.Credential, error) {
	if id == nil {
		id = []byte{}
	}
	c, err := scanCredential(q.QueryRowContext(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = ?`, id))
	return c, mapErr(err)
}

// ListCredentials returns the user's credentials ordered by Created, then ID.
func (o ops) ListCredentials(ctx context.Context, userID string) ([]store.Credential, error) {
	cs, err := queryAll(ctx, o.read, scanCredential,
		`SELECT `+credentialCols+` FROM credentials WHERE user_id = ? ORDER BY created, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list credentials of %s: %w", userID, err)
	}
	return cs, nil
}

func (o ops) UpdateCredential(ctx context.Context, id []byte, fn func(store.Credential) (store.Credential, error)) (store.Credential, error) {
	var c store.Credential
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getCredential(ctx, q, id)
		if err != nil {
			return err
		}
		if c, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		c.ID, c.Created = old.ID, old.Created
		args, err := credentialArgs(c)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE credentials SET user_id = ?2, public_key = ?3,
			aaguid = ?4, sign_count = ?5, state = ?6, reason = ?7, created = ?8, last_used = ?9, model_unproven = ?10
			WHERE id = ?1`, args...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.Credential{}, fnErr
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("update credential %x: %w", id, err)
	}
	return normCredential(c), nil
}

func (o ops) RecordCredentialUse(ctx context.Context, id []byte, from, to uint32, at time.Time) error {
	if err := checkTimes(at); err != nil {
		return fmt.Errorf("record use of credential %x: %w", id, err)
	}
	if id == nil {
		id = []byte{}
	}
	err := o.write(ctx, func(q querier) error {
		// A plain UPDATE, not UPDATE … RETURNING, which adds about 25 µs
		// to every execution (see endSession), and no read after it: the
		// caller has the row as it was, and the WHERE clause proves that
		// only the counter and the time changed. Every login comes here.
		res, err := q.ExecContext(ctx, `UPDATE credentials SET sign_count = ?, last_used = ?
			WHERE id = ? AND state = ? AND sign_count = ?`,
			int64(to), nanos(at), id, store.CredentialActive, int64(from))
		if err != nil {
			return mapErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if _, err := getCredential(ctx, q, id); err != nil {
			return err
		}
		return fmt.Errorf("credential is not active with sign counter %d: %w", from, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("record use of credential %x: %w", id, err)
	}
	return nil
}

func (o ops) RevokeCredentials(ctx context.Context, userID, reason string) ([]store.Credential, error) {
	var cs []store.Credential
	err := o.write(ctx, func(q querier) error {
		var err error
		cs, err = queryAll(ctx, q, scanCredential, `UPDATE credentials SET state = ?, reason = ?
			WHERE user_id = ? AND state IN (?, ?) RETURNING `+credentialCols,
			int64(store.CredentialRevoked), reason, userID,
			int64(store.CredentialActive), int64(store.CredentialSuspended))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoke credentials of %s: %w", userID, err)
	}
	sortCredentials(cs)
	return cs, nil
}
