package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Start and end dates sent as calendar days.
//
// HR systems (Workday, through Entra ID or Okta) send a worker's first
// and last day as a bare date, "2026-12-01", which means that day where
// the worker works. Read in UTC, a Los Angeles leaver lost kiosk access
// at 16:00 on their last working day, mid-shift, a Tokyo leaver kept it
// nine hours into the next day, and a Los Angeles joiner could sign in
// from 16:00 the day before their first. The user keeps the day as sent
// (store.User.StartDay, EndDay), and:
//
//   - A login is decided on the day in the time zone of the kiosk's site
//     (UserAt): access starts at 00:00 of the start day and ends at 24:00
//     of the end day there, and the session's expiry is capped at that
//     end. So is every decision made again on a live session (redecide):
//     a later change of the end date shortens each session by its own
//     site's end.
//   - The instants the scheduler acts on (store.User.StartDate, EndDate)
//     are the earliest start and the latest end over the time zones of
//     the user's sites (resolveDates): the user becomes active when the
//     first site's day begins and is deprovisioned when the last site's
//     day is over. Sessions at sites whose day ended earlier have ended
//     by their capped expiry by then, and no new one opens there.
//   - Both are resolved again on every change of the user (its sites
//     included: a SCIM PATCH of sites moves them) and, for the users who
//     list it, when a site is registered with its zone (CreateSite).
//
// A site the hub has no record of, or whose zone does not load, counts as
// UTC, as a user without sites does: that was the reading of every date
// before. A date-time with Z or an offset is an instant and means the
// same at every site.

// actionSiteCreate is the audit action of CreateSite.
const actionSiteCreate = "site.create"

// location returns the time zone named name (an IANA name; "" is UTC),
// or UTC, logged once, when it does not load: a site with a misspelt zone
// keeps the reading every date had before zones counted.
func (e *Engine) location(site, name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := e.locs.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		e.log.Warn("a site's time zone does not load: its users' start and end days are read in UTC", "site", site, "time_zone", name, "err", err)
		loc = time.UTC
	}
	e.locs.Store(name, loc)
	return loc
}

// siteZone returns the time zone of the site named site (compared
// case-insensitively): UTC for a site the hub has no record of, or whose
// zone does not load.
func (e *Engine) siteZone(ctx context.Context, tx store.SiteOps, site string) (*time.Location, error) {
	s, err := tx.GetSiteByName(ctx, site)
	if errors.Is(err, store.ErrNotFound) {
		return time.UTC, nil
	}
	if err != nil {
		return nil, fmt.Errorf("time zone of site %s: %w", site, err)
	}
	return e.location(s.Name, s.TimeZone), nil
}

// UserAt returns u as seen at a kiosk of site, as a login decision reads
// it (hub/policy): a start or end date sent as a calendar day is the
// instant it is in the site's time zone (store.User.InZone). A user whose
// dates are instants, or who has none, is returned as it is, without a
// read of the store. tx is the login's transaction.
func (e *Engine) UserAt(ctx context.Context, tx store.SiteOps, u store.User, site string) (store.User, error) {
	if u.StartDay == "" && u.EndDay == "" {
		return u, nil
	}
	loc, err := e.siteZone(ctx, tx, site)
	if err != nil {
		return store.User{}, err
	}
	return u.InZone(loc), nil
}

// resolveDates sets u's StartDate and EndDate from its calendar days:
// over the time zones of u's sites, the earliest start and the latest
// end (a user without sites: UTC). A date sent as an instant is kept.
func (e *Engine) resolveDates(ctx context.Context, tx store.SiteOps, u *store.User) error {
	if u.StartDay == "" && u.EndDay == "" {
		return nil
	}
	locs := make([]*time.Location, 0, max(len(u.Sites), 1))
	for _, site := range u.Sites {
		loc, err := e.siteZone(ctx, tx, site)
		if err != nil {
			return err
		}
		locs = append(locs, loc)
	}
	if len(locs) == 0 {
		locs = append(locs, time.UTC)
	}
	*u = spanOver(*u, locs)
	return nil
}

