package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Shift limits and names.
const (
	// MaxExtension caps how far ahead one shift extension may reach:
	// longer cover is a shift in the schedule.
	MaxExtension = 12 * time.Hour
	// MaxExtensionGap is how long after a shift ended it may still be
	// extended: the worker signed out at the end of the shift whom the
	// supervisor asks to stay on. Later, an extension would lengthen no
	// shift but be a shift of its own, which belongs in the schedule.
	MaxExtensionGap = time.Hour
	// ReasonShiftEnd ends a session whose shift is over (wire.ReasonShiftEnd).
	ReasonShiftEnd = "shift_end"

	actionShiftsReplace        = "user.shifts_replace"
	actionShiftsImport         = "shifts.import"
	actionShiftExtend          = "shift.extend"
	actionShiftExtensionExpire = "shift.extension_expire"
	actionSessionExpiry        = "session.expiry_change"

	causeShiftsChanged   = "shifts changed"
	causeShiftExtended   = "shift extended"
	causeExtensionExpiry = "shift extension ended"
)

// ExpiryChange is a live session whose expiry a change moved; the hub
// pushes it to the kiosk as session.extend.
type ExpiryChange struct {
	Session store.Session // with its new Expires
	// Reason is what the kiosk reports when the session reaches Expires:
	// ReasonShiftEnd when the shift bounds it, ReasonExpired otherwise.
	Reason string
}

// SetShifts replaces the user's shifts (validated by shift.Normalize; an
// empty list clears them) and applies the change to the user's live
// sessions at once (see reconcile). The change is audited with the shifts
// before and after and detail. Deleted users are ErrNotFound. SetShifts
// checks no deciding person: see SetShiftsAs.
func (e *Engine) SetShifts(ctx context.Context, a Actor, userID string, shifts []store.Shift, detail map[string]any) (store.User, error) {
	return e.SetShiftsAs(ctx, a, nil, userID, shifts, detail)
}

// SetShiftsAs is SetShifts with the person making the change told by self
// inside its transaction, before anything else is read (nil: the actor is
// no person, an API token the CLI made). Setting that user's own shifts is
// ErrSelfGrant: shifts decide when the user may sign in, so widening them
// is access, and nobody decides their own (as for ExtendShiftAs). The check
// reads what the change reads, so a console account linked to the user
// between a caller's own check and the change is refused all the same.
func (e *Engine) SetShiftsAs(ctx context.Context, a Actor, self Self, userID string, shifts []store.Shift, detail map[string]any) (store.User, error) {
	norm, err := shift.Normalize(shifts)
	if err != nil {
		return store.User{}, invalid("%v", strings.TrimPrefix(err.Error(), shift.ErrInvalid.Error()+": "))
	}
	var out store.User
	err = e.run(ctx, func(tx store.Ops, c *change) error {
		if self != nil {
			deciders, err := self(ctx, tx)
			if err != nil {
				return err
			}
			if slices.Contains(deciders, userID) {
				return fmt.Errorf("%w: %s set its own shifts", ErrSelfGrant, a.Name)
			}
		}
		var err error
		out, err = e.setShifts(ctx, tx, c, a, userID, norm, detail)
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("set shifts of %s: %w", userID, err)
	}
	e.log.Info("shifts replaced", "user", userID, "shifts", len(norm), "actor", a.Name)
	return out, nil
}

// setShifts replaces normalized shifts inside tx.
func (e *Engine) setShifts(ctx context.Context, tx store.Ops, c *change, a Actor, userID string, shifts []store.Shift, detail map[string]any) (store.User, error) {
	now := e.now().UTC()
	var before []store.Shift
	u, err := tx.UpdateUser(ctx, userID, func(old store.User) (store.User, error) {
		if old.State == store.UserDeleted {
			return old, fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		}
		before = old.Shifts
		old.Shifts, old.Modified = shifts, now
		return old, nil
	})
	if err != nil {
		return store.User{}, err
	}
	rec := map[string]any{"before": nonNil(before), "after": nonNil(shifts)}
	for k, v := range detail {
		rec[k] = v
	}
	if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionShiftsReplace, Subject: subjectUserPrefix + userID, Detail: rec}); err != nil {
		return store.User{}, err
	}
	if shift.Equal(before, shifts) {
		return u, nil
	}
	return u, e.reconcile(ctx, tx, c, a, u, now, causeShiftsChanged)
}

