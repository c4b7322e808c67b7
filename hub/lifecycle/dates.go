package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
//     list it, when a site is registered with its zone (CreateSite) or
//     its zone changes (SetSiteTimeZone); the live sessions at the site's
//     kiosks are then decided again.
//
// A certification's expiry sent as a bare date (a BLS card that "expires
// 2026-12-31" is valid through that day) is read in the same way by a
// login and every decision made again (UserAt): the certification counts
// until 24:00 of the day at the kiosk's site (store.Certification
// ExpiresDay, ExpiresIn), which caps the session (certification_end), and
// a change of the site's zone decides the sessions there again. The
// scheduler acts on no expiry (a session ends at its capped expiry, and
// the next login withholds the role), so the stored instant is not
// resolved over the user's sites: it stays 24:00 of the day in UTC.
//
// A site the hub has no record of, or whose zone does not load, counts as
// UTC, as a user without sites does: that was the reading of every date
// before. A date-time with Z or an offset is an instant and means the
// same at every site.
//
// "00:00" and "24:00" are read as the day's first instant and the instant
// after its last (store.User.StartIn, EndIn), not as the wall time 00:00: where
// the clocks skip midnight (America/Santiago, America/Havana go forward
// at 24:00) there is no 00:00, and time.Date picks 23:00 of the day before,
// which opened a start day an hour early and closed the end day, and the
// day before the change, an hour early.

