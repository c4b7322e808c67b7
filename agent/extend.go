package agent

import (
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// EventSessionExtended is an addition to the stdout contract: the hub
// moved the live session's expiry (a supervisor extended the shift, or the
// shift was cut short). Fields: session_id, user, expires_at (the new one),
// ends_at. With a Reason, the hub did not move it but the session's end as
// the kiosk's clock reads it changed: ExtendedReconnected (the offline
// deadline no longer holds) or ExtendedClock (the kiosk's clock moved).
const EventSessionExtended = "session.extended"

// extendPush handles a session.extend push: the live session's expiry
// moves, its timers are re-armed, and the push is acked. One for a session
// that is not open here is acked and ignored.
func (a *Agent) extendPush(env wire.Envelope) {
	var x wire.SessionExtend
	if err := env.Unmarshal(&x); err != nil || x.SessionID == "" || x.ExpiresAt.IsZero() {
		a.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: "session.extend needs session_id and expires_at"})
		return
	}
	if _, cutTo := a.applyExpiry(x); !cutTo.IsZero() {
		a.reply(env.ID, wire.TypeError, wire.Error{Code: wire.ErrBadMessage, Message: fmt.Sprintf(
			"session.extend: expires_at %s is later than this kiosk keeps a session open (%s after its grant): the session ends at %s",
			x.ExpiresAt.UTC().Format(time.RFC3339), a.cfg.MaxSession, cutTo.UTC().Format(time.RFC3339))})
		return
	}
	a.reply(env.ID, wire.TypeAck, nil)
}

// applyExpiry gives the live session the hub's expiry, if it is that
// session and the expiry differs, and reports whether it did. An expiry
// past the latest end the agent accepts (GrantedAt + MaxSession, limits.go)
// is cut to it: cutTo is then that end. The session
// goes back to Active, its monotonic deadline is set again from now (the
// time the hub leaves it now, timers.go), and the warnings and the expiry
// are armed again for the new time (a warning whose time has passed comes
// at once).
func (a *Agent) applyExpiry(x wire.SessionExtend) (moved bool, cutTo time.Time) {
	s := a.session
	if a.state == Verifying && (s == nil || s.ID != x.SessionID) {
		a.early = &x // may be for the session being granted: applied when it opens
		return false, time.Time{}
	}
	if s == nil || s.ID != x.SessionID || (a.state != Active && a.state != Warning) {
		return false, time.Time{}
	}
	if end, cut := a.capExpiry(s, x.ExpiresAt); cut {
		a.log.Warn("the hub moved the session's end past the longest session this kiosk keeps open: cut",
			"session", s.ID, "asked", x.ExpiresAt, "now_ends", end, "max_session", a.cfg.MaxSession)
		x.ExpiresAt, cutTo = end, end
	}
	if s.ExpiresAt.Equal(x.ExpiresAt) && (x.ExpiryReason == "" || expiryReason(x.ExpiryReason) == s.ExpiryReason) {
		return false, cutTo
	}
	a.log.Info("session expiry moved by the hub", "session", s.ID, "from", s.ExpiresAt, "to", x.ExpiresAt)
	s.ExpiresAt = x.ExpiresAt
	if x.ExpiryReason != "" {
		s.ExpiryReason = expiryReason(x.ExpiryReason)
	}
	a.rebase()
	a.persist()
	a.stopTimers()
	a.setState(Active)
	a.warned = 0
	d := a.armTimers()
	a.rearmIdle() // stopTimers stopped it; the extension is no input
	// ends_at is the session's own end, as on session.started, also with
	// the hub out of reach (an early extend applied when a session granted
	// just before the channel dropped opens): the offline deadline is
	// announced by its warning (warnEnd), which applyDue below gives at once
	// when it is due, and which a reconnect takes back; a countdown to it
	// from here would stay on screen after the hub is back.
	a.emit(Event{Event: EventSessionExtended, SessionID: s.ID, User: s.User, ExpiresAt: s.ExpiresAt, EndsAt: a.sessionEnd(a.inputNow())})
	a.applyDue(d)
	return true, cutTo
}

// applyEarlyExtend applies a session.extend that arrived while the login
// of the session that has just opened was under way.
func (a *Agent) applyEarlyExtend() {
	x := a.early
	a.early = nil
	if x != nil && a.session != nil && x.SessionID == a.session.ID {
		a.applyExpiry(*x)
	}
}

// warningLeads are the session's warning lead times, largest first: the
// hub's schedule (session.grant warn_seconds, the usable leads of it:
// warnLeads) or Config.Warning.
func (a *Agent) warningLeads(s *liveSession) []time.Duration {
	if out := a.warnLeads(s.WarnSeconds); len(out) > 0 {
		return out
	}
	return []time.Duration{a.cfg.Warning}
}
