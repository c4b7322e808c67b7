package store

import (
	"context"
	"time"
)

// ShiftExtension is a supervisor's just-in-time extension of a worker's
// shift at one site: policy treats [Start, End) as shift time on the
// kiosks of Site only, like one more shift there with a reason and an
// approver. It never grants a role or a site; it only widens when the
// worker's existing entitlements may be used at that site.
type ShiftExtension struct {
	ID     string
	UserID string
	// Site is the name of the site where the extension counts, as users,
	// kiosks and grants name sites (compared case-insensitively). It is
	// empty only for extensions recorded before extensions had a site
	// that the upgrade could not place (a worker of several sites): those
	// count at no site.
	Site     string
	Start    time.Time
	End      time.Time
	Reason   string
	Approver string
	Created  time.Time
	// Expired is when the scheduler recorded the extension's end (zero
	// until then); it is what makes that record happen exactly once.
	Expired time.Time
}

// ShiftOps is what the scheduler and the shift API need beyond the user's
// own Shifts: extensions, the scheduler's exactly-once marks on timed
// events, and moving a live session's expiry.
//
// Exactly once: ExpireGrant and ExpireShiftExtension mark a record as
// handled only if it is not yet marked, so a caller that does the timed
// action and its audit record in the same transaction as the mark does
// them once, however many scheduler passes or hub restarts see the
// deadline.
type ShiftOps interface {
	// CreateShiftExtension stores x as given; ErrConflict if the ID is taken.
	CreateShiftExtension(ctx context.Context, x ShiftExtension) (ShiftExtension, error)
	// ListShiftExtensions returns the user's extensions ordered by Start,
	// then ID, expired ones included.
	ListShiftExtensions(ctx context.Context, userID string) ([]ShiftExtension, error)
	// ListDueShiftExtensions returns unexpired extensions whose End is not
	// after by, ordered by End, then ID; at most limit (0: no cap).
	ListDueShiftExtensions(ctx context.Context, by time.Time, limit int) ([]ShiftExtension, error)
	// ExpireShiftExtension marks one extension expired at at and returns
	// it after the change. ErrNotFound unless it exists, is not yet
	// expired and its End is not after at.
	ExpireShiftExtension(ctx context.Context, id string, at time.Time) (ShiftExtension, error)

	// ListDueGrants returns grants that are neither revoked nor marked
	// expired and whose End is not after by, ordered by End, then ID; at
	// most limit (0: no cap).
	ListDueGrants(ctx context.Context, by time.Time, limit int) ([]Grant, error)
	// ExpireGrant marks one grant's end as handled at at and returns the
	// grant. ErrNotFound unless it exists, is not revoked, not yet marked,
	// and its End is not after at. A grant marked expired is over: it is
	// no longer due, and RevokeGrant refuses it as it refuses any grant
	// that is over.
	ExpireGrant(ctx context.Context, id string, at time.Time) (Grant, error)

	// SetSessionExpiry changes a live session's Expires and returns the
	// session after the change; ErrNotFound unless the session is live.
	// Its ExpiryReason becomes "": an expiry set without saying why is
	// not the shift's (SetSessionExpiryFor says why).
	SetSessionExpiry(ctx context.Context, id string, expires time.Time) (Session, error)
	// SetSessionExpiryFor is SetSessionExpiry that also sets why the
	// session ends at expires (Session.ExpiryReason), in the same step.
	SetSessionExpiryFor(ctx context.Context, id string, expires time.Time, reason string) (Session, error)
}
