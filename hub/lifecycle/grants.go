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
	"github.com/shiftgate/shiftgate/hub/store"
)

// MaxGrantLength caps a just-in-time grant: access meant to last longer
// belongs in the identity provider as a role, where it is reviewed.
const MaxGrantLength = 30 * 24 * time.Hour

// MaxGrantLead is how far ahead a grant may be scheduled to start.
const MaxGrantLead = 365 * 24 * time.Hour

// ErrInvalid marks a request that can never succeed as sent; its message
// says what to change.
var ErrInvalid = errors.New("invalid request")

// ErrSelfGrant refuses a grant to the person approving it, an extension
// of their own shift (ExtendShiftAs) and a change of their own shifts
// (SetShiftsAs): nobody grants themselves access (HTTP 403).
var ErrSelfGrant = errors.New("nobody grants themselves access")

// Grant audit actions.
const (
	actionGrantCreate = "grant.create"
	actionGrantRevoke = "grant.revoke"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// GrantAccess gives a user a time-bound role at a site. g needs UserID,
// Role, Site, End and Reason; a zero Start, or one that has passed, means
// now (a grant gives no access before it is made, and its record says
// when its access began), an empty Approver means the actor. The user
// must exist and not be deleted or disabled, the site must exist, the
// login policy in force must let the role count at the site
// (roleCountsAt), and the grant must end after it starts, in the future,
// and within MaxGrantLength of its start. The grant is audited with its
// reason and approver.
func (e *Engine) GrantAccess(ctx context.Context, a Actor, g store.Grant) (store.Grant, error) {
	return e.GrantAccessBy(ctx, a, "", g)
}

// GrantAccessBy is GrantAccess approved by a person who is the hub user
// grantorID (a console account is the hub user it is linked to); "" when the
// actor is no person (an API token). A grant to grantorID is
// ErrSelfGrant: nobody grants themselves access.
func (e *Engine) GrantAccessBy(ctx context.Context, a Actor, grantorID string, g store.Grant) (store.Grant, error) {
	if grantorID != "" && g.UserID == grantorID {
		return store.Grant{}, fmt.Errorf("grant %s at %s: %w: %s approved a grant to itself", strings.TrimSpace(g.Role), strings.TrimSpace(g.Site), ErrSelfGrant, a.Name)
	}
	return e.GrantAccessAs(ctx, a, nil, g)
}

// Self tells, inside the transaction that makes a decision, which hub
// users the person making it stands for (their IDs): none when the actor
// is no person or a person without a hub user; the one a console account
// is linked to; for an account linked to nobody, every user, not deleted,
// of its name, since any of them may be its person (two users whose names
// differ in non-ASCII case only, from before names were folded). The
// check that nobody decides on their own access must read what the
// decision reads: who a console account stands for can change between a
// read before the transaction and the decision (a user renamed to the
// account's name links the account to it), and a self-grant would then
// slip through.
type Self func(ctx context.Context, tx store.Ops) (userIDs []string, err error)

// GrantAccessAs is GrantAccessBy with the approving person's hub user
// told by self inside the grant's transaction, before anything else is
// read (nil: the actor is no person). A grant to that user is
// ErrSelfGrant.
func (e *Engine) GrantAccessAs(ctx context.Context, a Actor, self Self, g store.Grant) (store.Grant, error) {
	return e.GrantAccessIf(ctx, a, self, nil, g)
}

// MayGrant tells, inside a grant's transaction, whether the approver may
// grant to user u as that transaction reads it: nil when it may, else the
// refusal, which GrantAccessIf returns wrapped and which rolls the grant
// back. The console's supervisors grant only to workers of their own
// sites: checked before the transaction, a worker moved to another site
// by the identity provider in between would get a grant from a
// supervisor no longer theirs.
type MayGrant func(ctx context.Context, tx store.Ops, u store.User) error

// GrantAccessIf is GrantAccessAs with may (nil: no check) told the user
// the grant is for, inside the grant's transaction, once self has been
// asked and before the user's state is checked.
func (e *Engine) GrantAccessIf(ctx context.Context, a Actor, self Self, may MayGrant, g store.Grant) (store.Grant, error) {
	g, _, err := e.grantAccess(ctx, a, self, may, nil, g)
	return g, err
}

// grantAccess is GrantAccessIf, and with once (nil: none) GrantAccessOnce
// too, which then reports whether it returns the grant once's key made
// before (replayed) instead of a new one.
func (e *Engine) grantAccess(ctx context.Context, a Actor, self Self, may MayGrant, once *GrantRequest, g store.Grant) (_ store.Grant, replayed bool, _ error) {
	now := e.now().UTC()
	g.Role, g.Site, g.Reason = strings.TrimSpace(g.Role), strings.TrimSpace(g.Site), strings.TrimSpace(g.Reason)
	if g.Start.IsZero() || g.Start.Before(now) {
		g.Start = now
	}
	if g.Approver == "" {
		g.Approver = a.Name
	}
	switch {
	case g.UserID == "":
		return store.Grant{}, false, invalid("name the user the grant is for")
	case g.Role == "":
		return store.Grant{}, false, invalid("name the role to grant")
	case strings.Contains(g.Role, policy.RoleSeparator):
		return store.Grant{}, false, invalid("role %q has %q in its name, which separates a session's roles: no session could hold it; rename the group", g.Role, policy.RoleSeparator)
	case g.Site == "":
		return store.Grant{}, false, invalid("name the site the role is granted at")
	case g.Reason == "":
		return store.Grant{}, false, invalid("give a reason: it is recorded in the audit trail and shown in access reviews")
	case g.End.IsZero():
		return store.Grant{}, false, invalid("give an end time: just-in-time grants always end")
	case !g.End.After(now):
		return store.Grant{}, false, invalid("the grant's end (%s) has already passed", g.End.Format(time.RFC3339))
	case !g.End.After(g.Start):
		return store.Grant{}, false, invalid("the grant ends (%s) before it starts (%s)", g.End.Format(time.RFC3339), g.Start.Format(time.RFC3339))
	case g.Start.Sub(now) > MaxGrantLead:
		return store.Grant{}, false, invalid("the grant starts more than a year ahead (%s): schedule it closer to the time", g.Start.Format(time.RFC3339))
	case g.End.Sub(g.Start) > MaxGrantLength:
		return store.Grant{}, false, invalid("a grant lasts at most %d days; longer access is a role in the identity provider", int(MaxGrantLength/(24*time.Hour)))
	}
	g.ID, g.Created, g.Revoked = uuid.NewString(), now, time.Time{}
	var prior store.Grant // what once's key made before, when replayed
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		replayed = false
		if once != nil {
			// Before anything else is read: a retry that lost the race
			// to the first request gets its grant whatever has changed
			// since, as the caller's lookup before the transaction
			// would have given it.
			made, err := grantOnce(ctx, tx, *once, now)
			if err == nil {
				prior, replayed = made, true
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if self != nil {
			grantors, err := self(ctx, tx)
			if err != nil {
				return err
			}
			if slices.Contains(grantors, g.UserID) {
				return fmt.Errorf("%w: %s approved a grant to itself", ErrSelfGrant, a.Name)
			}
		}
		u, err := tx.GetUser(ctx, g.UserID)
		if err != nil {
			return err
		}
		if may != nil {
			if err := may(ctx, tx, u); err != nil {
				return err
			}
		}
		if u.State == store.UserDeleted || u.State == store.UserDisabled {
			return invalid("user %s is not active: a grant would give no access", u.UserName)
		}
		// Not assigned on error: the error's "grant ROLE at SITE" names
		// the site as sent.
		site, err := knownSite(ctx, tx, g.Site)
		if err != nil {
			return err
		}
		g.Site = site
		// The rules in force as the grant is made, checked here rather
		// than by each caller, so that the API and the console's grant
		// form both refuse a grant that could never be used.
		if err := roleCountsAt(e.Rules(), g.Role, g.Site); err != nil {
			return err
		}
		// Assigned on success only, for the same reason: a failed
		// CreateGrant returns a blank grant, which would make the error
		// read "grant  at : ...".
		created, err := tx.CreateGrant(ctx, g)
		if err != nil {
			return err
		}
		g = created
		if _, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionGrantCreate, Subject: subjectUserPrefix + g.UserID,
			Detail: map[string]any{"grant": g.ID, "role": g.Role, "site": g.Site, "start": g.Start, "end": g.End, "reason": g.Reason, "approver": g.Approver}}); err != nil {
			return err
		}
		if once != nil {
			return keepGrantKey(ctx, tx, *once, g, now)
		}
		return nil
	})
	if err != nil {
		return store.Grant{}, false, fmt.Errorf("grant %s at %s: %w", g.Role, g.Site, err)
	}
	if replayed {
		return prior, true, nil
	}
	e.log.Info("access granted", "grant", g.ID, "user", g.UserID, "role", g.Role, "site", g.Site, "end", g.End)
	return g, false, nil
}