func nonNil(s []store.Shift) []store.Shift {
	if s == nil {
		return []store.Shift{}
	}
	return s
}

// ImportResult is what an import changed.
type ImportResult struct {
	Users  int // users whose shifts were replaced
	Shifts int // shifts they have now
}

// ImportShifts applies a parsed HR/WFM import in one transaction: each
// listed user's shifts are replaced by the file's (users not listed keep
// theirs). A userName that names no user (deleted ones included) fails the
// whole import with a line-numbered *shift.ImportError; nothing changes.
// source names the file in the audit trail, detail is added to the
// import's summary record. With dryRun everything is checked and counted
// and then rolled back.
//
// Rows left with local times (shift.ImportOptions.SiteZones) are placed
// in the user's zone (importZone), read from the user's sites in the same
// transaction; a user whose zone cannot be told fails the import too.
func (e *Engine) ImportShifts(ctx context.Context, a Actor, imp shift.Import, source string, detail map[string]any, dryRun bool) (ImportResult, error) {
	var res ImportResult
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		res = ImportResult{}
		ids := map[string]string{} // folded userName → ID
		zones := map[string]importZoneOf{}
		sites := map[string]siteZoneOf{}
		var bad []shift.LineError
		known := imp // the users that exist
		known.Users = nil
		for _, us := range imp.Users {
			found, _, err := tx.ListUsers(ctx, store.UserQuery{UserName: us.UserName, States: []store.UserState{store.UserPending, store.UserActive, store.UserDisabled}})
			if err != nil {
				return err
			}
			if len(found) != 1 {
				// Lines are in shift order: name the user's first line
				// in the file, and how many more there are to fix
				// (those refused for other problems too: us.Failed).
				lines := append(slices.Clone(us.Lines), us.Failed...)
				for _, r := range us.Local {
					lines = append(lines, r.Line)
				}
				first, more := slices.Min(lines), ""
				if n := len(lines) - 1; n > 0 {
					more = fmt.Sprintf(" (named on this line and %d more)", n)
				}
				bad = append(bad, shift.LineError{Line: first,
					Msg: fmt.Sprintf("no user %q%s: check the spelling, or provision the user (SCIM) before importing their shifts", us.UserName, more)})
				continue
			}
			key := store.FoldName(us.UserName)
			ids[key] = found[0].ID
			known.Users = append(known.Users, us)
			if len(us.Local) > 0 {
				z, err := e.importZone(ctx, tx, found[0], imp.Zone, sites)
				if err != nil {
					return err
				}
				zones[key] = z
			}
		}
		placed, more := known.Resolve(func(us shift.UserShifts) (*time.Location, string) {
			z := zones[store.FoldName(us.UserName)]
			if z.problem != "" {
				return nil, localProblem(us, z.problem)
			}
			return z.loc, ""
		})
		if err := shift.NewImportError(append(bad, more...)); err != nil {
			return err
		}
		for _, us := range placed.Users {
			rec := map[string]any{"source": source, "lines": us.Lines}
			if z := zones[store.FoldName(us.UserName)]; z.loc != nil {
				rec["localZone"] = z.loc.String()
				rec["localZoneFrom"] = z.from
			}
			if _, err := e.setShifts(ctx, tx, c, a, ids[store.FoldName(us.UserName)], us.Shifts, rec); err != nil {
				return fmt.Errorf("line %d: %s: %w", us.Lines[0], us.UserName, err)
			}
			res.Users++
			res.Shifts += len(us.Shifts)
		}
		rec := map[string]any{"rows": imp.Rows, "users": res.Users, "shifts": res.Shifts}
		for k, v := range detail {
			rec[k] = v
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionShiftsImport, Subject: "import:" + source, Detail: rec}); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		return ImportResult{}, fmt.Errorf("import shifts from %s: %w", source, err)
	}
	e.log.Info("shifts imported", "source", source, "users", res.Users, "shifts", res.Shifts, "actor", a.Name)
	return res, nil
}

