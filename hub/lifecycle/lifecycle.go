// Package lifecycle owns joiner, mover and leaver semantics.
//
// Every change to a user or group that can grant or remove access goes
// through an Engine, which applies it in one store transaction together with
// its consequences and its audit records:
//
//   - Joiner: a user is created pending when its start date lies ahead and
//     becomes active on that date (RunDue), or active at once.
//   - Mover: a removed site or group membership is recorded as a revocation
//     for the entitlement, and every live session that depended on it is
//     ended and recorded as a revocation to push to its kiosk. A session
//     under a lost role that a running just-in-time grant of the role at
//     its kiosk's site still gives did not depend on the group: it goes
//     on, to the grant's end at the latest (removeRole).
//   - Leaver: active=false, DELETE, or an end date reached disables the
//     user and strips it (credentials, grants, sessions; it keeps its
//     group memberships for a re-hire, and DELETE removes them), and
//     disables the web-console accounts linked to it (console.go); a
//     DELETE keeps a tombstone for audit. A later re-hire may reuse the
//     userName, and gets no console account back.
//
// Revocations are handed to Config.OnRevoke after the transaction commits:
// a revocation that is pushed exists in the store. One change is the
// exception, a group's membership shrinking or the group deleted (SCIM
// PATCH or DELETE of a group), because it can end thousands of sessions at
// once and writing them takes time: 10,000 sessions are about 150 ms of
// rows and audit records, and the kiosks would wait for all of it before
// the first teardown. Its revocations go to OnRevoke while the live
// sessions are read, in chunks, inside the transaction; what follows are
// the writes only, which fail only if the disk does. If the commit fails
// all the same, kiosks were signed out that the store still counts as
// signed in, and the caller gets the error to retry: the order errs
// towards less access, never more. Acknowledgements are recorded in a later write (see
// hub's channel), after the revocation rows exist.
//
// With Config.NewWave the early pushes of a change go to a Wave instead,
// and the change waits (Wave.Wait) before it writes: teardown first. The
// writes of 10,000 revocations are the CPU of a core for a fifth of a
// second, and run at the same time as the fan-out they would take that
// from the kiosks' teardown, whose acks are the hub's promise. Nothing
// else can commit meanwhile either way, since the change holds the one
// writer.
package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Revocation reasons, as they appear in store.Revocation.Reason and in the
// agent's session.ended events.
const (
	ReasonDeprovisioned       = "deprovisioned"
	ReasonEntitlementRemoved  = "entitlement_removed"
	ReasonForced              = "forced"
	ReasonCredentialRevoked   = "credential_revoked"
	ReasonDeviceDisabled      = "device_disabled"
	ReasonNotOpened           = "not_opened" // the kiosk never had the grant (EndUnopened)
	reasonUserDeleted         = "user deleted"
	reasonUserDeactivated     = "user deactivated"
	reasonEndDateReached      = "end date reached"
	detailSitePrefix          = "site:"
	detailRolePrefix          = "role:"
	detailUser                = "user"
	subjectUserPrefix         = "user:"
	subjectGroupPrefix        = "group:"
	systemScheduler           = "scheduler"
	actorScheduler            = "scheduler"
	actionUserCreate          = "user.create"
	actionUserUpdate          = "user.update"
	actionUserActivate        = "user.activate"
	actionUserDeprovision     = "user.deprovision"
	actionUserReactivate      = "user.reactivate"
	actionUserDelete          = "user.delete"
	actionGroupCreate         = "group.create"
	actionGroupUpdate         = "group.update"
	actionGroupDelete         = "group.delete"
	actionEntitlementsRemoved = "user.entitlements_removed"
)

// Actor is who or what asked for a change, as recorded in the audit log.
type Actor struct {
	Name   string // e.g. "token:ab12… (okta)", "scheduler", "cli"
	System string // scim, api, scheduler, cli
}