// knownSite returns the spelling the hub knows site by: a registered site,
// or the site of an enrolled kiosk. A grant at a site with neither could
// never be used.
func knownSite(ctx context.Context, tx store.Ops, site string) (string, error) {
	s, err := tx.GetSiteByName(ctx, site)
	if err == nil {
		return s.Name, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	ds, err := tx.ListDevices(ctx, site)
	if err != nil {
		return "", err
	}
	if len(ds) > 0 {
		return ds[0].Site, nil
	}
	return "", invalid("no site %q: no kiosk is enrolled there", site)
}

// roleCountsAt refuses (ErrInvalid) a grant of role at site that the
// login policy rules let count nowhere there: the role's rule names only
// other sites, or the role has no rule and the rule for other roles gives
// no apps. The worker would be refused at the kiosk (not_allowed_here) for
// as long as the grant runs, after the grant was made; like a grant at a
// site the hub does not know (knownSite), the approver must hear it now.
// What depends on the user (employment type, a certification) is left to
// the login.
func roleCountsAt(rules policy.Rules, role, site string) error {
	rule := rules.Rule(role)
	switch {
	case len(rule.Apps) == 0:
		return invalid("role %q gives no apps: the login policy has no rule for it, and the rule for other roles gives none, so a grant of it could never be used; grant a role the policy lists, or add a rule for it first", role)
	case len(rule.Sites) > 0 && !slices.ContainsFunc(rule.Sites, func(s string) bool { return strings.EqualFold(s, site) }):
		return invalid("role %q counts only at sites %v under the login policy, not at %s, so a grant of it there could never be used; grant it at one of those sites, or change the policy first", role, rule.Sites, site)
	}
	return nil
}

// RevokeGrant ends a grant early. The user's live sessions at the grant's
// site that hold its role only through this grant end at once (reason
// entitlement_removed) and are pushed to their kiosks. ErrNotFound if the
// grant does not exist or is already revoked or over.
func (e *Engine) RevokeGrant(ctx context.Context, a Actor, id, why string) (store.Grant, error) {
	var g store.Grant
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		now := e.now().UTC()
		var err error
		if g, err = tx.RevokeGrant(ctx, id, now); err != nil {
			return err
		}
		ended, err := e.endGrantSessions(ctx, tx, c, a, g, now)
		if err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionGrantRevoke, Subject: subjectUserPrefix + g.UserID,
			Detail: map[string]any{"grant": g.ID, "role": g.Role, "site": g.Site, "reason": why, "sessionsEnded": ended}})
		return err
	})
	if err != nil {
		return store.Grant{}, fmt.Errorf("revoke grant %s: %w", id, err)
	}
	return g, nil
}

