package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// siteKiosks is a WITH clause naming siteKiosks(id) the devices of the
// sites whose folded names (store.FoldName) are the statement's first n
// arguments, found through devices_site (site, created, id) rather than
// by folding every device's site.
//
// A kiosk's site is stored as it was enrolled and matched under FoldName,
// so "North" and "north" are one site; an index on the spelling cannot be
// searched by the folded name. So the clause first walks the distinct
// spellings of the devices' sites, one index search each (a loose index
// scan: the next spelling after the last), folds those, and searches the
// index for the kiosks of the spellings that match. A hub has far fewer
// spellings of sites than kiosks: a supervisor's poll costs a search per
// site of the hub and a row per kiosk of its own sites, not a row per
// kiosk of the hub.
// siteSpellings is a WITH clause whose table spelling(site) holds each
// stored spelling of the devices' sites once, and a last NULL: a loose
// index scan of devices_site, one search per spelling (the next after the
// last), never a row per device. siteKiosks and ListDeviceSites start
// with it.
const siteSpellings = `WITH RECURSIVE spelling(site) AS (
		SELECT (SELECT MIN(site) FROM devices INDEXED BY devices_site)
		UNION ALL
		SELECT (SELECT MIN(site) FROM devices INDEXED BY devices_site WHERE site > spelling.site)
		FROM spelling WHERE spelling.site IS NOT NULL
	)`

func siteKiosks(n int) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	return siteSpellings + `,
	wanted(site) AS MATERIALIZED (
		SELECT site FROM spelling WHERE site IS NOT NULL AND ` + foldNameFunc + `(site) IN (` + marks + `)
	),
	siteKiosks(id) AS (
		SELECT d.id FROM wanted JOIN devices AS d INDEXED BY devices_site ON d.site = wanted.site
	)
	`
}

// foldedSites returns the sites' folded names as arguments of siteKiosks.
func foldedSites(sites []string) []any {
	args := make([]any, len(sites))
	for i, s := range sites {
		args[i] = store.FoldName(s)
	}
	return args
}

func (o ops) ListSiteDevices(ctx context.Context, sites []string) ([]store.Device, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	devices, err := queryAll(ctx, o.read, scanDevice, siteKiosks(len(sites))+`SELECT `+deviceCols+` FROM devices
		WHERE id IN (SELECT id FROM siteKiosks) ORDER BY created, id`, foldedSites(sites)...)
	if err != nil {
		return nil, fmt.Errorf("list devices of %d sites: %w", len(sites), err)
	}
	return devices, nil
}

// FirstSiteDevice takes the first kiosk of each spelling of the site's
// name from devices_site, which is in (site, created, id) order, and the
// first of those: a row per spelling, however many kiosks the site has.
func (o ops) FirstSiteDevice(ctx context.Context, site string) (store.Device, error) {
	devices, err := queryAll(ctx, o.read, scanDevice, siteKiosks(1)+`, firsts(id) AS (
		SELECT (SELECT d.id FROM devices AS d INDEXED BY devices_site WHERE d.site = wanted.site ORDER BY d.created, d.id LIMIT 1)
		FROM wanted
	)
	SELECT `+deviceCols+` FROM devices WHERE id IN (SELECT id FROM firsts) ORDER BY created, id LIMIT 1`, foldedSites([]string{site})...)
	if err != nil {
		return store.Device{}, fmt.Errorf("first device of site %q: %w", site, err)
	}
	if len(devices) == 0 {
		return store.Device{}, fmt.Errorf("first device of site %q: %w", site, store.ErrNotFound)
	}
	return devices[0], nil
}

func (o ops) ListSiteSessions(ctx context.Context, sites []string) ([]store.Session, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	ss, err := queryAll(ctx, o.read, scanSession, siteKiosks(len(sites))+`SELECT `+sessionCols+`
		FROM sessions INDEXED BY sessions_device_live
		WHERE ended = 0 AND device_id IN (SELECT id FROM siteKiosks) ORDER BY started, id`, foldedSites(sites)...)
	if err != nil {
		return nil, fmt.Errorf("list live sessions of %d sites: %w", len(sites), err)
	}
	return ss, nil
}

// ListRecentSessions reads the latest limit entries of the user's history
// (session_history, and the sessions a pass has not moved there yet; see
// deferred.go), each newest first with the limit, and then only those
// sessions: a session is in exactly one of the two, so the latest limit of
// both are among the latest limit of each.
func (o ops) ListRecentSessions(ctx context.Context, userID string, limit int) ([]store.Session, error) {
	if limit <= 0 {
		return nil, nil
	}
	ss, err := queryAll(ctx, o.read, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ?1 AND id IN (
			SELECT id FROM (SELECT id FROM session_history WHERE user_id = ?1 ORDER BY started DESC, id DESC LIMIT ?2)
			UNION ALL
			SELECT id FROM (SELECT id FROM session_history_queue WHERE user_id = ?1 ORDER BY started DESC, id DESC LIMIT ?2)
		) ORDER BY started DESC, id DESC LIMIT ?2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list recent sessions of %s: %w", userID, err)
	}
	return ss, nil
}