// Config is what an Engine needs. Store and Audit are required.
type Config struct {
	Store  store.Store
	Audit  *audit.Log
	Now    func() time.Time
	Logger *slog.Logger
	// OnRevoke receives the revocations of each committed change, in order.
	// It must not block: the push layer queues them.
	OnRevoke func([]store.Revocation)
	// NewWave, when set, starts the early pushes of a change that pushes
	// before it writes (see the package doc), which then go to the Wave
	// instead of OnRevoke.
	NewWave func() Wave
	// OnExpiry receives the live sessions whose expiry a committed change
	// moved (shifts, extensions; see shifts.go), for the kiosks to be told.
	// It must not block. Without it (the offline CLI) the engine never
	// lengthens a live session, since no kiosk could learn of it.
	OnExpiry func([]ExpiryChange)
	// Rules are the login rules the engine starts with: until LoadPolicy
	// reads the stored policy (the offline CLI may never call it), and
	// what LoadPolicy stores when the store has none. Zero:
	// policy.DefaultRules(). See policy.go.
	Rules policy.Rules
	// DeviceMaxSession returns the longest session a kiosk's hardware
	// profile allows (0: no bound of its own), which bounds a session's
	// expiry when a change moves it. Nil: no kiosk sets a bound.
	DeviceMaxSession func(profile string) time.Duration
	// TokenRevoked is called with the ID of each API token a change
	// revoked (an admin token of a console account the change disabled:
	// see console.go) once the change's transaction is over, so that what
	// verifies bearer tokens in this process (token.Verifier.Forget)
	// refuses it from the next request instead of after its cache time.
	// Nil: nothing to tell (the offline CLI).
	TokenRevoked func(id string)
}

// Wave is the early pushes of one change. Push sends revocations to their
// kiosks without blocking; Wait returns once every kiosk pushed to has
// acknowledged, or when the wave has waited as long as it may; End says
// the change is over (committed or not), after which the wave keeps no
// state. A Wave is used by one change at a time.
type Wave interface {
	Push([]store.Revocation)
	Wait(context.Context)
	End()
}

// Engine applies lifecycle changes. It is safe for concurrent use.
type Engine struct {
	st       store.Store
	audit    *audit.Log
	now      func() time.Time
	log      *slog.Logger
	onRevoke func([]store.Revocation)
	newWave  func() Wave
	onExpiry func([]ExpiryChange)
	maxOn    func(profile string) time.Duration

	tokenRevoked func(id string) // Config.TokenRevoked

	// pol is the login policy in force (policy.go): swapped whole, read
	// without locks on every login.
	pol atomic.Pointer[Policy]
	// locs holds the time zones of sites by IANA name (dates.go), loaded
	// once each: time.LoadLocation reads and parses the zone's data on
	// every call.
	locs sync.Map // zone name → *time.Location
}

// New returns an Engine; missing optional fields get defaults.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Audit == nil {
		return nil, errors.New("lifecycle: Store and Audit are required")
	}
	e := &Engine{st: cfg.Store, audit: cfg.Audit, now: cfg.Now, log: cfg.Logger, onRevoke: cfg.OnRevoke, newWave: cfg.NewWave, onExpiry: cfg.OnExpiry, maxOn: cfg.DeviceMaxSession,
		tokenRevoked: cfg.TokenRevoked}
	rules := cfg.Rules
	if rules.Roles == nil {
		rules = policy.DefaultRules()
	}
	e.pol.Store(&Policy{Rules: rules.Indexed()})
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.onRevoke == nil {
		e.onRevoke = func([]store.Revocation) {}
	}
	if e.tokenRevoked == nil {
		e.tokenRevoked = func(string) {}
	}
	return e, nil
}

// StateAt is the lifecycle state a user with these attributes has at now.
func StateAt(active bool, start, end, now time.Time) store.UserState {
	switch {
	case !active:
		return store.UserDisabled
	case !end.IsZero() && !end.After(now):
		return store.UserDisabled
	case !start.IsZero() && start.After(now):
		return store.UserPending
	}
	return store.UserActive
}

// DecidedAt returns u as a login at now decides it: a pending user whose
// start has come is active, though the scheduler records the activation
// only at its next pass (the user is active exactly on time). u is the
// user as seen at a kiosk's site (UserAt). The hub's login and every
// re-decision of a live session use it: one with the stored state instead
// would end a starter's first session for a change that takes nothing
// away.
func DecidedAt(u store.User, now time.Time) store.User {
	if u.State == store.UserPending && StateAt(u.Active, u.StartDate, u.EndDate, now) == store.UserActive {
		u.State = store.UserActive
	}
	return u
}

// change collects a transaction's revocations for delivery after commit.
type change struct {
	revs  []store.Revocation
	moved []ExpiryChange
	// pushed are the sessions whose revocations went out before the
	// commit (removeRole's early push); run does not push them again.
	pushed map[string]bool
	wave   Wave // the early pushes, with Config.NewWave
	// tokens are the API tokens the change revoked, for
	// Config.TokenRevoked once the transaction is over.
	tokens []string
}

