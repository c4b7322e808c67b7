package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// The login policy is data: the store keeps it as versioned JSON documents
// (store.PolicyOps, format in hub/policy), and the engine holds the version
// in force in an atomic pointer that every login reads without a lock.
// Changing it goes through UpdatePolicy, which in one transaction stores
// the new version, audits it (policy.update, before and after), applies it
// to every live session, and installs it for the logins that follow.
//
// Live sessions, decided again under the new rules as of now:
//
//   - A session ends with reason entitlement_removed, and is revoked at its
//     kiosk, when any role it was granted under lost access: the new
//     policy no longer gives the role there (a site or employment-type
//     condition now excludes it, the role has no apps any more, it needs a
//     certification the user does not hold now), or the role's rule was
//     tightened in a way a live session cannot be checked against or
//     narrowed to: an app the old rule gave is gone (deleting a role's
//     rule counts: the role falls back to the rule for other roles), or
//     user verification is newly required. This is the mover's rule (a
//     session whose group membership is removed ends too): a kiosk cannot
//     take apps away from a running session, so a session keeps nothing a
//     policy removed. Each affected user gets a user.entitlements_removed
//     record naming the roles and the reasons.
//   - Otherwise, if the new rules bound it earlier (a shorter max_session
//     for the session or one of its roles), its expiry moves earlier
//     (session.expiry_change, pushed as session.extend), or it ends at
//     once (reason expired) when that bound has passed.
//   - A shorter shift grace joins fewer shifts into one window (a break
//     longer than the grace ends it: policy.ShiftWindow): a session whose
//     window now ends earlier is shortened to its end, or ends (shift_end)
//     if now lies outside every window (in a break the window no longer
//     spans, or before a shift further ahead than the new grace).
//
// Loosening applies from the next login: added apps or roles, a longer
// maximum, a dropped requirement, a longer shift grace (it lets a login
// start earlier and joins more shifts), the privileged mark.

// Policy is the login policy in force: its rules and the stored version
// they came from. Rules are shared by every reader: never modify them.
type Policy struct {
	Rules     policy.Rules
	Version   int64           // 0 until LoadPolicy read or stored one
	Document  json.RawMessage // the stored JSON (policy.Document)
	ChangedBy string
	Changed   time.Time
}

// PolicyChange is what UpdatePolicy did.
type PolicyChange struct {
	Policy Policy
	// Changed is false when the rules equal the current ones: nothing was
	// stored or audited and the version stays.
	Changed bool
	// SessionsEnded were ended because the new rules no longer allow them
	// (or their new maximum has passed); SessionsShortened end earlier.
	SessionsEnded     []string
	SessionsShortened []string
}

// ErrPolicyStale means the policy changed after the version an edit was
// based on was read: the caller reloads and edits again (HTTP 409).
var ErrPolicyStale = errors.New("the policy was changed meanwhile")

const (
	actionPolicyUpdate = "policy.update"
	subjectPolicy      = "policy"
	causePolicyChanged = "policy changed"
)

// Policy returns the policy in force.
func (e *Engine) Policy() Policy { return *e.pol.Load() }

// Rules returns the rules in force; they must not be modified. It is the
// getter the hub hands to the device channel, governance and the console.
func (e *Engine) Rules() policy.Rules { return e.pol.Load().Rules }

// LoadPolicy makes the store's newest policy the one in force. A store
// without one gets the engine's initial rules (Config.Rules) as version 1,
// audited as a policy.update by a. A stored document this build cannot
// read is an error (wrapping policy.ErrInvalid): the hub must not start
// on a policy it does not understand.
func (e *Engine) LoadPolicy(ctx context.Context, a Actor) (Policy, error) {
	var p *Policy
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		pv, err := tx.GetPolicy(ctx)
		if errors.Is(err, store.ErrNotFound) {
			doc, err := e.Rules().Marshal()
			if err != nil {
				return fmt.Errorf("the initial rules: %w", err)
			}
			now := e.now().UTC()
			if pv, err = tx.UpdatePolicy(ctx, func(store.PolicyVersion) (store.PolicyVersion, error) {
				return store.PolicyVersion{Document: doc, ChangedBy: a.Name, Changed: now}, nil
			}); err != nil {
				return err
			}
			if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionPolicyUpdate, Subject: subjectPolicy,
				Detail: map[string]any{"version": pv.Version, "before": nil, "after": json.RawMessage(doc), "reason": "first start: the hub's initial rules"}}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		rules, err := policy.ParseDocument(pv.Document)
		if err != nil {
			return fmt.Errorf("stored policy version %d: %w", pv.Version, err)
		}
		p = &Policy{Rules: rules.Indexed(), Version: pv.Version, Document: pv.Document, ChangedBy: pv.ChangedBy, Changed: pv.Changed}
		return nil
	})
	if err != nil {
		return Policy{}, fmt.Errorf("load policy: %w", err)
	}
	e.pol.Store(p)
	return *p, nil
}

