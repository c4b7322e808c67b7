package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Scheduler audit actions for ends that are not a user's or a session's.
const actionGrantExpire = "grant.expire"

// dueBatch is how many due records one query fetches.
const dueBatch = 500

// expireGrants records the end of every just-in-time grant that ran out,
// once each (store.ExpireGrant marks it in the same transaction as its
// audit record), and ends live sessions that still depended on it. Those
// are rare: a session's expiry is bounded by the grant it depends on, so it
// normally ended on its own first.
func (e *Engine) expireGrants(ctx context.Context) (int, error) {
	n := 0
	var errs []error // one grant that cannot be expired does not hold up the others
	for {
		now := e.now().UTC()
		due, err := e.st.ListDueGrants(ctx, now, dueBatch)
		if err != nil {
			return n, fmt.Errorf("scheduler: list expired grants: %w", err)
		}
		for _, g := range due {
			done := false
			err := e.run(ctx, func(tx store.Ops, c *change) error {
				done = false
				g, err := tx.ExpireGrant(ctx, g.ID, now)
				if errors.Is(err, store.ErrNotFound) {
					return nil // revoked or recorded meanwhile
				}
				if err != nil {
					return err
				}
				ended, err := e.endGrantSessions(ctx, tx, c, scheduler, g, now)
				if err != nil {
					return err
				}
				done = true
				_, err = e.audit.Append(ctx, tx, audit.Entry{Actor: scheduler.Name, System: scheduler.System, Action: actionGrantExpire, Subject: subjectUserPrefix + g.UserID,
					Detail: map[string]any{"grant": g.ID, "role": g.Role, "site": g.Site, "end": g.End, "sessionsEnded": ended}})
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("scheduler: expire grant %s: %w", g.ID, err))
				continue
			}
			if done {
				n++
			}
		}
		// A failed one stays due: reading the next batch could return
		// it again and again. The next pass tries it again.
		if len(due) < dueBatch || len(errs) > 0 {
			return n, errors.Join(errs...)
		}
	}
}

// expireExtensions records the end of every shift extension that ran out,
// once each, and re-checks the user's live sessions against the shifts
// that remain (reconcile): one that is now outside every shift ends.
func (e *Engine) expireExtensions(ctx context.Context) (int, error) {
	n := 0
	var errs []error // as in expireGrants
	for {
		now := e.now().UTC()
		due, err := e.st.ListDueShiftExtensions(ctx, now, dueBatch)
		if err != nil {
			return n, fmt.Errorf("scheduler: list expired shift extensions: %w", err)
		}
		for _, x := range due {
			done := false
			err := e.run(ctx, func(tx store.Ops, c *change) error {
				done = false
				x, err := tx.ExpireShiftExtension(ctx, x.ID, now)
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				done = true
				if _, err := e.audit.Append(ctx, tx, audit.Entry{Actor: scheduler.Name, System: scheduler.System, Action: actionShiftExtensionExpire, Subject: subjectUserPrefix + x.UserID,
					Detail: map[string]any{"extension": x.ID, "site": x.Site, "until": x.End, "reason": x.Reason, "approver": x.Approver}}); err != nil {
					return err
				}
				u, err := tx.GetUser(ctx, x.UserID)
				if err != nil || u.State != store.UserActive {
					return err
				}
				return e.reconcile(ctx, tx, c, scheduler, u, now, causeExtensionExpiry)
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("scheduler: expire shift extension %s: %w", x.ID, err))
				continue
			}
			if done {
				n++
			}
		}
		// A failed one stays due: reading the next batch could return
		// it again and again. The next pass tries it again.
		if len(due) < dueBatch || len(errs) > 0 {
			return n, errors.Join(errs...)
		}
	}
}