// endGrantSessions applies the end of grant g (revoked, or run out) to the
// user's live sessions on kiosks of g's site that hold g's role. If the
// user no longer holds the role there they end at once (reason
// entitlement_removed) and are revoked at their kiosks. If it holds the
// role only through other running grants, a session that g let run past
// the latest of their ends is shortened to it (session.expiry_change by
// a, pushed as session.extend): of two overlapping grants a session runs
// to the later end, and revoking that grant must not leave it running
// there. A group role at one of the user's sites bounds nothing. It
// returns the sessions it ended.
func (e *Engine) endGrantSessions(ctx context.Context, tx store.Ops, c *change, a Actor, g store.Grant, now time.Time) ([]string, error) {
	live, err := tx.ListSessions(ctx, store.SessionQuery{UserID: g.UserID, LiveOnly: true})
	if err != nil || len(live) == 0 {
		return nil, err
	}
	held, until, err := e.roleHeldAt(ctx, tx, g.UserID, g.Role, g.Site, now)
	if err != nil || held && until.IsZero() {
		return nil, err
	}
	cause := "grant ended"
	if !g.Revoked.IsZero() {
		cause = "grant revoked"
	}
	var ids []string
	byID := make(map[string]store.Session, len(live))
	for _, s := range live {
		if !hasRole(s.Role, g.Role) {
			continue
		}
		d, err := tx.GetDevice(ctx, s.DeviceID)
		if err != nil {
			return nil, err
		}
		if !equalFold(d.Site, g.Site) {
			continue
		}
		if !held {
			ids = append(ids, s.ID)
			byID[s.ID] = s
			continue
		}
		if !until.Before(s.Expires) {
			continue
		}
		moved, err := tx.SetSessionExpiryFor(ctx, s.ID, until, ReasonExpired)
		if err != nil {
			return nil, err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionSessionExpiry, Subject: subjectUserPrefix + s.UserID,
			Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "before": s.Expires, "after": until, "endsBy": policy.EndsByGrant,
				"cause": cause, "grant": g.ID}}); err != nil {
			return nil, err
		}
		if e.onExpiry != nil {
			c.moved = append(c.moved, ExpiryChange{Session: moved, Reason: ReasonExpired})
		}
	}
	ended, err := tx.EndSessionsByID(ctx, ids, ReasonEntitlementRemoved, now)
	if err != nil {
		return nil, err
	}
	for _, id := range ended {
		s := byID[id]
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: s.UserID, SessionID: s.ID, DeviceID: s.DeviceID,
			Reason: ReasonEntitlementRemoved, Detail: "grant:" + g.ID, Created: now}); err != nil {
			return nil, err
		}
	}
	return ended, nil
}