// pushEarly sends rs before the change commits (removeRole).
func (e *Engine) pushEarly(c *change, rs []store.Revocation) {
	if e.newWave == nil {
		e.onRevoke(rs)
		return
	}
	if c.wave == nil {
		c.wave = e.newWave()
	}
	c.wave.Push(rs)
}

// endWave ends c's wave, if it has one.
func (c *change) endWave() {
	if c.wave != nil {
		c.wave.End()
		c.wave = nil
	}
}

// run executes fn in a transaction and delivers its revocations after the
// commit.
func (e *Engine) run(ctx context.Context, fn func(tx store.Ops, c *change) error) error {
	var c change
	// A panic (recovered by the HTTP server) must end the wave too: a
	// wave never ended keeps answering kiosks' hellos with its pushes.
	defer c.endWave()
	err := e.st.InTx(ctx, func(tx store.Ops) error {
		c.endWave()
		c = change{}
		return fn(tx, &c)
	})
	c.endWave()
	// Even after an error, as the console's Revoke does: the commit may
	// have happened, and forgetting a token that still works only costs
	// a store read.
	for _, id := range c.tokens {
		e.tokenRevoked(id)
	}
	if err != nil {
		if len(c.pushed) > 0 {
			e.log.Warn("kiosks were signed out by a change that did not commit; the caller gets the error to retry",
				"sessions", len(c.pushed), "err", err)
		}
		return err
	}
	revs := c.revs
	if len(c.pushed) > 0 {
		e.log.Info("revocations pushed before the commit", "count", len(c.pushed))
		revs = slices.DeleteFunc(slices.Clone(revs), func(r store.Revocation) bool { return r.SessionID != "" && c.pushed[r.SessionID] })
	}
	if len(revs) > 0 {
		e.onRevoke(revs)
	}
	if len(c.moved) > 0 && e.onExpiry != nil {
		e.onExpiry(c.moved)
	}
	return nil
}

// CreateUser provisions a joiner. The state is derived from Active and the
// start and end dates (calendar days resolved over the user's sites: see
// dates.go); the caller's State is ignored.
func (e *Engine) CreateUser(ctx context.Context, a Actor, u store.User) (store.User, error) {
	now := e.now().UTC()
	u.Created, u.Modified = now, now
	var out store.User
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		nu := u
		if err := e.resolveDates(ctx, tx, &nu); err != nil {
			return err
		}
		nu.State = StateAt(nu.Active, nu.StartDate, nu.EndDate, now)
		if !nu.EndDate.IsZero() && !nu.EndDate.After(now) {
			nu.Active = false
		}
		var err error
		if out, err = tx.CreateUser(ctx, nu); err != nil {
			return err
		}
		if _, err = e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionUserCreate, Subject: subjectUserPrefix + out.ID,
			Detail: map[string]any{"after": summary(out)},
		}); err != nil {
			return err
		}
		return e.linkConsoleAccounts(ctx, tx, a, out, reasonUserCreated)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", u.UserName, err)
	}
	e.log.Info("user provisioned", "user", out.ID, "userName", out.UserName, "state", out.State.String(), "actor", a.Name)
	return out, nil
}

// UpdateUser changes a user through fn (which edits attributes; State is
// recomputed here) and applies what the change means: a leaver is stripped,
// a mover loses the sessions of removed sites, a re-hire is re-enabled.
// Deleted users are ErrNotFound.
func (e *Engine) UpdateUser(ctx context.Context, a Actor, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	var out store.User
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		var err error
		out, err = e.updateUser(ctx, tx, c, a, id, fn)
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	return out, nil
}

// errUnchanged aborts a user or group update that would change nothing.
var errUnchanged = errors.New("unchanged")

// sameUser reports whether b holds exactly what a does, Version and the
// timestamps of the record aside; times are compared as instants.
func sameUser(a, b store.User) bool {
	return a.ID == b.ID && a.UserName == b.UserName && a.ExternalID == b.ExternalID &&
		a.DisplayName == b.DisplayName && a.Active == b.Active && a.State == b.State &&
		slices.Equal(a.Sites, b.Sites) && a.EmploymentType == b.EmploymentType &&
		a.StartDate.Equal(b.StartDate) && a.EndDate.Equal(b.EndDate) &&
		a.StartDay == b.StartDay && a.EndDay == b.EndDay &&
		slices.EqualFunc(a.Shifts, b.Shifts, func(x, y store.Shift) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) }) &&
		slices.EqualFunc(a.Certifications, b.Certifications, store.Certification.Equal) &&
		bytes.Equal(a.Document, b.Document)
}

