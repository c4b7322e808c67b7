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
	// ListSiteSessions returns the live sessions on the devices of the
	// sites (compared as ListSiteDevices compares them), ordered by
	// Started, then ID. No sites, no sessions.
	ListSiteSessions(ctx context.Context, sites []string) ([]Session, error)
	// ListRecentSessions returns the user's latest limit sessions, ended
	// ones included, newest first (Started, then ID, descending): a page
	// of a history that grows by a session or more every shift. A limit
	// of 0 or less reads none.
	ListRecentSessions(ctx context.Context, userID string, limit int) ([]Session, error)
}