// roleHeldAt reports whether the user holds role at site at now without
// any grant that is over or revoked: through a group, at one of its
// sites, or through a running grant. until is how long it holds it: zero
// for a group role (no end), else the latest end of the running grants
// (each runs from before now to its end, so the role is held throughout).
func (e *Engine) roleHeldAt(ctx context.Context, tx store.Ops, userID, role, site string, now time.Time) (held bool, until time.Time, err error) {
	u, err := tx.GetUser(ctx, userID)
	if err != nil {
		return false, time.Time{}, err
	}
	if containsFold(u.Sites, site) {
		groups, _, err := tx.ListGroups(ctx, store.GroupQuery{MemberID: userID, WithoutMembers: true})
		if err != nil {
			return false, time.Time{}, err
		}
		for _, gr := range groups {
			if equalFold(gr.DisplayName, role) {
				return true, time.Time{}, nil
			}
		}
	}
	grants, err := tx.ListGrants(ctx, userID)
	if err != nil {
		return false, time.Time{}, err
	}
	for _, gr := range grants {
		if gr.Revoked.IsZero() && !gr.Start.After(now) && gr.End.After(now) && equalFold(gr.Role, role) && equalFold(gr.Site, site) && gr.End.After(until) {
			held, until = true, gr.End
		}
	}
	return held, until, nil
}

// grantHorizon bounds the end of any grant made by now: it starts within
// MaxGrantLead of being made and lasts at most MaxGrantLength (a day more
// for a clock set back since).
const grantHorizon = MaxGrantLead + MaxGrantLength + 24*time.Hour

// roleGrants returns, by user, the grants of role (compared
// case-insensitively) of the users that are running at now: started, not
// over, not revoked. They are what still gives the users the role, at the
// grants' sites, when a change takes it from them otherwise (removeRole).
// One read of the grants not yet over, however many users: a group of
// thousands may be deleted, and few of its members hold a grant.
func (e *Engine) roleGrants(ctx context.Context, tx store.Ops, role string, userIDs []string, now time.Time) (map[string][]store.Grant, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	open, err := tx.ListDueGrants(ctx, now.Add(grantHorizon), 0)
	if err != nil {
		return nil, err
	}
	var want map[string]bool
	out := map[string][]store.Grant{}
	for _, g := range open {
		if !g.Revoked.IsZero() || g.Start.After(now) || !g.End.After(now) || !equalFold(g.Role, role) {
			continue
		}
		if want == nil {
			want = make(map[string]bool, len(userIDs))
			for _, id := range userIDs {
				want[id] = true
			}
		}
		if want[g.UserID] {
			out[g.UserID] = append(out[g.UserID], g)
		}
	}
	return out, nil
}

// boundByGrant makes the kept session k end by the end of the grants that
// keep it (k.until), if it would run longer: its expiry is moved
// (session.expiry_change by a, with cause) and its kiosk told.
func (e *Engine) boundByGrant(ctx context.Context, tx store.Ops, c *change, a Actor, k keptSession, cause string) error {
	s, err := tx.GetSession(ctx, k.s.ID)
	if err != nil {
		return err
	}
	if !s.Ended.IsZero() || !k.until.Before(s.Expires) {
		return nil
	}
	moved, err := tx.SetSessionExpiryFor(ctx, s.ID, k.until, ReasonExpired)
	if err != nil {
		return err
	}
	if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionSessionExpiry, Subject: subjectUserPrefix + s.UserID,
		Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "before": s.Expires, "after": k.until, "endsBy": policy.EndsByGrant, "cause": cause}}); err != nil {
		return err
	}
	if e.onExpiry != nil {
		c.moved = append(c.moved, ExpiryChange{Session: moved, Reason: ReasonExpired})
	}
	return nil
}
