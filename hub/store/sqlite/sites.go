package sqlite

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

const siteCols = `id, name, time_zone, created`

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
	err := o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO sites (`+siteCols+`) VALUES (?, ?, ?, ?)`,
			s.ID, s.Name, s.TimeZone, nanos(s.Created))
		return mapErr(err)
	})
	if err != nil {
		return store.Site{}, fmt.Errorf("create site %s: %w", s.Name, err)
	}
	return s, nil
}

func (o ops) GetSiteByName(ctx context.Context, name string) (store.Site, error) {
	s, err := scanSite(o.read.QueryRowContext(ctx,
		`SELECT `+siteCols+` FROM sites WHERE name = ? COLLATE NOCASE`, name))
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
		old, err := scanSite(q.QueryRowContext(ctx,
			`SELECT `+siteCols+` FROM sites WHERE name = ? COLLATE NOCASE`, name))
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
