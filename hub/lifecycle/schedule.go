package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Due is what one RunDue pass did.
type Due struct {
	Activated     int // pending users whose start date came
	Deprovisioned int // users whose end date passed
	Expired       int // live sessions past their expiry
	// GrantsExpired and ExtensionsExpired count just-in-time grants and
	// shift extensions whose end was recorded (timers.go).
	GrantsExpired     int
	ExtensionsExpired int
}

var scheduler = Actor{Name: actorScheduler, System: systemScheduler}

// RunDue applies every timed event that has come, in this order: pending
// users whose start date is reached become active; users whose end date is
// reached are deprovisioned; live sessions past their expiry (shift end,
// grant end, maximum length, ...) end; just-in-time grants and shift
// extensions that ended are recorded (timers.go). The state lives in the
// store and every action is conditional on it inside the transaction that
// also writes its audit record, so a pass after a restart catches up on
// whatever came due while the hub was down, and no action happens (or is
// audited) twice, whatever passes overlap.
//
// An event that cannot be applied does not hold up the others: the pass
// goes on with the next one and returns every failure, joined, with the
// counts of what it did. Stopping at the first would stop every later
// pass at the same record, and with it every scheduled revocation.
func (e *Engine) RunDue(ctx context.Context) (Due, error) {
	var (
		d    Due
		errs []error
	)
	now := e.now().UTC()
	starting, _, err := e.st.ListUsers(ctx, store.UserQuery{States: []store.UserState{store.UserPending}, StartBy: now})
	if err != nil {
		errs = append(errs, fmt.Errorf("scheduler: list starters: %w", err))
	}
	for _, u := range starting {
		ok, err := e.activate(ctx, u.ID, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			d.Activated++
		}
	}
	ending, _, err := e.st.ListUsers(ctx, store.UserQuery{States: []store.UserState{store.UserPending, store.UserActive}, EndBy: now})
	if err != nil {
		errs = append(errs, fmt.Errorf("scheduler: list leavers: %w", err))
	}
	for _, u := range ending {
		// UpdateUser resolves the dates again: an end sent as a day is
		// over only once it is over at every one of the user's sites.
		after, err := e.UpdateUser(ctx, scheduler, u.ID, func(old store.User) (store.User, error) { return old, nil })
		switch {
		case err == nil && after.State == store.UserDisabled:
			d.Deprovisioned++
		case err == nil:
			// Not over after all: the end moved meanwhile (a change of
			// the user, or of a site's time zone).
		case !errors.Is(err, store.ErrNotFound):
			errs = append(errs, fmt.Errorf("scheduler: deprovision user %s: %w", u.ID, err))
		}
	}
	d.Expired, err = e.endExpiredSessions(ctx)
	errs = append(errs, err)
	d.GrantsExpired, err = e.expireGrants(ctx)
	errs = append(errs, err)
	d.ExtensionsExpired, err = e.expireExtensions(ctx)
	errs = append(errs, err)
	return d, errors.Join(errs...)
}

// activate moves one pending user to active if it still is pending and due.
func (e *Engine) activate(ctx context.Context, id string, now time.Time) (bool, error) {
	done := false
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		done = false
		u, err := tx.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
			if old.State != store.UserPending {
				return old, errNotDue
			}
			if next := StateAt(old.Active, old.StartDate, old.EndDate, now); next != store.UserActive {
				return old, errNotDue
			}
			old.State, old.Modified = store.UserActive, now
			return old, nil
		})
		if errors.Is(err, errNotDue) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		_, err = e.audit.Append(ctx, tx, audit.Entry{
			Actor: scheduler.Name, System: scheduler.System, Action: actionUserActivate, Subject: subjectUserPrefix + id,
			Detail: map[string]any{"startDate": u.StartDate},
		})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("scheduler: activate user %s: %w", id, err)
	}
	if done {
		e.log.Info("user activated at start date", "user", id)
	}
	return done, nil
}

var errNotDue = errors.New("not due")

// Run calls RunDue every interval until ctx ends, logging failures.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if d, err := e.RunDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Error("scheduler pass failed", "err", err, "activated", d.Activated, "deprovisioned", d.Deprovisioned, "expired", d.Expired,
				"grants_expired", d.GrantsExpired, "extensions_expired", d.ExtensionsExpired)
		} else if d.Activated+d.Deprovisioned+d.Expired+d.GrantsExpired+d.ExtensionsExpired > 0 {
			e.log.Info("scheduler pass", "activated", d.Activated, "deprovisioned", d.Deprovisioned, "expired", d.Expired,
				"grants_expired", d.GrantsExpired, "extensions_expired", d.ExtensionsExpired)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