// localProblem names the user's rows without a zone a problem is about:
// it is reported on the first of them.
func localProblem(us shift.UserShifts, problem string) string {
	if n := len(us.Local) - 1; n > 0 {
		return fmt.Sprintf("%s (this line and %d more of %s's lines give a local time and no %s)", problem, n, us.UserName, shift.ColZone)
	}
	return problem
}

// importZoneOf is the zone an import reads a user's local times in when
// their line has no zone value: loc (nil refuses them, as without a zone),
// or a problem saying why it cannot be told.
type importZoneOf struct {
	loc     *time.Location
	from    string // "site" or "default" (the importer's --zone)
	problem string
}

// siteZoneOf is a site's registered zone as an import reads it: "" for a
// site without a record, without a zone, or whose zone does not load.
type siteZoneOf struct {
	name, zone string
	loc        *time.Location
}

// importZone decides where u's local times without a zone value lie. The
// importer's default zone def (--zone) applies to everyone in the file,
// so it must not overrule the zone where u works:
//
//   - u has no site with a registered zone: def (nil: refused, as before
//     sites had zones);
//   - def is given and u has a site registered with another zone: refused
//     (the file's default would silently move u's shifts by the zones'
//     difference), naming both zones;
//   - def is given otherwise (u's registered zones are def): def;
//   - no def, all of u's sites registered with one and the same zone:
//     that zone;
//   - no def, u's sites in several zones, or some with a zone and some
//     without: refused, asking for the zone column (or --zone for the
//     latter).
//
// Zones are compared by IANA name. sites caches the sites read.
func (e *Engine) importZone(ctx context.Context, tx store.SiteOps, u store.User, def *time.Location, sites map[string]siteZoneOf) (importZoneOf, error) {
	var known []siteZoneOf // u's sites with a registered zone
	var unknown []string   // and without
	for _, name := range u.Sites {
		key := strings.ToLower(name)
		sz, ok := sites[key]
		if !ok {
			s, err := tx.GetSiteByName(ctx, name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				sz = siteZoneOf{name: name}
			case err != nil:
				return importZoneOf{}, fmt.Errorf("time zone of site %s: %w", name, err)
			default:
				sz = siteZoneOf{name: s.Name}
				if loc, err := time.LoadLocation(s.TimeZone); s.TimeZone != "" && s.TimeZone != "Local" && err == nil {
					sz.zone, sz.loc = s.TimeZone, loc
				}
			}
			sites[key] = sz
		}
		if sz.loc == nil {
			unknown = append(unknown, name)
			continue
		}
		if !slices.ContainsFunc(known, func(k siteZoneOf) bool { return k.zone == sz.zone }) {
			known = append(known, sz)
		}
	}
	where := func(list []siteZoneOf) string {
		parts := make([]string, len(list))
		for i, k := range list {
			parts[i] = fmt.Sprintf("%s at site %s", k.zone, k.name)
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case len(known) == 0:
		return importZoneOf{loc: def, from: "default"}, nil
	case def != nil:
		var other []siteZoneOf
		for _, k := range known {
			if k.zone != def.String() {
				other = append(other, k)
			}
		}
		if len(other) == 0 {
			return importZoneOf{loc: def, from: "default"}, nil
		}
		fix := "give this user's lines their zone in the zone column, or leave out --zone to read them in the site's zone"
		if len(known) > 1 {
			fix = "give this user's lines their zone in the zone column"
		}
		return importZoneOf{problem: fmt.Sprintf("%s works in %s, but --zone is %s: a local time read in %s would be hours off; %s",
			u.UserName, where(other), def, def, fix)}, nil
	case len(known) > 1:
		return importZoneOf{problem: fmt.Sprintf("%s's sites are in different time zones (%s): give this user's lines their zone in the zone column, or their times with a UTC offset",
			u.UserName, where(known))}, nil
	case len(unknown) > 0:
		return importZoneOf{problem: fmt.Sprintf("%s works in %s, but site %s has no registered time zone: give this user's lines their zone in the zone column, pass --zone %s, or register the site's zone (site set)",
			u.UserName, where(known), strings.Join(unknown, ", "), known[0].zone)}, nil
	}
	return importZoneOf{loc: known[0].loc, from: "site"}, nil
}

// errDryRun rolls back a dry run.
var errDryRun = errors.New("dry run")

// ExtendShift lets the user work at site until until: a supervisor's
// just-in-time extension, stored as a store.ShiftExtension from now to
// until that policy treats as shift time on the kiosks of that site only.
// The user must be active and have shifts (without shifts no shift limits
// their sessions), site must be one of the user's sites ("" names the
// user's only site; a user of several must be told which), until must
// lie in the future and within MaxExtension, and a reason is required.
// The extension must lengthen a shift of the user's at that site (see
// checkExtends): one running now (shift grace included; until must then
// be later than its end) or one that ended at most MaxExtensionGap ago;
// time that touches no shift is a shift for the schedule, not an
// extension. Otherwise the error is ErrInvalid, saying which shift would
// be needed. The extension is stored with the site as the user's record
// spells it.
//
// The user's live sessions on kiosks of that site get the later expiry at
// once (returned, and pushed to their kiosks); sessions at the user's
// other sites are not touched. The extension is audited with its site,
// reason and approver (the actor).
//
// The engine checks the site against the user, not the actor: whoever
// calls it decides that the actor may act at site (the console: a
// supervisor's own sites; the JSON API: admins only). ExtendShift checks
// no approving person: see ExtendShiftAs.
func (e *Engine) ExtendShift(ctx context.Context, a Actor, userID, site string, until time.Time, reason string) (store.ShiftExtension, []ExpiryChange, error) {
	return e.ExtendShiftAs(ctx, a, nil, userID, site, until, reason)
}

// ExtendShiftAs is ExtendShift with the approving person's hub user told
// by self inside the extension's transaction, before anything else is
// read (nil: the actor is no person, an API token). An extension of that
// user's own shift is ErrSelfGrant: more time at the kiosk is access, and
// nobody approves their own (as for GrantAccessAs). The check reads what
// the extension reads, so a console account linked to the worker between
// a caller's own check and the extension (a user renamed to an unlinked
// account's name) is refused all the same.
func (e *Engine) ExtendShiftAs(ctx context.Context, a Actor, self Self, userID, site string, until time.Time, reason string) (store.ShiftExtension, []ExpiryChange, error) {
	now := e.now().UTC()
	reason = strings.TrimSpace(reason)
	site = strings.TrimSpace(site)
	switch {
	case reason == "":
		return store.ShiftExtension{}, nil, invalid("give a reason: it is recorded in the audit trail")
	case len(reason) > 500:
		return store.ShiftExtension{}, nil, invalid("the reason is longer than 500 characters")
	case until.IsZero():
		return store.ShiftExtension{}, nil, invalid(`give "until": when the extended shift ends (RFC 3339)`)
	case !until.After(now):
		return store.ShiftExtension{}, nil, invalid("until (%s) has already passed", until.UTC().Format(time.RFC3339))
	case until.Sub(now) > MaxExtension:
		return store.ShiftExtension{}, nil, invalid("an extension reaches at most %s ahead; longer cover is a shift in the schedule", MaxExtension)
	}
	x := store.ShiftExtension{ID: uuid.NewString(), UserID: userID, Start: now, End: until.UTC(), Reason: reason, Approver: a.Name, Created: now}
	var moved []ExpiryChange
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		if self != nil {
			approvers, err := self(ctx, tx)
			if err != nil {
				return err
			}
			if slices.Contains(approvers, userID) {
				return fmt.Errorf("%w: %s approved an extension of its own shift", ErrSelfGrant, a.Name)
			}
		}
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		switch {
		case u.State == store.UserDeleted:
			return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		case u.State != store.UserActive:
			return invalid("user %s is %s: an extension gives no access", u.UserName, u.State)
		case len(u.Shifts) == 0:
			return invalid("user %s has no shifts: no shift limits their sessions, so there is nothing to extend", u.UserName)
		}
		if x.Site, err = extensionSite(u, site); err != nil {
			return err
		}
		exts, err := tx.ListShiftExtensions(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := checkExtends(u, x.Site, exts, now, x.End, e.grace()); err != nil {
			return err
		}
		if _, err := tx.CreateShiftExtension(ctx, x); err != nil {
			return err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionShiftExtend, Subject: subjectUserPrefix + userID,
			Detail: map[string]any{"extension": x.ID, "site": x.Site, "start": x.Start, "until": x.End, "reason": x.Reason, "approver": x.Approver}}); err != nil {
			return err
		}
		if err := e.reconcileAt(ctx, tx, c, a, u, now, causeShiftExtended, x.Site); err != nil {
			return err
		}
		moved = c.moved
		return nil
	})
	if err != nil {
		return store.ShiftExtension{}, nil, fmt.Errorf("extend shift of %s: %w", userID, err)
	}
	e.log.Info("shift extended", "user", userID, "site", x.Site, "until", x.End, "sessions", len(moved), "actor", a.Name)
	return x, moved, nil
}

