package agent

import (
	"strconv"
	"time"
)

// State is the kiosk's session state. The numbers are stable: they may be
// logged, stored or sent to a UI process.
//
//	Locked --tap--> Verifying --session.grant--> Active --(expires_at - warning)--> Warning
//	Locked <--login.refused / not recognised / hub unreachable-- Verifying
//	Active, Warning --signout | idle | session.revoke | expires_at--> Ending
//	Ending --teardown hook succeeded--> Locked (a failed one is retried; the state stays Ending)
type State int

const (
	// Locked: no session; the screen waits for a tap.
	Locked State = 1
	// Verifying: a tap is being checked (assertion signed, hub asked), or a
	// credential is being registered from the locked screen.
	Verifying State = 2
	// Active: a session is open.
	Active State = 3
	// Warning: a session is open and ends within the warning lead.
	Warning State = 4
	// Ending: the session is being torn down (announced by session.ending);
	// the kiosk is locked, and session.ended emitted, when the teardown
	// hook succeeds. A failed teardown keeps the kiosk Ending and is
	// retried.
	Ending State = 5
)

// String returns the lowercase name of s.
func (s State) String() string {
	switch s {
	case Locked:
		return "locked"
	case Verifying:
		return "verifying"
	case Active:
		return "active"
	case Warning:
		return "warning"
	case Ending:
		return "ending"
	default:
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
}

// hasSession reports whether a session is open in s.
func (s State) hasSession() bool { return s == Active || s == Warning || s == Ending }

// live reports whether a session is open in s and not ending: one that
// input, warnings, the expiry and the idle timeout apply to.
func (s State) live() bool { return s == Active || s == Warning }

// Session is the live session on the kiosk, as the hub granted it.
type Session struct {
	ID          string    `json:"id"`
	User        string    `json:"user"`
	DisplayName string    `json:"display_name,omitempty"`
	Role        string    `json:"role"`
	Apps        []string  `json:"apps"`
	ExpiresAt   time.Time `json:"expires_at"`
	// ExpiryReason is what session.ended says at ExpiresAt: shift_end or
	// expired.
	ExpiryReason string `json:"expiry_reason,omitempty"`
	// WarnSeconds is the hub's warning schedule (seconds before
	// ExpiresAt); empty: the agent's Config.Warning.
	WarnSeconds []int `json:"warn_seconds,omitempty"`
}

// liveSession is the session as session.json stores it.
type liveSession struct {
	Session
	// Ending is the end reason once the teardown has started, so that an
	// agent restarted in the middle of a teardown finishes it rather than
	// reopening the session; Report says whether the hub must be told
	// (session.end) when it is done.
	Ending string `json:"ending,omitempty"`
	Report bool   `json:"report,omitempty"`
	// SkewMillis is the hub's clock minus the kiosk's, in milliseconds,
	// as last measured (welcome.server_time) when the session's
	// monotonic deadline was set: a restarted agent has no monotonic
	// reference to go on and sets it again from the wall clock and this
	// offset (timers.go), hub or no hub.
	SkewMillis int64 `json:"skew_ms,omitempty"`
	// GrantedAt is when the hub granted the session, by the hub's clock as
	// the agent estimated it (the kiosk's wall clock plus the skew): the
	// session never lasts past GrantedAt plus Config.MaxSession, whatever
	// expires_at the hub gives or moves it to (limits.go).
	GrantedAt time.Time `json:"granted_at,omitzero"`
	// OfflineSince is when, on the kiosk's wall clock, the hub went out of
	// reach with this session open; zero while it is in reach. A restarted
	// agent counts the offline grace from it (Config.OfflineGrace), so
	// that restarting the kiosk (pulling its power) does not start the
	// grace again.
	OfflineSince time.Time `json:"offline_since,omitzero"`
	// BootID names the boot (/proc/sys/kernel/random/boot_id) whose boot
	// clock (BootClock: CLOCK_BOOTTIME, which no step of the wall clock
	// moves) BootEndMillis and BootOfflineMillis are read on. An agent
	// restarted in the same boot ends the session by them as well as by
	// the wall clock, which may have been set back while it was down
	// (restore); in another boot they mean nothing. Empty: not known (a
	// Clock without a boot clock, or a file of an older agent).
	BootID string `json:"boot_id,omitempty"`
	// BootEndMillis is when deadline (b) ends the session (timers.go),
	// in milliseconds on the boot clock.
	BootEndMillis int64 `json:"boot_end_ms,omitempty"`
	// BootOfflineMillis is OfflineSince, in milliseconds on the boot
	// clock; meaningless while OfflineSince is zero.
	BootOfflineMillis int64 `json:"boot_offline_ms,omitempty"`
}
