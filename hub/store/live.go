package store

import "context"

// LiveOps reads what the console shows live of some sites and of one
// user, each read bounded by what is shown rather than by the hub: a
// supervisor's page polls every second (the console's live-update
// stream), and a hub of 10,000 kiosks and as many live sessions should
// not be read whole for a supervisor of one site.
type LiveOps interface {
	// ListSiteDevices returns the devices of the sites, their names
	// compared as FoldName compares them (as logins match sites),
	// ordered by Created, then ID. No sites, no devices.
	ListSiteDevices(ctx context.Context, sites []string) ([]Device, error)
	// FirstSiteDevice returns the first device of the site (compared as
	// ListSiteDevices compares it) in ListSiteDevices' order, ErrNotFound
	// if it has none. It reads a device per spelling of the site's name,
	// not every kiosk of the site: it is for learning whether a site
	// exists, and how it is spelt.
	FirstSiteDevice(ctx context.Context, site string) (Device, error)
	// ListSiteSessions returns the live sessions on the devices of the
	// sites (compared as ListSiteDevices compares them), ordered by
	// Started, then ID. No sites, no sessions.
	ListSiteSessions(ctx context.Context, sites []string) ([]Session, error)
	// ListRecentSessions returns the user's latest limit sessions, ended
	// ones included, newest first (Started, then ID, descending): a page
	// of a history that grows by a session or more every shift. A limit
	// of 0 or less reads none.
	ListRecentSessions(ctx context.Context, userID string, limit int) ([]Session, error)
	// CountLiveSites counts, for each spelling of a site's name, its
	// kiosks with a live session and those sessions, in one statement
	// over the live sessions that returns a row per spelling, not per
	// session: what an admin's view of every site shows of the sites
	// whose kiosks it does not list. Spellings with no kiosk in use are
	// left out; the order is unspecified.
	CountLiveSites(ctx context.Context) ([]LiveSiteCount, error)
	// ListLiveKiosks returns the first limit kiosks with a live session at
	// the sites (compared as ListSiteDevices compares them), ordered by
	// the FoldName of their site, then of their name, then Created and
	// ID, each with its live sessions, in one statement (one snapshot).
	// It reads the devices of those sites and the live sessions of the
	// kiosks returned, nothing of the hub's other sites. No sites, or a
	// limit of 0 or less, none.
	ListLiveKiosks(ctx context.Context, sites []string, limit int) ([]LiveKiosk, error)
	// LiveUserNames returns the userNames of the users with the IDs, in
	// one statement, keyed by ID; IDs of no user are left out. It is for
	// a live view that compares what it shows every second: one read per
	// view, not one per signed-in user.
	LiveUserNames(ctx context.Context, ids []string) (map[string]string, error)
}