// updateUser is UpdateUser inside tx. The user's calendar-day dates are
// resolved again over its sites as they are after fn (dates.go).
func (e *Engine) updateUser(ctx context.Context, tx store.Ops, c *change, a Actor, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	var before store.User
	endReached := false
	now := e.now().UTC()
	u, err := tx.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		if old.State == store.UserDeleted {
			return old, fmt.Errorf("user %s: %w", id, store.ErrNotFound)
		}
		before = old
		nu, err := fn(old)
		if err != nil {
			return old, err
		}
		if err := e.resolveDates(ctx, tx, &nu); err != nil {
			return old, err
		}
		nu.Modified = now
		if nu.Active && !nu.EndDate.IsZero() && !nu.EndDate.After(now) {
			nu.Active, endReached = false, true
		}
		nu.State = StateAt(nu.Active, nu.StartDate, nu.EndDate, now)
		if sameUser(old, nu) {
			return old, errUnchanged
		}
		return nu, nil
	})
	if errors.Is(err, errUnchanged) {
		// Identity providers resend what the hub holds (Entra on every
		// cycle, a remove that matches nothing, an add of a value
		// present): nothing to write, no new version, no audit record.
		return before, nil
	}
	if err != nil {
		return store.User{}, err
	}
	if _, err := e.audit.Append(ctx, tx, audit.Entry{
		Actor: a.Name, System: a.System, Action: actionUserUpdate, Subject: subjectUserPrefix + id,
		Detail: map[string]any{"before": summary(before), "after": summary(u)},
	}); err != nil {
		return store.User{}, err
	}
	if before.UserName != u.UserName {
		// A renamed user keeps the console accounts linked to it, and
		// takes those of its new name that are linked to nobody.
		if err := e.linkConsoleAccounts(ctx, tx, a, u, reasonUserRenamed); err != nil {
			return store.User{}, err
		}
	}
	switch {
	case u.State == store.UserDisabled && before.State != store.UserDisabled:
		reason := reasonUserDeactivated
		if endReached {
			reason = reasonEndDateReached
		}
		return e.strip(ctx, tx, c, a, u, reason)
	case before.State == store.UserDisabled && u.State != store.UserDisabled:
		_, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionUserReactivate, Subject: subjectUserPrefix + id,
			Detail: map[string]any{"state": u.State.String()},
		})
		return u, err
	}
	if removed := missing(before.Sites, u.Sites); len(removed) > 0 {
		if err := e.removeSites(ctx, tx, c, a, u, removed); err != nil {
			return store.User{}, err
		}
	}
	if decidingChanged(before, u) {
		// A mover keeps nothing the change took away: a session under a
		// role whose conditions the user no longer meets ends, and one
		// bounded earlier now (an end date, a certification's expiry)
		// is shortened.
		live, err := tx.ListSessions(ctx, store.SessionQuery{UserID: u.ID, LiveOnly: true})
		if err != nil {
			return store.User{}, err
		}
		if len(live) > 0 {
			rules := e.Rules()
			if _, _, err := e.redecide(ctx, tx, c, a, u, live, map[string]store.Device{}, rules, rules, now, redecision{cause: causeUserChanged, revDetail: "user"}); err != nil {
				return store.User{}, err
			}
		}
	}
	if !shift.Equal(before.Shifts, u.Shifts) {
		if err := e.reconcile(ctx, tx, c, a, u, now, causeShiftsChanged); err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

// causeUserChanged is the cause in the audit records of sessions a user
// update ended or shortened.
const causeUserChanged = "user changed"

// decidingChanged reports whether an update changed what a login decision
// reads of the user besides sites (removeSites) and shifts (reconcile):
// the state (a start date moved into the future makes an active user
// pending), the employment type and certifications (role conditions; an
// expiry's day counts apart from its instant, as the dates' do), the
// start and end dates (at a kiosk's site, a start not yet come or an end
// passed refuses, and the end bounds a session; a calendar day means
// another instant at each site, so the days count apart from the
// instants).
func decidingChanged(before, after store.User) bool {
	return before.State != after.State || before.EmploymentType != after.EmploymentType ||
		!slices.EqualFunc(before.Certifications, after.Certifications, store.Certification.Equal) ||
		!before.EndDate.Equal(after.EndDate) || !before.StartDate.Equal(after.StartDate) ||
		before.StartDay != after.StartDay || before.EndDay != after.EndDay
}

// DeleteUser deprovisions a leaver and keeps a tombstone. Deleting a
// deleted user is ErrNotFound.
func (e *Engine) DeleteUser(ctx context.Context, a Actor, id string) error {
	return e.DeleteUserIf(ctx, a, id, nil)
}

// DeleteUserIf is DeleteUser with a precondition: check, when not nil,
// gets the user as read inside the deleting transaction, before anything
// is written or pushed, and an error from it is returned (wrapped, for
// errors.Is) with nothing changed. A check made before the transaction
// (a SCIM If-Match) would let a change commit between it and the delete.
func (e *Engine) DeleteUserIf(ctx context.Context, a Actor, id string, check func(store.User) error) error {
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		u, err := tx.GetUser(ctx, id)
		if err != nil {
			return err
		}
		if u.State == store.UserDeleted {
			return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
		}
		if check != nil {
			if err := check(u); err != nil {
				return err
			}
		}
		now := e.now().UTC()
		detail := map[string]any{"before": summary(u)}
		if u.State != store.UserDisabled {
			if u, err = e.strip(ctx, tx, c, a, u, reasonUserDeleted); err != nil {
				return err
			}
		} else {
			// Its console accounts were disabled with it; one enabled
			// again since (by mistake: the user is still gone) is not
			// left standing by the delete. (It has no live sessions or
			// credentials: a disabled user can neither sign in nor
			// enroll.)
			if err := e.disableConsoleAccounts(ctx, tx, c, a, u, reasonUserDeleted); err != nil {
				return err
			}
		}
		// A tombstone is a member of no group. (A disabled user kept its
		// memberships for a re-hire: see strip.)
		groups, err := tx.RemoveMemberships(ctx, u.ID, now)
		if err != nil {
			return err
		}
		if len(groups) > 0 {
			roles := make([]string, len(groups))
			for i, g := range groups {
				roles[i] = g.DisplayName
			}
			detail["rolesRemoved"] = roles
		}
		if _, err := tx.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
			old.State, old.Active, old.Deleted, old.Modified = store.UserDeleted, false, now, now
			return old, nil
		}); err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionUserDelete, Subject: subjectUserPrefix + id,
			Detail: detail,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	e.log.Info("user deleted", "user", id, "actor", a.Name)
	return nil
}

