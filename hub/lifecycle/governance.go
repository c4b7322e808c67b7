package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// ErrGone means the entitlement a change would remove is no longer there:
// the user already lost it. Access governance records that as the outcome
// of a decision rather than failing it.
var ErrGone = errors.New("entitlement already gone")

// Tx is one lifecycle transaction in progress, for callers (access reviews,
// risk remediation) whose own records must commit together with the
// entitlement changes they cause. Revocations are pushed after the commit,
// as for every Engine change. A Tx must not be used after Do returns.
type Tx struct {
	e  *Engine
	tx store.Ops
	c  *change
}

// Do runs fn in one store transaction. If fn returns an error nothing it
// did is kept, and no revocation is pushed.
func (e *Engine) Do(ctx context.Context, fn func(t *Tx) error) error {
	return e.run(ctx, func(tx store.Ops, c *change) error {
		return fn(&Tx{e: e, tx: tx, c: c})
	})
}

// Ops is the transaction, for the caller's own reads and writes.
func (t *Tx) Ops() store.Ops { return t.tx }

// Audit appends entries to the audit log inside the transaction.
func (t *Tx) Audit(ctx context.Context, entries ...audit.Entry) error {
	_, err := t.e.audit.AppendMany(ctx, t.tx, entries)
	return err
}

// RemoveMember takes the user out of the group, like a SCIM group update
// would: sessions held under the role end and the loss is recorded as a
// revocation. A disabled user's membership is removed too: it gives no
// access while the user is disabled, but a leaver keeps its memberships
// for a re-hire (see strip), and one a reviewer or an admin took away must
// not come back with the re-hire. (The caller tells from the user's state
// whether any access was live.) ErrGone if the user is not a member, or
// is deleted or unknown (a deleted user is a member of no group).
func (t *Tx) RemoveMember(ctx context.Context, a Actor, groupID, userID string) error {
	u, err := t.tx.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.State == store.UserDeleted {
		return fmt.Errorf("group %s member %s: %w", groupID, userID, ErrGone)
	}
	if err != nil {
		return err
	}
	gone := false
	g, err := t.tx.UpdateGroup(ctx, groupID, func(old store.Group) (store.Group, error) {
		i := slices.Index(old.Members, userID)
		if i < 0 {
			gone = true
			return old, ErrGone
		}
		old.Members = slices.Delete(slices.Clone(old.Members), i, i+1)
		old.Modified = t.e.now().UTC()
		return old, nil
	})
	if gone || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("group %s member %s: %w", groupID, userID, ErrGone)
	}
	if err != nil {
		return err
	}
	if _, err := t.e.audit.Append(ctx, t.tx, audit.Entry{
		Actor: a.Name, System: a.System, Action: actionGroupUpdate, Subject: subjectGroupPrefix + groupID,
		Detail: map[string]any{"membersRemoved": []string{userID}},
	}); err != nil {
		return err
	}
	return t.e.removeRole(ctx, t.tx, t.c, a, g.DisplayName, []string{userID}, false)
}

// RemoveSite removes a site from the user, like a SCIM mover: live
// sessions on kiosks of that site end and are pushed. A disabled user's
// site is removed too, for the reason RemoveMember gives. ErrGone if the
// user does not have the site, or is deleted or unknown.
func (t *Tx) RemoveSite(ctx context.Context, a Actor, userID, site string) error {
	var before store.User
	gone := false
	u, err := t.tx.UpdateUser(ctx, userID, func(old store.User) (store.User, error) {
		before = old
		i := slices.IndexFunc(old.Sites, func(s string) bool { return equalFold(s, site) })
		if i < 0 || old.State == store.UserDeleted {
			gone = true
			return old, ErrGone
		}
		site = old.Sites[i]
		old.Sites = slices.Delete(slices.Clone(old.Sites), i, i+1)
		old.Modified = t.e.now().UTC()
		// Dates sent as calendar days span the sites that remain.
		return old, t.e.resolveDates(ctx, t.tx, &old)
	})
	if gone || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("user %s site %s: %w", userID, site, ErrGone)
	}
	if err != nil {
		return err
	}
	if _, err := t.e.audit.Append(ctx, t.tx, audit.Entry{
		Actor: a.Name, System: a.System, Action: actionUserUpdate, Subject: subjectUserPrefix + userID,
		Detail: map[string]any{"before": summary(before), "after": summary(u)},
	}); err != nil {
		return err
	}
	return t.e.removeSites(ctx, t.tx, t.c, a, u, []string{site})
}

