package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// ErrDeviceDisabled means the kiosk was disabled while a login was being
// decided: no session opens on it.
var ErrDeviceDisabled = errors.New("device disabled")

// Reasons a session ends that the hub itself records.
const (
	ReasonSignout = "signout"
	ReasonExpired = "expired"
)

// StartSession records a granted kiosk login in its own transaction.
func (e *Engine) StartSession(ctx context.Context, a Actor, s store.Session, detail map[string]any) (store.Session, error) {
	var out store.Session
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		var err error
		out, err = e.StartSessionIn(ctx, tx, a, s, detail)
		return err
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("start session: %w", err)
	}
	return out, nil
}

// StartSessionIn records a granted kiosk login inside the caller's
// transaction (the one that also records the credential's use). The device
// is checked again there, so a login racing a device disable cannot leave a
// session open on a disabled kiosk.
func (e *Engine) StartSessionIn(ctx context.Context, tx store.Ops, a Actor, s store.Session, detail map[string]any) (store.Session, error) {
	out, err := tx.StartSession(ctx, s)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrDeviceDisabled
	}
	if err != nil {
		return store.Session{}, err
	}
	rec := map[string]any{"device": s.DeviceID, "role": s.Role, "expires": s.Expires}
	for k, v := range detail {
		rec[k] = v
	}
	_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.start", Subject: subjectUserPrefix + s.UserID, Detail: rec})
	return out, err
}

// EndSession records that a kiosk ended a session by itself (sign-out,
// idle, expiry). A session that is no longer live is not an error: the
// hub may have ended it first.
func (e *Engine) EndSession(ctx context.Context, a Actor, sessionID, reason string) error {
	return e.EndSessionOn(ctx, a, "", sessionID, reason)
}

// EndSessionOn is EndSession for the kiosk deviceID, which may end only
// its own sessions: another's is left alone, as if it were not live.
// deviceID "" ends the session wherever it is.
func (e *Engine) EndSessionOn(ctx context.Context, a Actor, deviceID, sessionID, reason string) error {
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		var (
			s   store.Session
			err error
		)
		if deviceID == "" {
			s, err = tx.EndSession(ctx, sessionID, reason, e.now().UTC())
		} else {
			s, err = tx.EndSessionOn(ctx, sessionID, deviceID, reason, e.now().UTC())
		}
		if errors.Is(err, store.ErrNotFound) && deviceID != "" {
			return e.ackEndedHere(ctx, tx, deviceID, sessionID)
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.end", Subject: subjectUserPrefix + s.UserID,
			Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "reason": reason}})
		return err
	})
	if err != nil {
		return fmt.Errorf("end session %s: %w", sessionID, err)
	}
	return nil
}

// ackEndedHere handles a kiosk reporting the end of a session the hub has
// ended already: the hub revoked it while the kiosk was offline, and the
// kiosk, back without it (it timed out or was signed out there), reports
// its own teardown instead of answering a revoke. That report is the
// acknowledgement the revocation waits for. Another kiosk's session, or
// an unknown one, is left alone.
func (e *Engine) ackEndedHere(ctx context.Context, tx store.Ops, deviceID, sessionID string) error {
	s, err := tx.GetSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) || err == nil && s.DeviceID != deviceID {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.AckRevocations(ctx, sessionID, deviceID, e.now().UTC())
	return err
}

// ForceSignOut ends every live session of a user everywhere (reason
// forced) and returns the revocations to push.
func (e *Engine) ForceSignOut(ctx context.Context, a Actor, userID string) ([]store.Revocation, error) {
	var revs []store.Revocation
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		if u.State == store.UserDeleted {
			return fmt.Errorf("user %s: %w", userID, store.ErrNotFound)
		}
		ss, err := e.endSessions(ctx, tx, c, userID, ReasonForced, "")
		if err != nil {
			return err
		}
		revs = c.revs
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "user.signout_forced", Subject: subjectUserPrefix + userID,
			Detail: map[string]any{"sessionsEnded": ss}})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("force sign-out of %s: %w", userID, err)
	}
	return revs, nil
}

// endSessions ends the user's live sessions (only on deviceID when it is
// set) with reason and records a revocation for each.
func (e *Engine) endSessions(ctx context.Context, tx store.Ops, c *change, userID, reason, deviceID string) ([]string, error) {
	now := e.now().UTC()
	var ended []store.Session
	if deviceID == "" {
		var err error
		if ended, err = tx.EndSessions(ctx, userID, reason, now); err != nil {
			return nil, err
		}
	} else {
		live, err := tx.ListSessions(ctx, store.SessionQuery{DeviceID: deviceID, LiveOnly: true})
		if err != nil {
			return nil, err
		}
		for _, s := range live {
			if userID != "" && s.UserID != userID {
				continue
			}
			s, err := tx.EndSession(ctx, s.ID, reason, now)
			if err != nil {
				return nil, err
			}
			ended = append(ended, s)
		}
	}
	ids := make([]string, 0, len(ended))
	for _, s := range ended {
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: s.UserID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: reason, Detail: "session", Created: now}); err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}