// Site audit actions: a site registered (CreateSite, PutSite), a site's
// time zone changed (SetSiteTimeZone, PutSite).
const (
	actionSiteCreate = "site.create"
	actionSiteUpdate = "site.update"
)

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
// it (hub/policy): a start or end date, or a certification's expiry, sent
// as a calendar day is the instant it is in the site's time zone
// (store.User.InZone). A user whose dates are instants, or who has none,
// is returned as it is, without a read of the store. tx is the login's
// transaction.
func (e *Engine) UserAt(ctx context.Context, tx store.SiteOps, u store.User, site string) (store.User, error) {
	if !u.HasDays() {
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

// spanOver returns u with StartDate the earliest startIn and EndDate the
// latest endIn over locs (not empty).
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

// siteUsersBatch is how many users a change of sites reads at a time.
const siteUsersBatch = 500

// ErrEndsSessions is returned by a change made with SiteZone.Offline that
// would end live kiosk sessions: nothing was changed.
var ErrEndsSessions = errors.New("the change would end live kiosk sessions")

// causeSiteZone is the cause in the audit records of sessions a change of
// a site's time zone ended or shortened.
const causeSiteZone = "site time zone changed"

// SiteZone asks PutSite to register a site with its time zone or to
// change the time zone of a registered one.
type SiteZone struct {
	Name     string // compared case-insensitively
	TimeZone string // an IANA name such as America/Los_Angeles; empty means UTC
	// Offline is for a caller that cannot tell kiosks anything: the CLI,
	// which may run next to a serving hub. A change that would end a live
	// kiosk session (a user whose last day is now over everywhere, a
	// session at the site whose day there is over) is refused with
	// ErrEndsSessions and changes nothing: the session would end in the
	// store while its kiosk kept it open. A shortened session is fine
	// offline: the running hub's scheduler ends it at its new expiry and
	// tells its kiosk.
	Offline bool
}

// SiteChange is what a change of sites did.
type SiteChange struct {
	Site    store.Site // as stored now
	Created bool       // the site was registered; else its zone changed, or was already the one asked for
	// Before is the zone the site had: "" when it was created.
	Before string
	// UsersRedated are the IDs of the users whose start or end instant
	// moved (see redateSiteUsers).
	UsersRedated []string
	// SessionsEnded are the IDs of the live kiosk sessions the change
	// ended: of users now deprovisioned, and sessions at the site whose
	// day there is over.
	SessionsEnded []string
}

// Unchanged reports whether the change found the site with the zone it
// asked for, and so wrote nothing.
func (c SiteChange) Unchanged() bool { return !c.Created && c.Before == c.Site.TimeZone }

// siteMode is what a change of sites may do.
type siteMode int

const (
	siteCreate siteMode = iota // register a site; a taken name is store.ErrConflict
	siteUpdate                 // change a registered site's zone; an unknown name is store.ErrNotFound
	sitePut                    // either
)

// CreateSite registers a site with its time zone (an IANA name such as
// America/Los_Angeles; empty means UTC) and, in the same transaction,
// resolves again the dates of the pending and active users who list the
// site and were sent calendar days: until now the site had no record, and
// its days were read in UTC. Each of those users changes as by
// UpdateUser (audited, and a user whose day is now over everywhere is
// deprovisioned), and the other live sessions at the site's kiosks of
// users with calendar days are decided again (one whose day there is over
// ends, one that outlasts it is shortened). A blank name or a zone that
// does not load is ErrInvalid; a name taken (case-insensitively) is
// store.ErrConflict. s.ID and s.Created are set here.
func (e *Engine) CreateSite(ctx context.Context, a Actor, s store.Site) (store.Site, error) {
	ch, err := e.changeSite(ctx, a, SiteZone{Name: s.Name, TimeZone: s.TimeZone}, siteCreate)
	if err != nil {
		return store.Site{}, err
	}
	return ch.Site, nil
}

// SetSiteTimeZone changes the time zone of the registered site named name
// (compared case-insensitively) to zone, checked as by CreateSite, and in
// the same transaction resolves again, as CreateSite does, the dates of
// the users who list the site and decides again the live sessions at its
// kiosks: an end sent as a calendar day moves to the end of that day in
// the new zone, and a user whose day is now over at every one of its sites
// is deprovisioned. The change is audited (site.update, with the zone
// before and after and the users whose dates moved). A zone the site has
// already changes nothing. An unknown site is store.ErrNotFound.
func (e *Engine) SetSiteTimeZone(ctx context.Context, a Actor, name, zone string) (SiteChange, error) {
	return e.changeSite(ctx, a, SiteZone{Name: name, TimeZone: zone}, siteUpdate)
}

// PutSite registers the site z.Name with z.TimeZone, as CreateSite, or, if
// it is registered, changes its zone, as SetSiteTimeZone: in one
// transaction, so that two callers cannot both try to create it.
func (e *Engine) PutSite(ctx context.Context, a Actor, z SiteZone) (SiteChange, error) {
	return e.changeSite(ctx, a, z, sitePut)
}

// CheckZone refuses (ErrInvalid) a time zone a site cannot have: one that
// does not load, and "Local", the hub host's zone, which would move every
// date the day the hub moved hosts. The CLI checks with it before it
// opens anything.
func CheckZone(zone string) error {
	if zone == "Local" {
		return invalid("time zone %q is the hub host's: give the site's own, an IANA name such as Europe/Berlin", zone)
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return invalid("time zone %q is not an IANA time zone name such as Europe/Berlin", zone)
	}
	return nil
}

func (e *Engine) changeSite(ctx context.Context, a Actor, z SiteZone, mode siteMode) (SiteChange, error) {
	name, zone := strings.TrimSpace(z.Name), strings.TrimSpace(z.TimeZone)
	if name == "" {
		return SiteChange{}, invalid("give the site a name")
	}
	if err := CheckZone(zone); err != nil {
		return SiteChange{}, err
	}
	var out SiteChange
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		out = SiteChange{}
		old, err := tx.GetSiteByName(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound) && mode != siteUpdate:
			// A new site's name is shown in the console, reviews and
			// revocation records: one with a character that shows as
			// nothing would read as another site's. Checked here, where
			// every path that registers a site passes (the CLI's site set
			// too); a site registered before keeps its name.
			if strings.ContainsFunc(name, store.Hidden) {
				return invalid("the site name %q has a control character or an invisible formatting character (such as a zero-width space or a variation selector)", name)
			}
			out.Created = true
			out.Site, err = tx.CreateSite(ctx, store.Site{ID: store.NewID(), Name: name, TimeZone: zone, Created: e.now().UTC()})
		case err != nil:
			return err
		case mode == siteCreate:
			return fmt.Errorf("site %s is registered: %w", old.Name, store.ErrConflict)
		case old.TimeZone == zone:
			out.Site, out.Before = old, old.TimeZone
			return nil
		default:
			out.Before = old.TimeZone
			out.Site, err = tx.UpdateSite(ctx, old.Name, func(s store.Site) (store.Site, error) {
				s.TimeZone = zone
				return s, nil
			})
		}
		if err != nil {
			return err
		}
		if out.UsersRedated, err = e.redateSiteUsers(ctx, tx, c, a, out.Site.Name); err != nil {
			return err
		}
		if err := e.redecideAtSite(ctx, tx, c, a, out.Site.Name, out.UsersRedated); err != nil {
			return err
		}
		for _, r := range c.revs {
			if r.SessionID != "" {
				out.SessionsEnded = append(out.SessionsEnded, r.SessionID)
			}
		}
		if z.Offline && len(out.SessionsEnded) > 0 {
			return fmt.Errorf("%w (%d): only the running hub can tell their kiosks", ErrEndsSessions, len(out.SessionsEnded))
		}
		detail := map[string]any{"id": out.Site.ID, "timeZone": out.Site.TimeZone,
			"usersRedated": nonNilStrings(out.UsersRedated), "sessionsEnded": nonNilStrings(out.SessionsEnded)}
		action := actionSiteCreate
		if !out.Created {
			action = actionSiteUpdate
			delete(detail, "timeZone")
			detail["before"] = map[string]string{"timeZone": out.Before}
			detail["after"] = map[string]string{"timeZone": out.Site.TimeZone}
		}
		entry := audit.Entry{Actor: a.Name, System: a.System, Action: action, Subject: "site:" + out.Site.Name, Detail: detail}
		_, err = e.audit.Append(ctx, tx, entry)
		return err
	})
	if err != nil {
		what := "create site"
		if mode != siteCreate {
			what = "set time zone of site"
		}
		return SiteChange{}, fmt.Errorf("%s %s: %w", what, name, err)
	}
	switch {
	case out.Created:
		e.log.Info("site created", "site", out.Site.Name, "time_zone", out.Site.TimeZone, "users_redated", len(out.UsersRedated), "actor", a.Name)
	case !out.Unchanged():
		e.log.Info("site time zone changed", "site", out.Site.Name, "before", out.Before, "time_zone", out.Site.TimeZone,
			"users_redated", len(out.UsersRedated), "sessions_ended", len(out.SessionsEnded), "actor", a.Name)
	}
	return out, nil
}

