package lifecycle

import (
	"context"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// EndSessionForced ends one live session (reason forced), records its
// revocation so the kiosk is told and acknowledges, and audits who did it.
// It is the console's "sign this session out": narrower than ForceSignOut,
// which ends the user's sessions everywhere. ErrNotFound if the session is
// not live.
func (e *Engine) EndSessionForced(ctx context.Context, a Actor, sessionID string) (store.Session, error) {
	var s store.Session
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		now := e.now().UTC()
		var err error
		if s, err = tx.EndSession(ctx, sessionID, ReasonForced, now); err != nil {
			return err
		}
		if err := e.revoke(ctx, tx, c, store.Revocation{UserID: s.UserID, SessionID: s.ID, DeviceID: s.DeviceID, Reason: ReasonForced, Detail: "session", Created: now}); err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "session.signout_forced", Subject: subjectUserPrefix + s.UserID,
			Detail: map[string]any{"session": s.ID, "device": s.DeviceID}})
		return err
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("force sign-out of session %s: %w", sessionID, err)
	}
	return s, nil
}

// SignOutDevice ends every live session on one kiosk (reason forced) and
// returns their IDs; the kiosk stays enrolled and usable, unlike
// DisableDevice.
func (e *Engine) SignOutDevice(ctx context.Context, a Actor, deviceID string) ([]string, error) {
	var ended []string
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		d, err := tx.GetDevice(ctx, deviceID)
		if err != nil {
			return err
		}
		if ended, err = e.endSessions(ctx, tx, c, "", ReasonForced, deviceID); err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: "device.signout_forced", Subject: "device:" + deviceID,
			Detail: map[string]any{"name": d.Name, "site": d.Site, "sessionsEnded": ended}})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("force sign-out at device %s: %w", deviceID, err)
	}
	return ended, nil
}