// UpdatePolicy replaces the policy with rules, if the policy in the store
// is still version base (else ErrPolicyStale). Invalid rules are
// ErrInvalid (and policy.ErrInvalid, with every problem) and change
// nothing; a name the stored version holds already is checked with the
// rule it was stored under, and only a new one with the rule of an
// admin's edit (policy.Rules.MarshalReplacing). See the comment at the top of this file for what happens to
// live sessions; their revocations and moved expiries are handed to
// OnRevoke and OnExpiry after the commit. The new rules are installed
// inside the transaction, so no login decided after the commit uses the
// old ones.
func (e *Engine) UpdatePolicy(ctx context.Context, a Actor, base int64, rules policy.Rules) (PolicyChange, error) {
	// Rules invalid whatever the store holds are refused before the
	// transaction, which holds the hub's one writer (every kiosk login
	// waits for it). Checked with rules' own names as kept, only what does
	// not depend on the stored version is checked here; the rule for names
	// new to it is checked again inside. The problems are those against
	// the policy in force, the version stored by its last change, so the
	// answer lists every problem as the check inside would.
	if _, err := rules.MarshalReplacing(rules); err != nil {
		if _, err := rules.MarshalReplacing(e.Rules()); err != nil {
			return PolicyChange{}, fmt.Errorf("update policy: %w: %w", ErrInvalid, err)
		}
	}
	var (
		out             PolicyChange
		installed, prev *Policy
	)
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		out, installed, prev = PolicyChange{}, nil, nil
		now := e.now().UTC()
		cur, err := tx.GetPolicy(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// Checked against the version in the store, read in this
		// transaction: a name it holds keeps the rule it was stored under
		// (policy.Rules.MarshalReplacing), so a role stored with a
		// character a later rule refuses does not block every other
		// change, nor its own rename; only a new name is held to the rule.
		var stored policy.Rules
		storedOK := false
		if cur.Version > 0 {
			if r, err := policy.ParseDocument(cur.Document); err == nil {
				stored, storedOK = r, true
			}
		}
		doc, err := rules.MarshalReplacing(stored)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		// What readers of the store will get: names trimmed, defaults spelt out.
		next, err := policy.ParseDocument(doc)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if cur.Version != base {
			return fmt.Errorf("%w: the change was made to version %d, and the policy is now version %d (changed by %s): reload it and make the change again",
				ErrPolicyStale, base, cur.Version, cur.ChangedBy)
		}
		if bytes.Equal(cur.Document, doc) {
			out.Policy = Policy{Rules: next.Indexed(), Version: cur.Version, Document: cur.Document, ChangedBy: cur.ChangedBy, Changed: cur.Changed}
			return nil
		}
		pv, err := tx.UpdatePolicy(ctx, func(old store.PolicyVersion) (store.PolicyVersion, error) {
			if old.Version != base {
				return old, fmt.Errorf("%w: version %d became %d", ErrPolicyStale, base, old.Version)
			}
			return store.PolicyVersion{Document: doc, ChangedBy: a.Name, Changed: now}, nil
		})
		if err != nil {
			return err
		}
		old := e.Rules()
		if storedOK {
			old = stored
		}
		ended, shortened, err := e.applyPolicy(ctx, tx, c, a, old, next, pv.Version, now)
		if err != nil {
			return err
		}
		var before any
		if cur.Version > 0 {
			before = json.RawMessage(cur.Document)
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionPolicyUpdate, Subject: subjectPolicy,
			Detail: map[string]any{"version": pv.Version, "before": before, "after": json.RawMessage(doc),
				"sessionsEnded": nonNilStrings(ended), "sessionsShortened": nonNilStrings(shortened)}}); err != nil {
			return err
		}
		p := &Policy{Rules: next.Indexed(), Version: pv.Version, Document: pv.Document, ChangedBy: pv.ChangedBy, Changed: pv.Changed}
		prev, installed = e.pol.Swap(p), p
		out = PolicyChange{Policy: *p, Changed: true, SessionsEnded: ended, SessionsShortened: shortened}
		return nil
	})
	if err != nil {
		if installed != nil {
			e.pol.CompareAndSwap(installed, prev) // the commit failed
		}
		return PolicyChange{}, fmt.Errorf("update policy: %w", err)
	}
	if out.Changed {
		e.log.Info("policy updated", "version", out.Policy.Version, "sessions_ended", len(out.SessionsEnded), "sessions_shortened", len(out.SessionsShortened), "actor", a.Name)
	}
	return out, nil
}