// redecideAtSite decides again the live sessions at the kiosks of site of
// the users with a calendar day (a start or end date, or a
// certification's expiry: the session may end by it at the end of the
// day at its site), after the site's zone was set, but for
// the users in done (redateSiteUsers changed them, and the change decided
// all their sessions again). The others' span did not move, but this
// site's day now ends at another instant: a user of a Los Angeles and a
// Tokyo site keeps the Los Angeles end when the other site moves from
// UTC to Tokyo, and a session in Tokyo must end by the end of the day
// there.
func (e *Engine) redecideAtSite(ctx context.Context, tx store.Ops, c *change, a Actor, site string, done []string) error {
	all, err := tx.ListDevices(ctx, site)
	if err != nil {
		return err
	}
	devices := map[string]store.Device{}
	var users []string
	byUser := map[string][]store.Session{}
	for _, d := range all {
		devices[d.ID] = d
		live, err := tx.ListSessions(ctx, store.SessionQuery{DeviceID: d.ID, LiveOnly: true})
		if err != nil {
			return err
		}
		for _, s := range live {
			if _, ok := byUser[s.UserID]; !ok {
				users = append(users, s.UserID)
			}
			byUser[s.UserID] = append(byUser[s.UserID], s)
		}
	}
	rules, now := e.Rules(), e.now().UTC()
	why := redecision{cause: causeSiteZone, revDetail: "site:" + site, detail: map[string]any{"site": site}}
	for _, uid := range users {
		if slices.Contains(done, uid) {
			continue
		}
		u, err := tx.GetUser(ctx, uid)
		if err != nil {
			return err
		}
		if !u.HasDays() {
			continue
		}
		if _, _, err := e.redecide(ctx, tx, c, a, u, byUser[uid], devices, rules, rules, now, why); err != nil {
			return fmt.Errorf("user %s: %w", uid, err)
		}
	}
	return nil
}

// redateSiteUsers resolves again the dates of the pending and active users
// who list site and have a calendar day, after the site's time zone was
// set (registered or changed), and returns the IDs of those whose dates
// moved.
func (e *Engine) redateSiteUsers(ctx context.Context, tx store.Ops, c *change, a Actor, site string) ([]string, error) {
	var (
		ids   []string
		after store.ListKey
	)
	for {
		// Every user but the deleted, a batch after the last one read
		// (by offset, each batch read every user before it again, and
		// counted them all). A user updated here keeps its place in the
		// list order (its creation and ID).
		users, _, err := tx.ListUsers(ctx, store.UserQuery{After: after, Limit: siteUsersBatch, NoTotal: true})
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
		last := users[len(users)-1]
		after = store.ListKey{Created: last.Created, ID: last.ID}
	}
}
