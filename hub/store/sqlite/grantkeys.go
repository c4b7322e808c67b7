package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaGrantKeys remembers the idempotency keys of grant requests
// (store.GrantKey). The primary key is what keeps two requests of one
// caller with one key from both making a grant; grant_keys_created is what
// DeleteGrantKeys forgets the old ones by, in the transaction that makes a
// grant, without reading the keys it keeps.
const schemaGrantKeys = `
CREATE TABLE grant_keys (
	caller      TEXT NOT NULL,
	idem_key    TEXT NOT NULL,
	fingerprint BLOB NOT NULL,
	grant_id    TEXT NOT NULL,
	created     INTEGER NOT NULL,
	PRIMARY KEY (caller, idem_key)
) WITHOUT ROWID;
CREATE INDEX grant_keys_created ON grant_keys (created);
`

func (o ops) GetGrantKey(ctx context.Context, caller, key string) (store.GrantKey, error) {
	k := store.GrantKey{Caller: caller, Key: key}
	var created int64
	err := o.read.QueryRowContext(ctx, `SELECT fingerprint, grant_id, created FROM grant_keys WHERE caller = ? AND idem_key = ?`, caller, key).
		Scan(&k.Fingerprint, &k.GrantID, &created)
	if err != nil {
		return store.GrantKey{}, fmt.Errorf("get grant key of %s: %w", caller, mapErr(err))
	}
	k.Created = fromNanos(created)
	return k, nil
}

func (o ops) CreateGrantKey(ctx context.Context, k store.GrantKey) error {
	if err := checkTime(k.Created); err != nil {
		return fmt.Errorf("create grant key of %s: %w", k.Caller, err)
	}
	if k.Caller == "" || k.Key == "" || k.GrantID == "" || len(k.Fingerprint) == 0 {
		return fmt.Errorf("create grant key of %s: %w", k.Caller, errors.New("caller, key, fingerprint and grant are required"))
	}
	err := o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO grant_keys (caller, idem_key, fingerprint, grant_id, created) VALUES (?, ?, ?, ?, ?)`,
			k.Caller, k.Key, k.Fingerprint, k.GrantID, nanos(k.Created))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("create grant key of %s: %w", k.Caller, err)
	}
	return nil
}

func (o ops) DeleteGrantKeys(ctx context.Context, before time.Time) (int, error) {
	if err := checkTime(before); err != nil {
		return 0, fmt.Errorf("delete grant keys: %w", err)
	}
	var n int64
	err := o.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM grant_keys WHERE created < ?`, nanos(before))
		if err != nil {
			return mapErr(err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete grant keys: %w", err)
	}
	return int(n), nil
}