// strip disables u and removes everything that lets it sign in:
// credentials, grants, live sessions, and the web-console accounts linked
// to it (disableConsoleAccounts). Each ended session becomes a revocation
// to push; if none was live, one user-level revocation records the
// deprovisioning.
//
// Group memberships stay: they are the identity provider's, which sends
// changes to them only (Entra ID and Okta never send a membership again
// that they believe the hub holds), so removing them here would leave a
// re-hire the IdP activates again without any role until someone edits
// the group. A disabled user's roles give nothing (every login and
// session checks the user's state first) and are not reviewed; DELETE
// removes them (DeleteUserIf).
func (e *Engine) strip(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, why string) (store.User, error) {
	now := e.now().UTC()
	if u.State != store.UserDisabled || u.Active {
		var err error
		u, err = tx.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			old.State, old.Active, old.Modified = store.UserDisabled, false, now
			return old, nil
		})
		if err != nil {
			return u, err
		}
	}
	groups, _, err := tx.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return u, err
	}
	creds, err := tx.RevokeCredentials(ctx, u.ID, why)
	if err != nil {
		return u, err
	}
	grants, err := tx.RevokeGrants(ctx, u.ID, now)
	if err != nil {
		return u, err
	}
	sessions, err := tx.EndSessions(ctx, u.ID, ReasonDeprovisioned, now)
	if err != nil {
		return u, err
	}
	for _, s := range sessions {
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonDeprovisioned, Detail: detailUser, Created: now}); err != nil {
			return u, err
		}
	}
	if len(sessions) == 0 {
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, Reason: ReasonDeprovisioned, Detail: detailUser, Created: now}); err != nil {
			return u, err
		}
	}
	roles := make([]string, len(groups))
	for i, g := range groups {
		roles[i] = g.DisplayName
	}
	credIDs := make([]string, len(creds))
	for i, cr := range creds {
		credIDs[i] = fmt.Sprintf("%x", cr.ID)
	}
	sessIDs := make([]string, len(sessions))
	for i, s := range sessions {
		sessIDs[i] = s.ID
	}
	if _, err := e.audit.Append(ctx, tx, audit.Entry{
		Actor: a.Name, System: a.System, Action: actionUserDeprovision, Subject: subjectUserPrefix + u.ID,
		Detail: map[string]any{
			"reason": why, "rolesKept": roles, "credentialsRevoked": credIDs,
			"grantsRevoked": len(grants), "sessionsEnded": sessIDs,
		},
	}); err != nil {
		return u, err
	}
	e.log.Info("user deprovisioned", "user", u.ID, "reason", why, "sessions", len(sessions), "actor", a.Name)
	return u, e.disableConsoleAccounts(ctx, tx, c, a, u, why)
}

