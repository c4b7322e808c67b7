package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Lifetimes. Every token made by this package expires: an admin token
// after DefaultAdminLifetime unless told otherwise, a SCIM or metrics
// token after DefaultLifetime (an identity provider keeps the SCIM secret,
// and rotating it yearly is the common practice), and none later than
// MaxLifetimeYears after it was made.
const (
	DefaultAdminLifetime = 90 * 24 * time.Hour
	DefaultLifetime      = 365 * 24 * time.Hour
	MaxLifetimeYears     = 2
	// ExpiresSoon is how close to its expiry a token is shown as expiring
	// (token list, the console) and warned about at start.
	ExpiresSoon = 14 * 24 * time.Hour
	// DefaultOverlap is how long a rotated token goes on working beside
	// its successor: time to paste the new secret into the identity
	// provider. MaxOverlap bounds it.
	DefaultOverlap = 24 * time.Hour
	MaxOverlap     = 7 * 24 * time.Hour
)

// DefaultLifetimeOf returns how long a new token of scope lives unless
// told otherwise.
func DefaultLifetimeOf(scope string) time.Duration {
	if scope == store.ScopeAdmin {
		return DefaultAdminLifetime
	}
	return DefaultLifetime
}

// MaxExpiry is the latest expiry a token made at now may have.
func MaxExpiry(now time.Time) time.Time { return now.UTC().AddDate(MaxLifetimeYears, 0, 0) }

// errExpiryFormat says what an expiry looks like.
var errExpiryFormat = fmt.Errorf("give a number of days like 90d, or a date like 2027-03-01 (the token works to the end of that day, UTC); every token expires, at most %d years ahead", MaxLifetimeYears)

// ParseExpiry reads an expiry as typed on the command line or chosen in
// the console: a number of days from now ("90d"), or a date ("2027-03-01":
// the token works to the end of that day, UTC, and is refused from the
// midnight after). "" is the zero time: the default of the token's scope
// (see DefaultLifetimeOf), which New and Rotate apply. There is no
// "never"; the expiry must be after now and at most MaxLifetimeYears
// ahead (CheckExpiry).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var exp time.Time
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || n == "" || strings.ContainsAny(n[:1], "+-") || len(n) > 4 {
			return time.Time{}, fmt.Errorf("expiry %q: %w", s, errExpiryFormat)
		}
		if days < 1 {
			return time.Time{}, fmt.Errorf("expiry %q: a token lives at least a day (1d); to stop one now, revoke it", s)
		}
		exp = now.Add(time.Duration(days) * 24 * time.Hour)
	} else if day, err := time.Parse(time.DateOnly, s); err == nil {
		exp = day.AddDate(0, 0, 1)
	} else {
		return time.Time{}, fmt.Errorf("expiry %q: %w", s, errExpiryFormat)
	}
	if err := CheckExpiry(exp, now); err != nil {
		return time.Time{}, fmt.Errorf("expiry %q: %w", s, err)
	}
	return exp.UTC(), nil
}

// CheckExpiry reports whether expires is a valid expiry for a token made
// (or rotated) at now: after now, and at most MaxLifetimeYears later.
func CheckExpiry(expires, now time.Time) error {
	if expires.IsZero() {
		return errors.New("every token needs an expiry")
	}
	if !expires.After(now) {
		return errors.New("that has passed: a token must expire in the future")
	}
	if limit := MaxExpiry(now); expires.After(limit) {
		// The last date whose end (the midnight after it) is within the limit.
		last := limit.Truncate(24*time.Hour).AddDate(0, 0, -1)
		return fmt.Errorf("a token lives at most %d years: the latest expiry now is %s (%dd)", MaxLifetimeYears, last.Format(time.DateOnly), int(limit.Sub(now)/(24*time.Hour)))
	}
	return nil
}

// ParseOverlap reads how long a rotated token goes on working beside its
// successor: a duration ("24h", "90m"), a number of days ("3d"), or "0"
// (it is refused at once). "" is DefaultOverlap. At most MaxOverlap.
func ParseOverlap(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultOverlap, nil
	}
	d, err := time.ParseDuration(s)
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n[:1], "+-") {
		days, aerr := strconv.Atoi(n)
		if aerr == nil && days <= 7 {
			d, err = time.Duration(days)*24*time.Hour, nil
		}
	}
	if err != nil || d < 0 || d > MaxOverlap {
		return 0, fmt.Errorf("overlap %q: give a duration from 0 (the old token is refused at once) to %s (7d), like 24h", s, MaxOverlap)
	}
	return d, nil
}

