package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// CountLiveSites groups the live sessions by kiosk along
// sessions_device_live (device_id first: the index alone, no session
// row), then the kiosks by site, looking each kiosk in use up by its
// primary key: SQLite counts every live session of the hub, but what it
// hands back is a row per spelling of a site. First is the name of the
// row MIN picks (SQLite gives a bare column the values of that row), by
// the name's store.FoldName key, as the console orders kiosks: NOCASE
// folds ASCII only, and would take "Ärz" for less than "ärb". An ASCII
// name's key is its lower(), so only the others pay for foldNameFunc.
func (o ops) CountLiveSites(ctx context.Context) ([]store.LiveSiteCount, error) {
	counts, err := queryAll(ctx, o.read, func(s scanner) (store.LiveSiteCount, error) {
		var c store.LiveSiteCount
		var key string
		err := s.Scan(&c.Site, &c.First, &key, &c.Kiosks, &c.Sessions)
		return c, err
	}, `SELECT d.site, d.name, MIN(CASE WHEN d.name GLOB '*[^ -~]*' THEN `+foldNameFunc+`(d.name) ELSE lower(d.name) END),
			COUNT(*), SUM(l.n)
		FROM (SELECT device_id, COUNT(*) AS n FROM sessions INDEXED BY sessions_device_live
			WHERE ended = 0 GROUP BY device_id) AS l
		JOIN devices AS d ON d.id = l.device_id
		GROUP BY d.site`)
	if err != nil {
		return nil, fmt.Errorf("count live sessions by site: %w", err)
	}
	return counts, nil
}

// qualify prefixes each of a list of columns (deviceCols, sessionCols)
// with a table's alias, for a statement that selects two tables' columns
// of the same names.
func qualify(alias, cols string) string {
	return alias + "." + strings.ReplaceAll(cols, ", ", ", "+alias+".")
}

func (o ops) ListLiveKiosks(ctx context.Context, sites []string, limit int) ([]store.LiveKiosk, error) {
	if len(sites) == 0 || limit <= 0 {
		return nil, nil
	}
	// The kiosks are chosen (listed) among the sites' kiosks through
	// devices_site, each kept when sessions_device_live holds a live
	// session of it, sorted and cut to limit; only then are their
	// sessions read, a row each with the kiosk's columns before the
	// session's.
	rows, err := o.read.QueryContext(ctx, siteKiosks(len(sites))+`,
	listed(id, site, name, created) AS MATERIALIZED (
		SELECT d.id, `+foldNameFunc+`(d.site), `+foldNameFunc+`(d.name), d.created FROM devices AS d
		WHERE d.id IN (SELECT id FROM siteKiosks)
			AND EXISTS (SELECT 1 FROM sessions AS s INDEXED BY sessions_device_live WHERE s.device_id = d.id AND s.ended = 0)
		ORDER BY 2, 3, 4, 1 LIMIT ?
	)
	SELECT `+qualify("d", deviceCols)+`, `+qualify("s", sessionCols)+`
	FROM listed JOIN devices AS d ON d.id = listed.id
	JOIN sessions AS s INDEXED BY sessions_device_live ON s.device_id = listed.id AND s.ended = 0
	ORDER BY listed.site, listed.name, listed.created, listed.id, s.started, s.id`, append(foldedSites(sites), limit)...)
	if err != nil {
		return nil, fmt.Errorf("list kiosks in use of %d sites: %w", len(sites), unavailable(err))
	}
	defer rows.Close()
	var out []store.LiveKiosk
	for rows.Next() {
		// scanDevice and scanSession each scan their own columns and
		// then convert them: the session's Scan, called from within the
		// device's, scans the row into both.
		var ss store.Session
		dv, err := scanDevice(scanFunc(func(devDest ...any) error {
			var err error
			ss, err = scanSession(scanFunc(func(sessDest ...any) error {
				return rows.Scan(append(devDest, sessDest...)...)
			}))
			return err
		}))
		if err != nil {
			return nil, fmt.Errorf("list kiosks in use of %d sites: %w", len(sites), unavailable(err))
		}
		if n := len(out); n > 0 && out[n-1].Device.ID == dv.ID {
			out[n-1].Sessions = append(out[n-1].Sessions, ss)
			continue
		}
		out = append(out, store.LiveKiosk{Device: dv, Sessions: []store.Session{ss}})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list kiosks in use of %d sites: %w", len(sites), unavailable(err))
	}
	return out, nil
}

// scanFunc is a function as a scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// LiveUserNames passes the IDs as one JSON array, as CountDevices passes
// the connected kiosks: no limit on the number of parameters, and each ID
// a lookup by primary key.
func (o ops) LiveUserNames(ctx context.Context, ids []string) (map[string]string, error) {
	if len(ids) == 0 {
		return map[string]string{}, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("names of %d users: %w", len(ids), err)
	}
	type pair struct{ id, name string }
	pairs, err := queryAll(ctx, o.read, func(s scanner) (pair, error) {
		var p pair
		err := s.Scan(&p.id, &p.name)
		return p, err
	}, `SELECT id, user_name FROM users WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("names of %d users: %w", len(ids), err)
	}
	names := make(map[string]string, len(pairs))
	for _, p := range pairs {
		names[p.id] = p.name
	}
	return names, nil
}