// extensionSite is the site an extension of u asked for at site counts
// at: one of u's sites, as u's record spells it; "" is u's only site.
func extensionSite(u store.User, site string) (string, error) {
	if site == "" {
		switch len(u.Sites) {
		case 0:
			return "", invalid("user %s has no site: an extension counts only at one of the user's sites", u.UserName)
		case 1:
			return u.Sites[0], nil
		default:
			return "", invalid(`user %s works at several sites (%s): give "site", the one where the extension counts`, u.UserName, strings.Join(u.Sites, ", "))
		}
	}
	if i := slices.IndexFunc(u.Sites, func(s string) bool { return strings.EqualFold(s, site) }); i >= 0 {
		return u.Sites[i], nil
	}
	return "", invalid("user %s does not work at site %q: an extension counts only at one of the user's sites", u.UserName, site)
}

// checkExtends refuses (ErrInvalid) an extension of u at site from now to
// until that lengthens no shift there. The shifts at site are u's shifts
// and u's extensions at site (policy.ShiftWindow merges them into
// windows, as a login there sees them). The extension must either
//
//   - lengthen the window now lies in (grace before its start included,
//     as a worker may sign in then): until must be later than its end, or
//     the extension changes nothing; or
//   - follow a window that ended at most MaxExtensionGap before now: the
//     worker was signed out at the end of the shift and is asked to stay.
//
// Anything else (no shift today, one that ended hours ago, one that has
// not started) would be a shift of its own. The refusal names the shift
// that would be needed, and u's last and next shifts there.
func checkExtends(u store.User, site string, exts []store.ShiftExtension, now, until time.Time, grace time.Duration) error {
	at := policy.ExtensionsAt(exts, site)
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if end, ok := policy.ShiftWindow(u.Shifts, at, now, grace); ok {
		if !until.After(end) {
			return invalid("%s's shift at site %s already runs until %s: an extension must end later than that (until is %s)",
				u.UserName, site, stamp(end), stamp(until))
		}
		return nil
	}
	var last, next time.Time // the end of the last window before now, the start of the next
	for _, sh := range u.Shifts {
		if !sh.End.After(now) && sh.End.After(last) {
			last = sh.End
		}
		if sh.Start.After(now) && (next.IsZero() || sh.Start.Before(next)) {
			next = sh.Start
		}
	}
	for _, x := range at {
		if x.Start.Before(x.End) && !x.End.After(now) && x.End.After(last) {
			last = x.End
		}
	}
	if !last.IsZero() && now.Sub(last) <= MaxExtensionGap {
		return nil
	}
	msg := fmt.Sprintf("%s has no shift at site %s to extend: an extension lengthens a shift running now or one that ended at most %s ago (after %s)",
		u.UserName, site, policy.FormatDuration(MaxExtensionGap), stamp(now.Add(-MaxExtensionGap)))
	if !last.IsZero() {
		msg += fmt.Sprintf("; %s's last shift there ended at %s", u.UserName, stamp(last))
	}
	if !next.IsZero() {
		msg += fmt.Sprintf("; the next starts at %s", stamp(next))
	}
	return invalid("%s; to have %s work until %s, add a shift to their schedule", msg, u.UserName, stamp(until))
}