// Expired reports whether t is refused at now for its age: it has an
// expiry and now is not before it.
func Expired(t store.Token, now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// Status is how a token stands, for people (token list, the console).
type Status struct {
	// Label is one of "active", "expires in N days" (or hours, minutes:
	// within ExpiresSoon), "expired", "no expiry: rotate" (a token from
	// before tokens expired) and "revoked", followed by "(rotated to ID)"
	// for a token a rotation replaced, unless it is revoked.
	Label string
	// Soon marks a token that works now and stops within ExpiresSoon, or
	// never stops (no expiry): one to act on.
	Soon bool
}

// StatusAt returns the Status of t at now.
func StatusAt(t store.Token, now time.Time) Status {
	var s Status
	switch left := t.Expires.Sub(now); {
	case !t.Revoked.IsZero():
		s.Label = "revoked"
	case t.Expires.IsZero():
		s.Label, s.Soon = "no expiry: rotate", true
	case left <= 0:
		s.Label = "expired"
	case left <= ExpiresSoon:
		s.Label, s.Soon = "expires in "+Within(left), true
	default:
		s.Label = "active"
	}
	if t.ReplacedBy != "" && t.Revoked.IsZero() {
		s.Label += " (rotated to " + t.ReplacedBy + ")"
	}
	return s
}

// Within says a positive duration the way a person counts it, rounded:
// days from two days on, then hours, then minutes (at least one).
func Within(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 48*time.Hour:
		return unit(int64((d+12*time.Hour)/(24*time.Hour)), "day")
	case d >= time.Hour:
		return unit(int64((d+30*time.Minute)/time.Hour), "hour")
	default:
		return unit(max(1, int64((d+30*time.Second)/time.Minute)), "minute")
	}
}

// ErrCannotRotate means the token asked for cannot be rotated: it is
// revoked, or a rotation replaced it already with a token still in use
// or rotated on in turn. The message says which and what to do instead.
var ErrCannotRotate = errors.New("cannot rotate")

// Rotation is what Rotate did.
type Rotation struct {
	Plain string      // the successor's plaintext, to show once
	New   store.Token // the successor, stored: same name and scope, new ID and secret
	Old   store.Token // the rotated token as stored now: its Expires brought forward
}

// Rotate replaces token id, in tx, with a new token of the same name and
// scope that expires at expires (zero: the scope's default), and makes the
// old one expire overlap after now, so that its user can switch to the
// new secret before the old stops working. A rotation never extends the
// old token's life: one that expires sooner keeps its expiry, and one
// that expired stays expired (rotating it issues the successor of a token
// that stopped working). A revoked token is ErrCannotRotate, and so is
// one rotated already, unless its successor was revoked before it was
// rotated in turn (the new secret leaked on its way to the identity
// provider, say): then the token is rotated again, its expiry still never
// lengthened, and the new successor replaces the revoked one. An unknown
// token is store.ErrNotFound. tx must be a
// transaction (store.Store.InTx), so that two rotations of one token, from
// the console and the CLI at once, cannot both succeed. The caller
// records the rotation in the audit log in the same transaction, and, in
// a process that verifies tokens, calls Verifier.Forget(id) after it
// commits.
//
// The successor is made by the CLI operator (store.Token.CreatedBy is
// empty), who is shown its secret; the console rotates with RotateBy.
func Rotate(ctx context.Context, tx store.TokenOps, id string, now time.Time, overlap time.Duration, expires time.Time) (Rotation, error) {
	return RotateBy(ctx, tx, id, "", now, overlap, expires)
}

