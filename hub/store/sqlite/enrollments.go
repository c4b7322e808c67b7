package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaCodeProfile lets a code name the hardware profile its kiosk must
// enroll with (empty: any profile).
const schemaCodeProfile = `ALTER TABLE enrollment_codes ADD COLUMN profile TEXT NOT NULL DEFAULT '';`

func (o ops) CreateEnrollmentCode(ctx context.Context, c store.EnrollmentCode) error {
	if err := checkTimes(c.Created, c.Expires, c.Used); err != nil {
		return fmt.Errorf("create enrollment code: %w", err)
	}
	err := o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO enrollment_codes (hash, device_name, site, profile, created, expires, used) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.DeviceName, c.Site, c.Profile, nanos(c.Created), nanos(c.Expires), nanos(c.Used))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("create enrollment code for %s: %w", c.DeviceName, err)
	}
	return nil
}

func (o ops) UseEnrollmentCode(ctx context.Context, hash []byte, at time.Time) (store.EnrollmentCode, error) {
	if err := checkTime(at); err != nil {
		return store.EnrollmentCode{}, fmt.Errorf("use enrollment code: %w", err)
	}
	var c store.EnrollmentCode
	err := o.write(ctx, func(q querier) error {
		var created, expires, used int64
		err := q.QueryRowContext(ctx, `UPDATE enrollment_codes SET used = ?
			WHERE hash = ? AND used = 0 AND expires > ?
			RETURNING hash, device_name, site, profile, created, expires, used`, nanos(at), hash, nanos(at)).
			Scan(&c.Hash, &c.DeviceName, &c.Site, &c.Profile, &created, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		c.Created, c.Expires, c.Used = fromNanos(created), fromNanos(expires), fromNanos(used)
		return nil
	})
	if err != nil {
		return store.EnrollmentCode{}, fmt.Errorf("use enrollment code: %w", err)
	}
	return c, nil
}