// grace is the shift grace the rules give.
func (e *Engine) grace() time.Duration {
	return shiftGrace(e.Rules())
}

// reconcile brings the user's live sessions in line with its shifts and
// extensions at now, as if each session were decided again (with the
// extensions of its kiosk's site):
//
//   - a session now outside every shift (grace included) ends (reason
//     shift_end) and is revoked at its kiosk; one in a shift whose other
//     bound (below) is past ends so too, with reason expired;
//   - otherwise its expiry becomes the earlier of the end of the shift
//     window now lies in and what bounds it besides shifts now
//     (otherBoundOn: the role maximum counted from its login, the ends of
//     the grants it holds its roles through, certifications, end date); a
//     session of a user without shifts gets the latter.
//
// Offline (no OnExpiry: the CLI) a session is never lengthened, and one
// that must end gets its expiry set to now: the running hub's scheduler
// ends it and tells its kiosk within one pass.
func (e *Engine) reconcile(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, now time.Time, cause string) error {
	return e.reconcileAt(ctx, tx, c, a, u, now, cause, "")
}

// reconcileAt is reconcile for the user's live sessions on kiosks of site
// only ("": every site). A session's shift window is its kiosk's: the
// user's shifts and the extensions of the kiosk's site.
func (e *Engine) reconcileAt(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, now time.Time, cause, site string) error {
	live, err := tx.ListSessions(ctx, store.SessionQuery{UserID: u.ID, LiveOnly: true})
	if err != nil || len(live) == 0 {
		return err
	}
	var exts []store.ShiftExtension
	if len(u.Shifts) > 0 {
		if exts, err = tx.ListShiftExtensions(ctx, u.ID); err != nil {
			return err
		}
	}
	online := e.onExpiry != nil
	for _, s := range live {
		d, err := tx.GetDevice(ctx, s.DeviceID)
		if err != nil {
			return err
		}
		if site != "" && !strings.EqualFold(d.Site, site) {
			continue
		}
		windowEnd, inShift := policy.ShiftWindow(u.Shifts, policy.ExtensionsAt(exts, d.Site), now, e.grace())
		target, reason := now, ReasonShiftEnd
		tie := false // the shift and another bound end the session together
		if len(u.Shifts) == 0 || inShift {
			if target, _, err = e.otherBoundOn(ctx, tx, u, s, d, e.Rules(), now); err != nil {
				return err
			}
			reason = ReasonExpired
			if len(u.Shifts) > 0 && !windowEnd.After(target) {
				tie = windowEnd.Equal(target)
				target, reason = windowEnd, ReasonShiftEnd
			}
		}
		switch {
		case target.Equal(s.Expires) && (tie || reason == ExpiryReasonOf(s)):
			// An expiry that stays for another reason is set again: a
			// shift extended past the grant the session now ends with
			// must not leave it ending as shift_end, here or at its
			// kiosk. At a tie either reason is true, and the one the
			// session has is kept.
			continue
		case !target.After(now) && online:
			// Ended for what ends it now: a session whose grant ran out
			// inside a shift extended since ends as expired, not
			// shift_end.
			if err := e.endForShift(ctx, tx, c, a, s, now, cause, reason); err != nil {
				return err
			}
			continue
		case !target.After(now):
			target = now
		case target.After(s.Expires) && !online:
			continue // no kiosk could be told: it ends the session at its old expiry
		}
		moved, err := tx.SetSessionExpiryFor(ctx, s.ID, target, reason)
		if err != nil {
			return err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionSessionExpiry, Subject: subjectUserPrefix + u.ID,
			Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "before": s.Expires, "after": target, "endsBy": reason, "cause": cause}}); err != nil {
			return err
		}
		if online {
			c.moved = append(c.moved, ExpiryChange{Session: moved, Reason: reason})
		}
	}
	return nil
}