// removeSites records the loss of each removed site and ends live sessions
// on kiosks at those sites.
func (e *Engine) removeSites(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, removed []string) error {
	now := e.now().UTC()
	sessions, err := tx.ListSessions(ctx, store.SessionQuery{UserID: u.ID, LiveOnly: true})
	if err != nil {
		return err
	}
	ended := map[string][]string{} // site → ended session IDs
	for _, s := range sessions {
		d, err := tx.GetDevice(ctx, s.DeviceID)
		if err != nil {
			return err
		}
		// The site as the user's record spelt it: a kiosk enrolled at
		// "North" is at the user's "north", and its session's revocation
		// is that site's, not one more beside it.
		i := slices.IndexFunc(removed, func(r string) bool { return equalFold(r, d.Site) })
		if i < 0 {
			continue
		}
		site := removed[i]
		if _, err := tx.EndSession(ctx, s.ID, ReasonEntitlementRemoved, now); err != nil {
			return err
		}
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonEntitlementRemoved, Detail: detailSitePrefix + site, Created: now}); err != nil {
			return err
		}
		ended[site] = append(ended[site], s.ID)
	}
	for _, site := range removed {
		if _, ok := ended[site]; ok {
			continue
		}
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, Reason: ReasonEntitlementRemoved, Detail: detailSitePrefix + site, Created: now}); err != nil {
			return err
		}
	}
	// Just-in-time grants at a removed site go with it: a grant gives its
	// site by itself, so one kept would let the mover sign in again at
	// the site it just lost (its sessions there ended above). A grant
	// the move should not touch is made again after it.
	grants, err := tx.ListGrants(ctx, u.ID)
	if err != nil {
		return err
	}
	var revoked []string
	for _, g := range grants {
		if !g.Revoked.IsZero() || !g.End.After(now) || !containsFold(removed, g.Site) {
			continue
		}
		if _, err := tx.RevokeGrant(ctx, g.ID, now); err != nil {
			return err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionGrantRevoke, Subject: subjectUserPrefix + u.ID,
			Detail: map[string]any{"grant": g.ID, "role": g.Role, "site": g.Site, "reason": "site removed from the user", "sessionsEnded": []string{}}}); err != nil {
			return err
		}
		revoked = append(revoked, g.ID)
	}
	detail := map[string]any{"sites": removed, "sessionsEnded": ended}
	if len(revoked) > 0 {
		detail["grantsRevoked"] = revoked
	}
	_, err = e.audit.Append(ctx, tx, audit.Entry{
		Actor: a.Name, System: a.System, Action: actionEntitlementsRemoved, Subject: subjectUserPrefix + u.ID,
		Detail: detail,
	})
	return err
}

// removeRole records the loss of a role by each user and ends their live
// sessions that were granted under it, but for those the user still holds
// the role for through a running just-in-time grant at the kiosk's site
// (see roleGrants): those go on, to the grant's end at the latest. With
// pushEarly (a group change, whose transaction has nothing left to decide
// after this) the sessions' revocations are pushed before they are
// written: see the package doc.
func (e *Engine) removeRole(ctx context.Context, tx store.Ops, c *change, a Actor, role string, userIDs []string, pushEarly bool) error {
	rr, err := e.startRoleRemoval(ctx, tx, c, role, userIDs, pushEarly)
	if err != nil {
		return err
	}
	return e.finishRoleRemoval(ctx, tx, c, a, rr)
}

// roleRemoval is a removeRole between reading the live sessions (and,
// with pushEarly, pushing their revocations) and writing it all.
type roleRemoval struct {
	role    string
	userIDs []string
	live    map[string][]store.LiveSession
	ids     []string // the live sessions granted under role that end
	// kept are the sessions under role that a running grant of it at
	// their kiosk's site still gives: until is the latest end of those
	// grants, which the session must not outlast.
	kept []keptSession
	now  time.Time
}

// keptSession is a live session under a removed role that a grant keeps.
type keptSession struct {
	s     store.LiveSession
	until time.Time
}

