package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

const deviceCols = `id, name, site, profile, state, version, created, modified, last_seen, cert_serial, prev_cert_serial, prev_cert_until, cert_issued`

// schemaDeviceCerts records each kiosk's current device certificate and
// the one it renewed with (store.Device.CertSerial). Kiosks enrolled
// before it get empty ones: the hub takes their certificates as before
// until their next renewal records one.
const schemaDeviceCerts = `
ALTER TABLE devices ADD COLUMN cert_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN prev_cert_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN prev_cert_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN cert_issued INTEGER NOT NULL DEFAULT 0;
`

func scanDevice(s scanner) (store.Device, error) {
	var (
		d                           store.Device
		state                       int64
		created, modified, lastSeen int64
		prevUntil, issued           int64
	)
	if err := s.Scan(&d.ID, &d.Name, &d.Site, &d.Profile, &state, &d.Version, &created, &modified, &lastSeen,
		&d.CertSerial, &d.PrevCertSerial, &prevUntil, &issued); err != nil {
		return store.Device{}, err
	}
	d.State = store.DeviceState(state)
	d.Created, d.Modified, d.LastSeen = fromNanos(created), fromNanos(modified), fromNanos(lastSeen)
	d.PrevCertUntil, d.CertIssued = fromNanos(prevUntil), fromNanos(issued)
	return d, nil
}

func normDevice(d store.Device) store.Device {
	d.Created, d.Modified, d.LastSeen = utc(d.Created), utc(d.Modified), utc(d.LastSeen)
	d.PrevCertUntil, d.CertIssued = utc(d.PrevCertUntil), utc(d.CertIssued)
	return d
}

func deviceArgs(d store.Device) ([]any, error) {
	if err := checkTimes(d.Created, d.Modified, d.LastSeen, d.PrevCertUntil, d.CertIssued); err != nil {
		return nil, err
	}
	return []any{d.ID, d.Name, d.Site, d.Profile, int64(d.State), d.Version,
		nanos(d.Created), nanos(d.Modified), nanos(d.LastSeen), d.CertSerial, d.PrevCertSerial, nanos(d.PrevCertUntil), nanos(d.CertIssued)}, nil
}

func (o ops) CreateDevice(ctx context.Context, d store.Device) (store.Device, error) {
	d.Version = 1
	args, err := deviceArgs(d)
	if err != nil {
		return store.Device{}, fmt.Errorf("create device %s: %w", d.ID, err)
	}
	key := store.FoldName(d.Name)
	err = o.write(ctx, func(q querier) error {
		if d.State == store.DeviceActive {
			if err := deviceNameTaken(ctx, q, d.Name, key, d.ID); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO devices (`+deviceCols+`, name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, key)...)
		return mapErr(err)
	})
	if err != nil {
		return store.Device{}, fmt.Errorf("create device %s: %w", d.ID, err)
	}
	return normDevice(d), nil
}

func (o ops) GetDevice(ctx context.Context, id string) (store.Device, error) {
	d, err := getDevice(ctx, o.read, id)
	if err != nil {
		return store.Device{}, fmt.Errorf("get device %s: %w", id, err)
	}
	return d, nil
}

// schemaDeviceNames makes a kiosk's name unique among enabled kiosks only:
// a disabled kiosk (replaced hardware, a failed enrollment) gives its name
// back, and its record stays for the audit trail.
const schemaDeviceNames = `
DROP INDEX devices_name;
CREATE UNIQUE INDEX devices_name_enabled ON devices (name COLLATE NOCASE) WHERE state = 1;
CREATE INDEX devices_name ON devices (name COLLATE NOCASE, created);
`

// GetDeviceByName returns the enabled kiosk with the name (compared by
// store.FoldName: see schemaSiteDeviceNameKeys), or else the latest
// disabled one. Where a file from before the keys holds several enabled
// ones, the one spelled exactly as asked comes first.
func (o ops) GetDeviceByName(ctx context.Context, name string) (store.Device, error) {
	d, err := scanDevice(o.read.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE name_key = ?1
		ORDER BY state = ?2 DESC, name = ?3 DESC, created DESC, id DESC LIMIT 1`, store.FoldName(name), store.DeviceActive, name))
	if err := mapErr(err); err != nil {
		return store.Device{}, fmt.Errorf("get device named %s: %w", name, err)
	}
	return d, nil
}

// deviceNameTaken returns ErrConflict if an enabled kiosk other than id
// has the name's key: names are unique among enabled kiosks.
func deviceNameTaken(ctx context.Context, q querier, name, key, id string) error {
	return nameTaken(ctx, q, `SELECT id FROM devices WHERE name_key = ? AND state = 1 AND id != ? LIMIT 1`, "kiosk name", name, key, id)
}

func getDevice(ctx context.Context, q querier, id string) (store.Device, error) {
	d, err := scanDevice(q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	return d, mapErr(err)
}

// ListDevices returns the devices of a site, or all of them, ordered by
// Created, then ID. The site is compared under store.FoldName, as a
// login matches a user's sites to a kiosk's: a site's kiosks are found
// whatever the case they were enrolled with. Devices are few and a site's
// kiosks rarely listed (a site's zone set, a grant at a site with no
// record of its own), so the fold is computed per row rather than kept
// in a column of its own.
func (o ops) ListDevices(ctx context.Context, site string) ([]store.Device, error) {
	var (
		devices []store.Device
		err     error
	)
	if site == "" {
		devices, err = queryAll(ctx, o.read, scanDevice,
			`SELECT `+deviceCols+` FROM devices ORDER BY created, id`)
	} else {
		devices, err = queryAll(ctx, o.read, scanDevice,
			`SELECT `+deviceCols+` FROM devices WHERE `+foldNameFunc+`(site) = ? ORDER BY created, id`, store.FoldName(site))
	}
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}

func (o ops) UpdateDevice(ctx context.Context, id string, fn func(store.Device) (store.Device, error)) (store.Device, error) {
	var d store.Device
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getDevice(ctx, q, id)
		if err != nil {
			return err
		}
		if d, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		d.ID, d.Created, d.Version = old.ID, old.Created, old.Version+1
		args, err := deviceArgs(d)
		if err != nil {
			return err
		}
		// A kiosk keeps its name when it changes only in case, or stays
		// disabled; an enabled one takes it when renamed or enabled. A
		// name shared with another enabled kiosk before the keys (see
		// schemaSiteDeviceNameKeys) stays as it is until one is renamed.
		key := store.FoldName(d.Name)
		if d.State == store.DeviceActive && (key != store.FoldName(old.Name) || old.State != store.DeviceActive) {
			if err := deviceNameTaken(ctx, q, d.Name, key, d.ID); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, `UPDATE devices SET name = ?2, site = ?3, profile = ?4,
			state = ?5, version = ?6, created = ?7, modified = ?8, last_seen = ?9,
			cert_serial = ?10, prev_cert_serial = ?11, prev_cert_until = ?12, cert_issued = ?13, name_key = ?14
			WHERE id = ?1`, append(args, key)...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.Device{}, fnErr
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("update device %s: %w", id, err)
	}
	return normDevice(d), nil
}

func (o ops) TouchDevices(ctx context.Context, seen map[string]time.Time) error {
	for _, at := range seen {
		if err := checkTimes(at); err != nil {
			return fmt.Errorf("touch devices: %w", err)
		}
	}
	if len(seen) == 0 {
		return nil
	}
	err := o.write(ctx, func(q querier) error {
		for id, at := range seen {
			if _, err := q.ExecContext(ctx, `UPDATE devices SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2`, id, nanos(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch devices: %w", err)
	}
	return nil
}