// EndUnopened ends the kiosk deviceID's live sessions other than those in
// keep, with reason not_opened, and returns their IDs. The kiosk said at
// hello that it holds or reports no other (wire.Hello.Complete): their
// grants were lost with a channel that dropped. Each gets a revocation,
// pushed after the commit: should such a grant still reach the kiosk, the
// revocation that came first keeps it from opening the session.
func (e *Engine) EndUnopened(ctx context.Context, a Actor, deviceID string, keep []string) ([]string, error) {
	var ids []string
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		ids = nil
		live, err := tx.ListSessions(ctx, store.SessionQuery{DeviceID: deviceID, LiveOnly: true})
		if err != nil {
			return err
		}
		now := e.now().UTC()
		for _, s := range live {
			if slices.Contains(keep, s.ID) {
				continue
			}
			if err := e.endNotOpened(ctx, tx, c, a, s.ID, deviceID, now); err != nil {
				return err
			}
			ids = append(ids, s.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("end sessions kiosk %s did not open: %w", deviceID, err)
	}
	return ids, nil
}

// EndNotOpened ends the kiosk deviceID's live session sessionID as
// EndUnopened does (reason not_opened, a revocation pushed after the
// commit, a session.end record by a), and reports whether it was live.
// A login calls it whose session committed after the channel that asked
// for it had ended: its grant goes nowhere, and the kiosk's hello on a
// newer channel may have looked for sessions it did not open before the
// commit, and so missed this one.
func (e *Engine) EndNotOpened(ctx context.Context, a Actor, deviceID, sessionID string) (bool, error) {
	ended := false
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		err := e.endNotOpened(ctx, tx, c, a, sessionID, deviceID, e.now().UTC())
		if errors.Is(err, store.ErrNotFound) {
			return nil // ended meanwhile: the kiosk's hello found it after all
		}
		ended = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("end session %s kiosk %s did not open: %w", sessionID, deviceID, err)
	}
	return ended, nil
}

// endNotOpened ends the live session id of deviceID with reason
// not_opened, records its revocation and its session.end record;
// ErrNotFound if no such session is live.
func (e *Engine) endNotOpened(ctx context.Context, tx store.Ops, c *change, a Actor, id, deviceID string, now time.Time) error {
	s, err := tx.EndSessionOn(ctx, id, deviceID, ReasonNotOpened, now)
	if err != nil {
		return err
	}
	if err := e.revoke(ctx, tx, c, store.Revocation{UserID: s.UserID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonNotOpened, Detail: "session", Created: now}); err != nil {
		return err
	}
	_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.end", Subject: subjectUserPrefix + s.UserID,
		Detail: map[string]any{"session": s.ID, "device": s.DeviceID, "reason": ReasonNotOpened}})
	return err
}

// ErrDeviceNotActive: DisableDevice found the kiosk disabled already, and
// changed nothing.
var ErrDeviceNotActive = errors.New("kiosk is disabled already")

// DisableDevice disables a kiosk: its certificate is refused from now on
// and its live sessions end (reason device_disabled). A kiosk disabled
// already is left as it is, with no record and no session ended:
// ErrDeviceNotActive. Its disable ended its sessions and none has opened
// since, and a second device.disable record would tell an auditor that
// it was disabled twice, the second time by whoever repeated the request.
func (e *Engine) DisableDevice(ctx context.Context, a Actor, deviceID string) error {
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		now := e.now().UTC()
		d, err := tx.UpdateDevice(ctx, deviceID, func(old store.Device) (store.Device, error) {
			if old.State == store.DeviceDisabled {
				return old, fmt.Errorf("kiosk %s: %w", old.Name, ErrDeviceNotActive)
			}
			old.State, old.Modified = store.DeviceDisabled, now
			return old, nil
		})
		if err != nil {
			return err
		}
		ss, err := e.endSessions(ctx, tx, c, "", ReasonDeviceDisabled, deviceID)
		if err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "device.disable", Subject: "device:" + deviceID,
			Detail: map[string]any{"name": d.Name, "site": d.Site, "sessionsEnded": ss}})
		return err
	})
	if err != nil {
		return fmt.Errorf("disable device %s: %w", deviceID, err)
	}
	return nil
}

// RevokeCredential revokes one credential and ends its owner's live
// sessions (reason credential_revoked): sessions do not record which
// credential opened them, so all of them end. A credential revoked
// already is left as it is, with no record and no session ended:
// ErrCredentialNotActive. Its revocation ended its owner's sessions then,
// a revoked badge opens none since, and a second credential.revoke record
// would tell an auditor that it was revoked again, by whoever repeated
// the request, and overwrite the reason it was revoked for.
func (e *Engine) RevokeCredential(ctx context.Context, a Actor, credentialID []byte, why string) error {
	detail := map[string]any{"credential": fmt.Sprintf("%x", credentialID), "reason": why}
	if err := e.retireCredential(ctx, a, credentialID, store.CredentialRevoked, why, "credential.revoke", detail); err != nil {
		return fmt.Errorf("revoke credential %x: %w", credentialID, err)
	}
	return nil
}