// endForShift ends a live session that a change of its user's shifts
// finds due to end now, with reason (ReasonShiftEnd when its shift is
// over, ReasonExpired when something else bounds it and has passed), and
// revokes it at its kiosk.
func (e *Engine) endForShift(ctx context.Context, tx store.Ops, c *change, a Actor, s store.Session, now time.Time, cause, reason string) error {
	ended, err := tx.EndSession(ctx, s.ID, reason, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := e.revoke(ctx, tx, c, store.Revocation{UserID: ended.UserID, SessionID: ended.ID, DeviceID: ended.DeviceID, Reason: reason, Detail: "shift", Created: now}); err != nil {
		return err
	}
	_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.end", Subject: subjectUserPrefix + ended.UserID,
		Detail: map[string]any{"session": ended.ID, "device": ended.DeviceID, "reason": reason, "cause": cause}})
	return err
}

// otherBound is what bounds session s apart from shifts, under rules, as
// of now (see otherBoundOn), and which bound it is (policy.EndsBy*).
func (e *Engine) otherBound(ctx context.Context, tx store.Ops, u store.User, s store.Session, rules policy.Rules, now time.Time) (time.Time, string, error) {
	d, err := tx.GetDevice(ctx, s.DeviceID)
	if err != nil {
		return time.Time{}, "", err
	}
	return e.otherBoundOn(ctx, tx, u, s, d, rules, now)
}