// revocation records the loss of rr's role by userID and, unless s is
// zero, the end of s.
func (rr *roleRemoval) revocation(userID string, s store.LiveSession) store.Revocation {
	return store.Revocation{UserID: userID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonEntitlementRemoved, Detail: detailRolePrefix + rr.role, Created: rr.now}
}

// pushChunk is how many revocations an early push hands over at a time
// while the live sessions are still being read: the first kiosks hear of
// it once 256 sessions are read, not at the end of the scan.
const pushChunk = 256

func (e *Engine) startRoleRemoval(ctx context.Context, tx store.Ops, c *change, role string, userIDs []string, pushEarly bool) (roleRemoval, error) {
	rr := roleRemoval{role: role, userIDs: userIDs, now: e.now().UTC()}
	// The users who hold the role through a grant too: their sessions
	// under it are decided once the scan is over (the scan may not use
	// the store), the others' are pushed as they are read.
	grants, err := e.roleGrants(ctx, tx, role, userIDs, rr.now)
	if err != nil {
		return rr, err
	}
	var early []store.Revocation
	if pushEarly && c.pushed == nil {
		c.pushed = make(map[string]bool, len(userIDs))
	}
	end := func(s store.LiveSession) {
		rr.ids = append(rr.ids, s.ID)
		if !pushEarly || c.pushed[s.ID] {
			return
		}
		c.pushed[s.ID] = true
		early = append(early, rr.revocation(s.UserID, s))
		if len(early) == pushChunk {
			e.pushEarly(c, early)
			early = nil // the push may keep the slice
		}
	}
	var check []store.LiveSession
	visit := func(s store.LiveSession) {
		if !hasRole(s.Role, role) {
			return
		}
		if len(grants[s.UserID]) > 0 {
			check = append(check, s)
			return
		}
		end(s)
	}
	if rr.live, err = e.liveSessionsOf(ctx, tx, userIDs, visit); err != nil {
		return rr, err
	}
	sites := map[string]string{} // device ID → site
	for _, s := range check {
		site, ok := sites[s.DeviceID]
		if !ok {
			d, err := tx.GetDevice(ctx, s.DeviceID)
			if err != nil {
				return rr, err
			}
			site, sites[s.DeviceID] = d.Site, d.Site
		}
		var until time.Time
		for _, g := range grants[s.UserID] {
			if equalFold(g.Site, site) && g.End.After(until) {
				until = g.End
			}
		}
		if until.IsZero() {
			end(s)
			continue
		}
		rr.kept = append(rr.kept, keptSession{s: s, until: until})
	}
	if len(early) > 0 {
		e.pushEarly(c, early)
	}
	return rr, nil
}

// finishRoleRemoval ends every session granted under the role in one
// step, then records one revocation per ended session, one per user who
// had none, and an audit record per user. A session a grant keeps
// (roleRemoval.kept) that would outlast the grant is shortened to its end
// (session.expiry_change, pushed as session.extend), as one started
// through the grant alone is bounded by it.
func (e *Engine) finishRoleRemoval(ctx context.Context, tx store.Ops, c *change, a Actor, rr roleRemoval) error {
	if c.wave != nil {
		c.wave.Wait(ctx) // teardown first: see the package doc
	}
	endedIDs, err := tx.EndSessionsByID(ctx, rr.ids, ReasonEntitlementRemoved, rr.now)
	if err != nil {
		return err
	}
	ended := make(map[string]bool, len(endedIDs))
	for _, id := range endedIDs {
		ended[id] = true
	}
	byUser := make(map[string][]string, len(rr.userIDs))
	revs := make([]store.Revocation, 0, len(rr.userIDs))
	for _, uid := range rr.userIDs {
		for _, s := range rr.live[uid] {
			if ended[s.ID] {
				byUser[uid] = append(byUser[uid], s.ID)
				revs = append(revs, rr.revocation(uid, s))
				delete(ended, s.ID) // a user listed twice is revoked once
			}
		}
	}
	keptBy := map[string][]string{}
	for _, k := range rr.kept {
		keptBy[k.s.UserID] = append(keptBy[k.s.UserID], k.s.ID)
		if err := e.boundByGrant(ctx, tx, c, a, k, "role "+rr.role+" removed"); err != nil {
			return err
		}
	}
	entries := make([]audit.Entry, 0, len(rr.userIDs))
	roles := []string{rr.role}
	for _, uid := range rr.userIDs {
		if len(byUser[uid]) == 0 {
			revs = append(revs, rr.revocation(uid, store.LiveSession{}))
		}
		entries = append(entries, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionEntitlementsRemoved, Subject: subjectUserPrefix + uid,
			Detail: rolesRemoved{Roles: roles, SessionsEnded: byUser[uid], SessionsKept: keptBy[uid]},
		})
	}
	added, err := tx.AddRevocations(ctx, revs)
	if err != nil {
		return err
	}
	c.revs = append(c.revs, added...)
	_, err = e.audit.AppendMany(ctx, tx, entries)
	return err
}

