package sqlite

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

const siteCols = `id, name, time_zone, created`

// schemaSiteDeviceNameKeys compares site and kiosk names by store.FoldName,
// the Unicode case folding the rest of the hub compares them with
// (hub/policy matches a user's sites to a kiosk's with strings.EqualFold),
// instead of SQLite's NOCASE, which folds ASCII only. With NOCASE a user
// provisioned with the site "ZÜRICH" signed in at the kiosks of "Zürich"
// while the lookup of that site's time zone missed, so hub/lifecycle read
// the user's start and end days in UTC; and "ÄRZTE" could be registered
// as a second site, with a zone of its own, beside "Ärzte". The keys are
// columns the store writes with each name, as for users and groups (see
// schemaNameKeys), and for the same reason their indexes are not unique:
// a file may hold names that differ in non-ASCII case only, and the step
// must not fail on them. The store checks uniqueness in the write
// transaction (siteNameTaken, deviceNameTaken); the NOCASE unique indexes
// stay, and still refuse ASCII case variants written by another tool.
// devices_name (name COLLATE NOCASE, created) served only the lookup by
// name, which devices_name_key serves now.
const schemaSiteDeviceNameKeys = `
ALTER TABLE sites ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE sites SET name_key = ` + foldNameFunc + `(name);
CREATE INDEX sites_name_key ON sites (name_key);
ALTER TABLE devices ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE devices SET name_key = ` + foldNameFunc + `(name);
DROP INDEX devices_name;
CREATE INDEX devices_name_key ON devices (name_key, created);
`

// siteByNameQuery finds a site by its name's key (?1); where a file from
// before the keys holds several (see schemaSiteDeviceNameKeys), the one
// spelled exactly as asked (?2), else the oldest.
const siteByNameQuery = `SELECT ` + siteCols + ` FROM sites WHERE name_key = ?1
	ORDER BY name = ?2 DESC, created, id LIMIT 1`

// siteNameTaken returns ErrConflict if a site other than id has the key.
func siteNameTaken(ctx context.Context, q querier, name, key, id string) error {
	return nameTaken(ctx, q, `SELECT id FROM sites WHERE name_key = ? AND id != ? LIMIT 1`, "site name", name, key, id)
}

func scanSite(s scanner) (store.Site, error) {
	var st store.Site
	var created int64
	if err := s.Scan(&st.ID, &st.Name, &st.TimeZone, &created); err != nil {
		return store.Site{}, err
	}
	st.Created = fromNanos(created)
	return st, nil
}

func (o ops) CreateSite(ctx context.Context, s store.Site) (store.Site, error) {
	s.Created = utc(s.Created)
	if err := checkTimes(s.Created); err != nil {
		return store.Site{}, fmt.Errorf("create site %s: %w", s.Name, err)
	}
	key := store.FoldName(s.Name)
	err := o.write(ctx, func(q querier) error {
		if err := siteNameTaken(ctx, q, s.Name, key, s.ID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO sites (`+siteCols+`, name_key) VALUES (?, ?, ?, ?, ?)`,
			s.ID, s.Name, s.TimeZone, nanos(s.Created), key)
		return mapErr(err)
	})
	if err != nil {
		return store.Site{}, fmt.Errorf("create site %s: %w", s.Name, err)
	}
	return s, nil
}

func (o ops) GetSiteByName(ctx context.Context, name string) (store.Site, error) {
	s, err := scanSite(o.read.QueryRowContext(ctx, siteByNameQuery, store.FoldName(name), name))
	if err != nil {
		return store.Site{}, fmt.Errorf("get site %s: %w", name, mapErr(err))
	}
	return s, nil
}

// ListSites returns every site ordered by name.
func (o ops) ListSites(ctx context.Context) ([]store.Site, error) {
	sites, err := queryAll(ctx, o.read, scanSite,
		`SELECT `+siteCols+` FROM sites ORDER BY name COLLATE NOCASE, id`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return sites, nil
}

func (o ops) UpdateSite(ctx context.Context, name string, fn func(store.Site) (store.Site, error)) (store.Site, error) {
	var s store.Site
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := scanSite(q.QueryRowContext(ctx, siteByNameQuery, store.FoldName(name), name))
		if err != nil {
			return mapErr(err)
		}
		if s, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		s.ID, s.Name, s.Created = old.ID, old.Name, old.Created
		_, err = q.ExecContext(ctx, `UPDATE sites SET time_zone = ? WHERE id = ?`, s.TimeZone, s.ID)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.Site{}, fnErr
	}
	if err != nil {
		return store.Site{}, fmt.Errorf("update site %s: %w", name, err)
	}
	return s, nil
}