// ErrCredentialNotActive: SuspendCredential found the credential revoked
// or suspended already, or RevokeCredential found it revoked already, and
// changed nothing.
var ErrCredentialNotActive = errors.New("credential is not active")

// SuspendCredential suspends a credential (state suspended, reason why)
// if it is active and ends its owner's live sessions (reason
// credential_revoked), in one transaction, then pushes their revocations.
// A sign-counter regression calls it: whichever copy of the key signed in
// first may still hold a session, and sessions do not record which
// credential opened them, so all of the owner's end. detail goes into the
// credential.suspended audit record with the credential's previous state
// and the sessions ended. A credential that is not active (revoked or
// suspended meanwhile, by another path) is left as it is, with no session
// ended and no record: ErrCredentialNotActive.
func (e *Engine) SuspendCredential(ctx context.Context, a Actor, credentialID []byte, why string, detail map[string]any) error {
	if err := e.retireCredential(ctx, a, credentialID, store.CredentialSuspended, why, "credential.suspended", detail); err != nil {
		return fmt.Errorf("suspend credential %x: %w", credentialID, err)
	}
	return nil
}

// retireCredential puts a credential in state (revoked from active or
// suspended, suspended only from active: ErrCredentialNotActive
// otherwise) with reason why, ends its owner's live sessions and writes
// action's audit record: detail, with the previous state and the
// sessions ended. One transaction; the revocations are pushed after it.
func (e *Engine) retireCredential(ctx context.Context, a Actor, credentialID []byte, state store.CredentialState, why, action string, detail map[string]any) error {
	return e.run(ctx, func(tx store.Ops, c *change) error {
		rec := maps.Clone(detail)
		if rec == nil {
			rec = map[string]any{}
		}
		cr, err := tx.UpdateCredential(ctx, credentialID, func(old store.Credential) (store.Credential, error) {
			rec["previous_state"] = old.State.String()
			if old.State == store.CredentialRevoked || state != store.CredentialRevoked && old.State != store.CredentialActive {
				return old, fmt.Errorf("credential %x is %s: %w", credentialID, old.State, ErrCredentialNotActive)
			}
			old.State, old.Reason = state, why
			return old, nil
		})
		if err != nil {
			return err
		}
		if rec["sessionsEnded"], err = e.endSessions(ctx, tx, c, cr.UserID, ReasonCredentialRevoked, ""); err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: action, Subject: subjectUserPrefix + cr.UserID, Detail: rec})
		return err
	})
}

// ExpiryReasonOf is the end reason of session s when it runs out:
// ReasonShiftEnd when its shift window bounds it (store.Session's
// ExpiryReason), ReasonExpired otherwise, also for a session stored
// before the hub kept why.
func ExpiryReasonOf(s store.Session) string {
	if s.ExpiryReason == ReasonShiftEnd {
		return ReasonShiftEnd
	}
	return ReasonExpired
}

// endExpiredSessions ends the live sessions whose expiry has passed and
// pushes their revocation: kiosks end them by themselves on their own
// clock, and this makes the hub's clock authoritative (within one
// scheduler pass) and its records true when a kiosk is offline.
func (e *Engine) endExpiredSessions(ctx context.Context) (int, error) {
	now := e.now().UTC()
	ss, err := e.st.ListSessions(ctx, store.SessionQuery{LiveOnly: true, ExpiresBy: now})
	if err != nil {
		return 0, fmt.Errorf("scheduler: list expired sessions: %w", err)
	}
	n := 0
	var errs []error // one session that cannot be ended does not keep the others live
	for _, s := range ss {
		done := false
		err := e.run(ctx, func(tx store.Ops, c *change) error {
			// As it is now: ended or extended (a shift extension) since
			// the list was read, it is left alone.
			cur, err := tx.GetSession(ctx, s.ID)
			if err != nil {
				return err
			}
			if !cur.Ended.IsZero() || cur.Expires.After(now) {
				return nil
			}
			// The reason the session runs out for: a kiosk that is away
			// would have ended it so itself, and reports that end when
			// it is back.
			reason := ExpiryReasonOf(cur)
			ended, err := tx.EndSession(ctx, s.ID, reason, now)
			if errors.Is(err, store.ErrNotFound) {
				return nil // ended meanwhile
			}
			if err != nil {
				return err
			}
			done = true
			if err := e.revoke(ctx, tx, c, store.Revocation{UserID: ended.UserID, SessionID: ended.ID, DeviceID: ended.DeviceID, Reason: reason, Detail: "session", Created: now}); err != nil {
				return err
			}
			_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: scheduler.Name, System: scheduler.System, Action: "session.end", Subject: subjectUserPrefix + ended.UserID,
				Detail: map[string]any{"session": ended.ID, "device": ended.DeviceID, "reason": reason}})
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("scheduler: end expired session %s: %w", s.ID, err))
			continue
		}
		if done {
			n++
		}
	}
	return n, errors.Join(errs...)
}