// RevokeGrant ends a grant early, like Engine.RevokeGrant. ErrGone if it
// is already revoked or over.
func (t *Tx) RevokeGrant(ctx context.Context, a Actor, id, why string) (store.Grant, error) {
	now := t.e.now().UTC()
	g, err := t.tx.RevokeGrant(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Grant{}, fmt.Errorf("grant %s: %w", id, ErrGone)
	}
	if err != nil {
		return store.Grant{}, err
	}
	ended, err := t.e.endGrantSessions(ctx, t.tx, t.c, a, g, now)
	if err != nil {
		return store.Grant{}, err
	}
	_, err = t.e.audit.Append(ctx, t.tx, audit.Entry{Actor: a.Name, System: a.System, Action: actionGrantRevoke, Subject: subjectUserPrefix + g.UserID,
		Detail: map[string]any{"grant": g.ID, "role": g.Role, "site": g.Site, "reason": why, "sessionsEnded": ended}})
	return g, err
}

// RevokeCredential revokes one credential and ends its owner's live
// sessions, like Engine.RevokeCredential. ErrGone unless it is active or
// suspended.
func (t *Tx) RevokeCredential(ctx context.Context, a Actor, credentialID []byte, why string) error {
	gone := false
	cr, err := t.tx.UpdateCredential(ctx, credentialID, func(old store.Credential) (store.Credential, error) {
		if old.State == store.CredentialRevoked {
			gone = true
			return old, ErrGone
		}
		old.State, old.Reason = store.CredentialRevoked, why
		return old, nil
	})
	if gone || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("credential %x: %w", credentialID, ErrGone)
	}
	if err != nil {
		return err
	}
	ss, err := t.e.endSessions(ctx, t.tx, t.c, cr.UserID, ReasonCredentialRevoked, "")
	if err != nil {
		return err
	}
	_, err = t.e.audit.Append(ctx, t.tx, audit.Entry{Actor: a.Name, System: a.System, Action: "credential.revoke", Subject: subjectUserPrefix + cr.UserID,
		Detail: map[string]any{"credential": fmt.Sprintf("%x", credentialID), "reason": why, "sessionsEnded": ss}})
	return err
}

// Deprovision disables and strips an active or pending user, like a SCIM
// leaver (reason why). ErrGone if the user is already disabled or deleted.
func (t *Tx) Deprovision(ctx context.Context, a Actor, userID, why string) error {
	u, err := t.tx.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.State == store.UserDisabled || u.State == store.UserDeleted) {
		return fmt.Errorf("user %s: %w", userID, ErrGone)
	}
	if err != nil {
		return err
	}
	_, err = t.e.strip(ctx, t.tx, t.c, a, u, why)
	return err
}

// EndSession ends one live kiosk session (reason) and records its
// revocation, pushed to the kiosk after the commit, with a
// session.signout_forced audit record saying why: for a session that
// should not be live at all (risk remediation of a session whose user is
// disabled or deleted). ErrGone if the session is no longer live.
func (t *Tx) EndSession(ctx context.Context, a Actor, sessionID, reason, why string) error {
	now := t.e.now().UTC()
	s, err := t.tx.EndSession(ctx, sessionID, reason, now)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session %s: %w", sessionID, ErrGone)
	}
	if err != nil {
		return err
	}
	if err := t.e.revoke(ctx, t.tx, t.c, store.Revocation{UserID: s.UserID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: reason, Detail: "session", Created: now}); err != nil {
		return err
	}
	_, err = t.e.audit.Append(ctx, t.tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.signout_forced", Subject: subjectUserPrefix + s.UserID,
		Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "reason": reason, "why": why}})
	return err
}