// RotateBy is Rotate with the successor made by console account by: the
// account shown the new secret, which the successor then stands for
// (store.Token.CreatedBy), whoever made the rotated token. Keeping the old
// token's maker instead would let an admin rotate a token made by the CLI
// operator, or by another admin, and use the secret it is shown to decide
// on their own access.
func RotateBy(ctx context.Context, tx store.TokenOps, id, by string, now time.Time, overlap time.Duration, expires time.Time) (Rotation, error) {
	if overlap < 0 || overlap > MaxOverlap {
		return Rotation{}, fmt.Errorf("rotate token %s: the overlap %s is not within 0 and %s", id, overlap, MaxOverlap)
	}
	cur, err := tx.GetToken(ctx, id)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	var succ *store.Token
	if cur.ReplacedBy != "" {
		switch s, err := tx.GetToken(ctx, cur.ReplacedBy); {
		case err == nil:
			succ = &s
		case !errors.Is(err, store.ErrNotFound):
			return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
		}
	}
	if err := rotatable(cur, succ); err != nil {
		return Rotation{}, err
	}
	if err := checkScope(cur.Scope); err != nil {
		return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	// The name was checked when the token was made; one from before names
	// were checked is passed on as it is (token list escapes it).
	plain, next, err := mint(cur.Name, cur.Scope, now, expires)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	next.CreatedBy = by
	end := now.Add(overlap).UTC()
	old, err := tx.UpdateToken(ctx, id, func(old store.Token) (store.Token, error) {
		if !old.Revoked.IsZero() || old.ReplacedBy != cur.ReplacedBy {
			// Changed since it was read: only outside a transaction.
			return old, fmt.Errorf("%w token %s: it changed while being rotated; try again", ErrCannotRotate, id)
		}
		if old.Expires.IsZero() || end.Before(old.Expires) {
			old.Expires = end
		}
		old.ReplacedBy = next.ID
		return old, nil
	})
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	if next, err = tx.CreateToken(ctx, next); err != nil {
		return Rotation{}, fmt.Errorf("rotate token %s: %w", id, err)
	}
	return Rotation{Plain: plain, New: next, Old: old}, nil
}

// AuditDetail is the detail of the token.rotate audit record of r: the
// name and scope, both IDs and both expiries, never a secret.
func (r Rotation) AuditDetail() map[string]string {
	return map[string]string{
		"name": r.New.Name, "scope": r.New.Scope,
		"old_id": r.Old.ID, "old_expires": r.Old.Expires.UTC().Format(time.RFC3339),
		"new_id": r.New.ID, "new_expires": r.New.Expires.UTC().Format(time.RFC3339),
	}
}

// CreateAuditDetail is the detail of the token.create audit record of t:
// its name, scope and expiry.
func CreateAuditDetail(t store.Token) map[string]string {
	return map[string]string{"name": t.Name, "scope": t.Scope, "expires": t.Expires.UTC().Format(time.RFC3339)}
}

// rotatable returns an ErrCannotRotate unless t may be rotated; succ is
// its successor (nil when it has none, or it is not stored).
func rotatable(t store.Token, succ *store.Token) error {
	switch {
	case !t.Revoked.IsZero():
		return fmt.Errorf("%w token %s: it is revoked; create a new token instead", ErrCannotRotate, t.ID)
	case t.ReplacedBy == "" || succ == nil:
		return nil
	case succ.Revoked.IsZero():
		return fmt.Errorf("%w token %s: it was rotated already, to token %s; rotate that one", ErrCannotRotate, t.ID, t.ReplacedBy)
	case succ.ReplacedBy != "":
		return fmt.Errorf("%w token %s: it was rotated already, to token %s, which was rotated to token %s before it was revoked; rotate the newest token named %q (token list)", ErrCannotRotate, t.ID, t.ReplacedBy, succ.ReplacedBy, t.Name)
	}
	return nil // its successor was revoked: issue another
}

// Rotatable reports whether t may be rotated (Rotate); byID holds the
// tokens by ID, its successor among them.
func Rotatable(t store.Token, byID map[string]store.Token) bool {
	var succ *store.Token
	if s, ok := byID[t.ReplacedBy]; ok && t.ReplacedBy != "" {
		succ = &s
	}
	return rotatable(t, succ) == nil
}

// Succeeded reports whether a rotation replaced t with a token that is
// still in use (not revoked): t's user has been given the successor, so
// t's own expiry is nothing to act on. byID holds the tokens by ID.
func Succeeded(t store.Token, byID map[string]store.Token) bool {
	if t.ReplacedBy == "" {
		return false
	}
	s, ok := byID[t.ReplacedBy]
	return ok && s.Revoked.IsZero()
}

// ByID indexes ts by ID, for Rotatable and Succeeded.
func ByID(ts []store.Token) map[string]store.Token {
	m := make(map[string]store.Token, len(ts))
	for _, t := range ts {
		m[t.ID] = t
	}
	return m
}

// WarnAtStart logs, at warn level, the tokens an operator must act on: the
// usable ones that never expire (made before tokens expired), and those
// that stop within ExpiresSoon and have no successor in use (Succeeded).
// It names tokens by ID and name, never more.
func WarnAtStart(ctx context.Context, st store.TokenOps, now time.Time, log *slog.Logger) error {
	ts, err := st.ListTokens(ctx)
	if err != nil {
		return err
	}
	var never, soon []string
	byID := ByID(ts)
	for _, t := range ts {
		if !t.Revoked.IsZero() || Expired(t, now) {
			continue
		}
		switch {
		case t.Expires.IsZero():
			never = append(never, t.ID+" ("+t.Name+")")
		case !Succeeded(t, byID) && t.Expires.Sub(now) <= ExpiresSoon:
			soon = append(soon, t.ID+" ("+t.Name+", "+t.Expires.Format(time.RFC3339)+")")
		}
	}
	if len(never) > 0 {
		log.Warn(tokens(len(never), "never expires", "never expire")+"; rotate them: shiftgate-hub token rotate --id ID", "tokens", never)
	}
	if len(soon) > 0 {
		within := fmt.Sprintf("within %d days", int(ExpiresSoon/(24*time.Hour)))
		log.Warn(tokens(len(soon), "expires "+within, "expire "+within)+"; rotate them: shiftgate-hub token rotate --id ID", "tokens", soon)
	}
	return nil
}

// tokens says "1 API token <one>" or "N API tokens <many>".
func tokens(n int, one, many string) string {
	if n == 1 {
		return "1 API token " + one
	}
	return fmt.Sprintf("%d API tokens %s", n, many)
}