// rolesRemoved is the detail of a user.entitlements_removed record for lost
// roles. A struct marshals like the map it replaces (same keys, in this
// order) at a fraction of the cost, which matters when a group of
// thousands is deleted. SessionsKept, when there are any, are the live
// sessions under a lost role that a just-in-time grant of it still gives.
type rolesRemoved struct {
	Roles         []string `json:"roles"`
	SessionsEnded []string `json:"sessionsEnded"`
	SessionsKept  []string `json:"sessionsKept,omitempty"`
}

// bulkSessionScan is how many users make one scan of all live sessions
// cheaper than a query per user.
const bulkSessionScan = 32

// liveSessionsOf returns the live sessions of the users, by user ID, and
// calls visit with each as it is read (once, if a user is listed twice).
func (e *Engine) liveSessionsOf(ctx context.Context, tx store.Ops, userIDs []string, visit func(store.LiveSession)) (map[string][]store.LiveSession, error) {
	out := make(map[string][]store.LiveSession, len(userIDs))
	if len(userIDs) < bulkSessionScan {
		for _, uid := range userIDs {
			if _, seen := out[uid]; seen {
				continue
			}
			ss, err := tx.ListSessions(ctx, store.SessionQuery{UserID: uid, LiveOnly: true})
			if err != nil {
				return nil, err
			}
			out[uid] = make([]store.LiveSession, 0, len(ss))
			for _, s := range ss {
				ls := store.LiveSession{ID: s.ID, UserID: s.UserID, DeviceID: s.DeviceID, Role: s.Role}
				out[uid] = append(out[uid], ls)
				visit(ls)
			}
		}
		return out, nil
	}
	want := make(map[string]bool, len(userIDs))
	for _, uid := range userIDs {
		want[uid] = true
	}
	err := tx.EachLiveSession(ctx, func(s store.LiveSession) error {
		if want[s.UserID] {
			out[s.UserID] = append(out[s.UserID], s)
			visit(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Engine) revoke(ctx context.Context, tx store.Ops, c *change, r store.Revocation) error {
	r, err := tx.AddRevocation(ctx, r)
	if err != nil {
		return err
	}
	c.revs = append(c.revs, r)
	return nil
}

// summary is the audit view of a user: what decides access, no secrets.
func summary(u store.User) map[string]any {
	m := map[string]any{
		"userName": u.UserName, "active": u.Active, "state": u.State.String(),
	}
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	if u.DisplayName != "" {
		m["displayName"] = u.DisplayName
	}
	if len(u.Sites) > 0 {
		m["sites"] = u.Sites
	}
	if u.EmploymentType != "" {
		m["employmentType"] = u.EmploymentType
	}
	if !u.StartDate.IsZero() {
		m["startDate"] = u.StartDate
	}
	if !u.EndDate.IsZero() {
		m["endDate"] = u.EndDate
	}
	// A calendar day as the identity provider sent it; startDate and
	// endDate are then what it resolved to over the user's sites.
	if u.StartDay != "" {
		m["startDay"] = u.StartDay
	}
	if u.EndDay != "" {
		m["endDay"] = u.EndDay
	}
	if len(u.Certifications) > 0 {
		m["certifications"] = u.Certifications
	}
	if len(u.Shifts) > 0 {
		m["shifts"] = len(u.Shifts)
	}
	enterpriseSummary(m, u.Document)
	return m
}

// missing returns the elements of old not in new, compared case-insensitively.
func missing(old, new []string) []string {
	var out []string
	for _, s := range old {
		if !containsFold(new, s) && !containsFold(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return equalFold(x, s) })
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// hasRole reports whether a session's role, the comma-joined names of the
// roles it was granted under, includes role.
func hasRole(sessionRole, role string) bool {
	for r := range strings.SplitSeq(sessionRole, policy.RoleSeparator) {
		if equalFold(strings.TrimSpace(r), role) {
			return true
		}
	}
	return false
}