// shiftGrace is the shift grace rules give (policy.Rules.ShiftGrace:
// the default for zero, none for a negative one).
func shiftGrace(r policy.Rules) time.Duration {
	switch g := r.ShiftGrace; {
	case g == 0:
		return policy.DefaultShiftGrace
	case g < 0:
		return 0
	default:
		return g
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// applyPolicy decides every live session again under rules as of now (see
// the top of this file) and returns the sessions it ended and shortened.
func (e *Engine) applyPolicy(ctx context.Context, tx store.Ops, c *change, a Actor, old, rules policy.Rules, version int64, now time.Time) (ended, shortened []string, err error) {
	live, err := tx.ListSessions(ctx, store.SessionQuery{LiveOnly: true})
	if err != nil || len(live) == 0 {
		return nil, nil, err
	}
	var users []string
	byUser := map[string][]store.Session{}
	for _, s := range live {
		if _, ok := byUser[s.UserID]; !ok {
			users = append(users, s.UserID)
		}
		byUser[s.UserID] = append(byUser[s.UserID], s)
	}
	devices := map[string]store.Device{}
	why := redecision{cause: causePolicyChanged, revDetail: fmt.Sprintf("policy:v%d", version), detail: map[string]any{"policyVersion": version}}
	for _, uid := range users {
		u, err := tx.GetUser(ctx, uid)
		if err != nil {
			return nil, nil, err
		}
		e1, s1, err := e.redecide(ctx, tx, c, a, u, byUser[uid], devices, old, rules, now, why)
		if err != nil {
			return nil, nil, err
		}
		ended, shortened = append(ended, e1...), append(shortened, s1...)
	}
	return ended, shortened, nil
}

// redecision says what made redecide run, for its audit records
// ("cause", and detail's keys) and the revocations' detail.
type redecision struct {
	cause     string
	revDetail string
	detail    map[string]any
}

// redecide decides user u's live sessions ss again under rules (old: the
// rules they were last decided under) as of now, shifts set aside (the
// shift path decides them): a session that lost a role ends
// (entitlement_removed) and is revoked at its kiosk, with one
// user.entitlements_removed record for the user; one whose other bounds
// (role maximum, grant and certification ends, end date, the kiosk's
// profile) now end earlier is shortened and its kiosk told, or ends
// (expired) if that is past. When old and rules give different shift
// graces, the shift window is decided again too, as it spans the breaks
// no longer than the grace: a session whose window now ends earlier is
// shortened to its end, or ends (shift_end) when now lies outside it.
// Each session is decided on u as seen at its kiosk's site (UserAt): a
// start or end sent as a calendar day is that day in the site's time
// zone. devices caches the kiosks read. It returns the sessions ended and
// shortened.
func (e *Engine) redecide(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, ss []store.Session, devices map[string]store.Device, old, rules policy.Rules, now time.Time, why redecision) (ended, shortened []string, err error) {
	record := func(fields map[string]any) map[string]any {
		fields["cause"] = why.cause
		for k, v := range why.detail {
			fields[k] = v
		}
		return fields
	}
	groups, _, err := tx.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return nil, nil, err
	}
	grants, err := tx.ListGrants(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	var lostHere, whys, lostEnded []string
	var exts []store.ShiftExtension // u's, read when a changed grace needs them
	at := map[string]store.User{}   // u as seen at each site (folded), for dates sent as days
	for _, s := range ss {
		d, ok := devices[s.DeviceID]
		if !ok {
			if d, err = tx.GetDevice(ctx, s.DeviceID); err != nil {
				return nil, nil, err
			}
			devices[s.DeviceID] = d
		}
		us, ok := at[store.FoldName(d.Site)]
		if !ok {
			if us, err = e.UserAt(ctx, tx, u, d.Site); err != nil {
				return nil, nil, err
			}
			us = DecidedAt(us, now)
			at[store.FoldName(d.Site)] = us
		}
		if lost, w := lostRoles(us, groups, grants, d, s, old, rules, now); len(lost) > 0 {
			if _, err := tx.EndSession(ctx, s.ID, ReasonEntitlementRemoved, now); err != nil {
				return nil, nil, err
			}
			if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonEntitlementRemoved, Detail: why.revDetail, Created: now}); err != nil {
				return nil, nil, err
			}
			lostEnded = append(lostEnded, s.ID)
			for _, r := range lost {
				if !containsFold(lostHere, r) {
					lostHere = append(lostHere, r)
				}
			}
			whys = append(whys, w)
			continue
		}
		target, endsBy, err := e.otherBound(ctx, tx, us, s, rules, now)
		if err != nil {
			return nil, nil, err
		}
		reason := ReasonExpired
		if len(us.Shifts) > 0 && shiftGrace(old) != shiftGrace(rules) {
			// The grace also decides which breaks a shift window spans
			// (policy.ShiftWindow): a shorter one may end the window
			// earlier, or put now in a break outside it.
			if exts == nil {
				if exts, err = tx.ListShiftExtensions(ctx, u.ID); err != nil {
					return nil, nil, err
				}
			}
			if end, ok := policy.ShiftWindow(us.Shifts, policy.ExtensionsAt(exts, d.Site), now, shiftGrace(rules)); !ok || end.Before(target) {
				target, endsBy, reason = end, policy.EndsByShift, ReasonShiftEnd
			}
		}
		switch {
		case !target.Before(s.Expires):
			continue
		case !target.After(now):
			if _, err := tx.EndSession(ctx, s.ID, reason, now); err != nil {
				return nil, nil, err
			}
			if err := e.revoke(ctx, tx, c, store.Revocation{UserID: u.ID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: reason, Detail: why.revDetail, Created: now}); err != nil {
				return nil, nil, err
			}
			if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.end", Subject: subjectUserPrefix + u.ID,
				Detail: record(map[string]any{"session": s.ID, "device": s.DeviceID, "reason": reason})}); err != nil {
				return nil, nil, err
			}
			ended = append(ended, s.ID)
			continue
		}
		moved, err := tx.SetSessionExpiryFor(ctx, s.ID, target, reason)
		if err != nil {
			return nil, nil, err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionSessionExpiry, Subject: subjectUserPrefix + u.ID,
			Detail: record(map[string]any{"session": s.ID, "device": s.DeviceID, "before": s.Expires, "after": target, "endsBy": endsBy})}); err != nil {
			return nil, nil, err
		}
		if e.onExpiry != nil {
			c.moved = append(c.moved, ExpiryChange{Session: moved, Reason: reason})
		}
		shortened = append(shortened, s.ID)
	}
	if len(lostEnded) > 0 {
		if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionEntitlementsRemoved, Subject: subjectUserPrefix + u.ID,
			Detail: record(map[string]any{"roles": lostHere, "why": whys, "sessionsEnded": lostEnded})}); err != nil {
			return nil, nil, err
		}
	}
	return append(ended, lostEnded...), shortened, nil
}