// spanOver returns u with StartDate the earliest StartIn and EndDate the
// latest EndIn over locs (not empty).
func spanOver(u store.User, locs []*time.Location) store.User {
	start, end := u.StartIn(locs[0]), u.EndIn(locs[0])
	for _, loc := range locs[1:] {
		if s := u.StartIn(loc); s.Before(start) {
			start = s
		}
		if e := u.EndIn(loc); e.After(end) {
			end = e
		}
	}
	u.StartDate, u.EndDate = start, end
	return u
}

// siteUsersBatch is how many users CreateSite reads at a time.
const siteUsersBatch = 500

// CreateSite registers a site with its time zone (an IANA name such as
// America/Los_Angeles; empty means UTC) and, in the same transaction,
// resolves again the dates of the pending and active users who list the
// site and were sent calendar days: until now the site had no record, and
// its days were read in UTC. Each of those users changes as by
// UpdateUser (audited, and a user whose day is now over everywhere is
// deprovisioned). A blank name or a zone that does not load is
// ErrInvalid; a name taken (case-insensitively) is store.ErrConflict.
// s.ID and s.Created are set here.
func (e *Engine) CreateSite(ctx context.Context, a Actor, s store.Site) (store.Site, error) {
	s.Name, s.TimeZone = strings.TrimSpace(s.Name), strings.TrimSpace(s.TimeZone)
	if s.Name == "" {
		return store.Site{}, invalid("give the site a name")
	}
	if s.TimeZone == "Local" {
		return store.Site{}, invalid("time zone %q is the hub host's: give the site's own, an IANA name such as Europe/Berlin", s.TimeZone)
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil {
		return store.Site{}, invalid("time zone %q is not an IANA time zone name such as Europe/Berlin", s.TimeZone)
	}
	s.ID, s.Created = store.NewID(), e.now().UTC()
	var out store.Site
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		var err error
		if out, err = tx.CreateSite(ctx, s); err != nil {
			return err
		}
		redated, err := e.redateSiteUsers(ctx, tx, c, a, out.Name)
		if err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionSiteCreate, Subject: "site:" + out.Name,
			Detail: map[string]any{"id": out.ID, "timeZone": out.TimeZone, "usersRedated": nonNilStrings(redated)}})
		return err
	})
	if err != nil {
		return store.Site{}, fmt.Errorf("create site %s: %w", s.Name, err)
	}
	e.log.Info("site created", "site", out.Name, "time_zone", out.TimeZone, "actor", a.Name)
	return out, nil
}

// redateSiteUsers resolves again the dates of the pending and active users
// who list site and have a calendar day, after the site's time zone was
// set, and returns the IDs of those whose dates moved. A later change of
// a site's zone calls it too.
func (e *Engine) redateSiteUsers(ctx context.Context, tx store.Ops, c *change, a Actor, site string) ([]string, error) {
	var ids []string
	for offset := 0; ; offset += siteUsersBatch {
		// Every user but the deleted, so that one deprovisioned here
		// stays in the list and the pages do not shift.
		users, _, err := tx.ListUsers(ctx, store.UserQuery{Offset: offset, Limit: siteUsersBatch})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.State != store.UserPending && u.State != store.UserActive || u.StartDay == "" && u.EndDay == "" || !containsFold(u.Sites, site) {
				continue
			}
			nu := u
			if err := e.resolveDates(ctx, tx, &nu); err != nil {
				return nil, err
			}
			if nu.StartDate.Equal(u.StartDate) && nu.EndDate.Equal(u.EndDate) {
				continue
			}
			if _, err := e.updateUser(ctx, tx, c, a, u.ID, func(old store.User) (store.User, error) { return old, nil }); err != nil {
				return nil, fmt.Errorf("user %s: %w", u.ID, err)
			}
			ids = append(ids, u.ID)
		}
		if len(users) < siteUsersBatch {
			return ids, nil
		}
	}
}