// otherBoundOn is what bounds session s on kiosk d apart from shifts: the
// session's roles decided again under rules as of now, shifts set aside,
// with the maximum length counted from the session's login. So the grant
// ends are those of the grants the session holds its roles through now
// (a grant made after the login, which the session came to depend on when
// the one it started with was revoked, bounds it; a revoked one never
// counts), and so are the certification expiries and the end date (at
// d's site). The second result names the bound (policy.EndsBy*).
//
// If the policy no longer allows the session, or no longer counts one of
// its roles now (an entitlement being removed, which ends the session by
// its own path), what bounds that role cannot be told: the result is
// never later than the session's expiry.
func (e *Engine) otherBoundOn(ctx context.Context, tx store.Ops, u store.User, s store.Session, d store.Device, rules policy.Rules, now time.Time) (time.Time, string, error) {
	groups, _, err := tx.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return time.Time{}, "", err
	}
	var roles []string
	for _, g := range groups {
		if hasRole(s.Role, g.DisplayName) {
			roles = append(roles, g.DisplayName)
		}
	}
	all, err := tx.ListGrants(ctx, u.ID)
	if err != nil {
		return time.Time{}, "", err
	}
	var grants []store.Grant
	for _, g := range all {
		if hasRole(s.Role, g.Role) {
			grants = append(grants, g)
		}
	}
	// Dates sent as calendar days are read in the kiosk's site zone.
	free, err := e.UserAt(ctx, tx, u, d.Site)
	if err != nil {
		return time.Time{}, "", err
	}
	free = DecidedAt(free, now)
	free.Shifts = nil
	var deviceMax time.Duration
	if e.maxOn != nil {
		deviceMax = e.maxOn(d.Profile)
	}
	dec := policy.Decide(policy.Input{User: free, Roles: roles, Grants: grants, Device: d, DeviceMaxSession: deviceMax, Now: now, UserVerified: true, Rules: rules})
	if !dec.Allow {
		return s.Expires, "", nil
	}
	// Decided as of now, the maximum would run from now: it runs from
	// the login.
	end, by := dec.ExpiresAt, dec.EndsBy
	maxLen := rules.MaxSessionFor(dec.Roles)
	if deviceMax > 0 && deviceMax < maxLen {
		maxLen = deviceMax
	}
	if m := s.Started.Add(maxLen); m.Before(end) {
		end, by = m, policy.EndsByMaxSession
	}
	for r := range strings.SplitSeq(s.Role, policy.RoleSeparator) {
		if r = strings.TrimSpace(r); r != "" && !containsFold(dec.Roles, r) && s.Expires.Before(end) {
			end, by = s.Expires, ""
			break
		}
	}
	return end, by, nil
}