// lostRoles returns the roles of session s that lost access going from
// the old rules to rules (see the top of this file), with the reasons.
// Shifts are set aside (the shift path decides them); user verification
// counts as given, and a role whose rule newly requires it is lost
// instead, since a session does not record whether its tap was verified.
func lostRoles(u store.User, groups []store.Group, grants []store.Grant, d store.Device, s store.Session, old, rules policy.Rules, now time.Time) ([]string, string) {
	var roles []string
	for _, g := range groups {
		if hasRole(s.Role, g.DisplayName) {
			roles = append(roles, g.DisplayName)
		}
	}
	var gs []store.Grant
	for _, g := range grants {
		if hasRole(s.Role, g.Role) {
			gs = append(gs, g)
		}
	}
	free := u
	free.Shifts = nil
	dec := policy.Decide(policy.Input{User: free, Roles: roles, Grants: gs, Device: d, Now: now, UserVerified: true, Rules: rules})
	var lost, whys []string
	for r := range strings.SplitSeq(s.Role, policy.RoleSeparator) {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !dec.Allow || !containsFold(dec.Roles, r) {
			lost = append(lost, r)
			continue
		}
		was, is := old.Rule(r), rules.Rule(r)
		var gone []string
		for _, app := range was.Apps {
			if !slices.Contains(is.Apps, app) {
				gone = append(gone, app)
			}
		}
		switch {
		case len(gone) > 0:
			lost = append(lost, r)
			whys = append(whys, fmt.Sprintf("role %s no longer gives apps %v", r, gone))
		case is.RequireUV && !was.RequireUV:
			lost = append(lost, r)
			whys = append(whys, fmt.Sprintf("role %s now requires user verification", r))
		}
	}
	if !dec.Allow || len(whys) == 0 {
		return lost, dec.Detail
	}
	return lost, strings.Join(whys, "; ")
}
