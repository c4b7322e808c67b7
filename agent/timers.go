package agent

import (
	"math"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The live session ends at whichever comes first:
//
//   - (a) the wall clock passing expires_at. Timers run on the monotonic
//     clock, which stops while the kiosk is suspended (golang/go#35012), so
//     a timer armed for "in 10 minutes" can fire hours after expires_at on a
//     tablet that slept; only the wall clock sees the time that went by.
//   - (b) the monotonic clock running, from the moment the deadline was set,
//     the time the hub left the session then: expires_at minus the hub's
//     time, estimated as the kiosk's wall clock plus the skew last measured
//     (welcome.server_time; Agent.skew). A step of the system clock (a local
//     admin, a bad NTP step) does not move the monotonic clock, so setting
//     the clock back does not lengthen the session, and a kiosk clock behind
//     the hub's does not lengthen it by the offset either.
//
// (b) is set (rebase) at the grant, at a session.extend, at every welcome
// while the session is live (the hub's time read afresh), and, for a
// session restored after a restart, from the wall clock and the skew
// persisted with the session (liveSession.SkewMillis), and in the same
// boot no later than (b) as it was kept on the boot clock
// (liveSession.BootEndMillis, markBoot), which a wall clock set back while
// the agent was down does not move. Both deadlines are
// handled as wall-clock times seen from now (endAt), as the idle timeout's
// are; the warnings come their leads before that end. A timer is only a
// prompt to look at both clocks: checkClock compares the wall clock with
// every deadline and acts on what has passed, a timer that fires before its
// deadline (the clock was stepped back, and (a) is the one it was armed
// for) is armed again for the rest, and while a session is live checkClock
// also runs every clockCheck, so a kiosk woken from a suspend, or whose
// clock was stepped forward, warns or ends the session within clockCheck of
// the wall clock passing the deadline — hub or no hub.
//
// The hub's time is estimated from the wall clock, so a step of the kiosk's
// clock between a welcome and a grant or extension goes into (b) until the
// next welcome measures the skew again. A kiosk clock ahead of the hub's
// ends sessions early by the offset, through (a), as it always did: the
// early side is the safe one. A kiosk clock behind the hub's also ends a
// session when its wall clock plus the skew passes expires_at (c, see
// endAt), so a suspend does not lengthen the session by the offset. The
// idle timeout is a local duration, measured on both clocks from the latest
// input (idleDeadlineFrom), and so is the offline grace, from when the hub
// was lost (offlineEnd): endAt takes the earlier of the session's end and
// the offline deadline. The warnings count down to the same end, except
// that the offline deadline is announced only once the hub has been out
// of reach for offlineWarnSettle (warnEnd), so that a network blip does
// not flash a warning on the worker's screen.

// clockCheck is how often the clocks are compared with the live session's
// deadlines, whatever the timers do.
const clockCheck = 5 * time.Second

// endsAtTolerance is how far the live session's end on the wall clock may
// move from the ends_at last announced before the agent announces it
// again (session.extended, reason clock: announceMovedEnd). A step of the
// kiosk's clock moves it by the size of the step; reading the two clocks a
// moment apart, or NTP slewing the wall clock, by a little.
const endsAtTolerance = 2 * time.Second

// maxLeft bounds the time (b) gives a session either way, so that an
// expires_at centuries away does not overflow the monotonic deadline; (a)
// still applies.
const maxLeft = time.Duration(math.MaxInt64 / 4)

// wallNow is the agent clock's wall-clock reading. time.Now also carries a
// monotonic reading, and comparing two times that both have one compares
// those alone (see package time): deadline (a) and the idle timeout's wall
// clock must not follow it, so it is stripped.
func (a *Agent) wallNow() time.Time { return a.clock.Now().Round(0) }

// rebase sets deadline (b) of the live session from now: the monotonic
// clock ends it once it has run expires_at minus the hub's time now (the
// wall clock plus the last known skew). The skew used is kept with the
// session, for a restart; it reports whether that changed.
func (a *Agent) rebase() (skewChanged bool) { return a.rebaseWithin(maxLeft) }

// rebaseWithin is rebase, leaving the session at most limit from now: a
// restored session's time left on the boot clock (restore).
func (a *Agent) rebaseWithin(limit time.Duration) (skewChanged bool) {
	s, now := a.session, a.inputNow()
	skew := time.Duration(a.skew.Load())
	left := min(max(s.ExpiresAt.Sub(now.wall.Add(skew)), -maxLeft), maxLeft, max(limit, -maxLeft))
	a.monoEnd = now.mono + left
	ms := skew.Milliseconds()
	skewChanged = s.SkewMillis != ms
	s.SkewMillis = ms
	return skewChanged
}

// endAt is when, on the wall clock seen from now, the live session ends:
// expires_at (a), or the wall-clock time at which the monotonic clock
// reaches deadline (b), whichever is earlier; and, for a kiosk clock
// behind the hub's, (c) the wall clock plus the last known skew passing
// expires_at. Without (c), such a kiosk suspended with the hub
// unreachable ended the session late by the offset: (b) stops while it
// sleeps, and (a) reads the kiosk's slow clock. (c) only ever ends a
// session earlier, the safe side; a clock stepped forward after the skew
// was measured ends it early until the next welcome measures it again.
// With the hub out of reach, the offline deadline (offlineEnd) too, if it
// comes first.
func (a *Agent) endAt(now inputTime) time.Time {
	end := a.sessionEnd(now)
	if off, ok := a.offlineEnd(now); ok {
		end = minTime(end, off)
	}
	return end
}

// sessionEnd is endAt without the offline deadline: the end the hub gave
// the session.
func (a *Agent) sessionEnd(now inputTime) time.Time {
	end := minTime(a.session.ExpiresAt, now.wall.Add(a.monoEnd-now.mono))
	if skew := time.Duration(a.skew.Load()); skew > 0 {
		end = minTime(end, a.session.ExpiresAt.Add(-skew))
	}
	return end
}

// offlineEnd is when, on the wall clock seen from now, the live session
// ends because the hub has been out of reach for Config.OfflineGrace,
// counted from when the channel was lost (or the agent started). As for
// the idle timeout (idleDeadlineFrom), the grace has run out once either
// clock has run it: the wall clock covers a suspend (the monotonic clock
// stops while the kiosk sleeps, and a kiosk asleep with the hub out of
// reach for hours must not wake with the session open), the monotonic
// clock a step of the system clock (setting the clock back does not hold
// the end back). ok is false while the channel is up, or with no grace
// set.
//
// A restarted agent counts from the wall-clock time the hub was lost
// with the session open, kept with the session (liveSession.OfflineSince,
// restore), not from its own start.
func (a *Agent) offlineEnd(now inputTime) (time.Time, bool) {
	if a.cfg.OfflineGrace <= 0 || a.offlineSince == nil {
		return time.Time{}, false
	}
	return a.offlineSince.after(a.cfg.OfflineGrace, now), true
}

// offlineBound reports whether the offline deadline is what ends the live
// session, not the end the hub gave it.
func (a *Agent) offlineBound(now inputTime) bool {
	off, ok := a.offlineEnd(now)
	return ok && off.Before(a.sessionEnd(now))
}

// maxOfflineWarnSettle bounds offlineWarnSettle: long enough for the
// reconnects of a network blip (the first retries of the backoff come
// within 0.25, 0.5, 1, 2 and 4 s, 7.75 s in all at the most), short enough
// to take little of the warning from a worker whose hub has really gone.
const maxOfflineWarnSettle = 10 * time.Second

// offlineWarnSettle is how long the hub must have been out of reach before
// the offline deadline is announced (session.warning, reason offline):
// maxOfflineWarnSettle, or a quarter of the grace when that is shorter, so
// that a short grace still leaves the warning most of it. Without it, a
// grace shorter than (or close to) the warning lead put the offline
// deadline inside the warning window the moment the channel dropped, and
// every blip flashed a warning and its session.extended (reason
// reconnected) on the worker's screen. It delays the warning only: the
// session still ends at the offline deadline (offlineEnd), which is always
// later than the settle time (a quarter of the grace at the most).
func offlineWarnSettle(grace time.Duration) time.Duration {
	return min(maxOfflineWarnSettle, grace/4)
}

// offlineSettleAt is when, on the wall clock seen from now, the hub will
// have been out of reach for offlineWarnSettle, counted on both clocks
// from offlineSince as the grace is (offlineEnd); ok is false while the
// channel is up, or with no grace set.
func (a *Agent) offlineSettleAt(now inputTime) (time.Time, bool) {
	if a.cfg.OfflineGrace <= 0 || a.offlineSince == nil {
		return time.Time{}, false
	}
	return a.offlineSince.after(offlineWarnSettle(a.cfg.OfflineGrace), now), true
}

// offlineSettling reports whether the hub is out of reach and has not been
// for offlineWarnSettle yet.
func (a *Agent) offlineSettling(now inputTime) bool {
	at, ok := a.offlineSettleAt(now)
	return ok && now.wall.Before(at)
}

// offlineWarns reports whether the live session's warnings are for the
// offline deadline: it is the nearer end (offlineBound) and the hub has
// been out of reach for offlineWarnSettle. Until then they are for the
// session's own end, as if the hub were in reach.
func (a *Agent) offlineWarns(now inputTime) bool {
	return a.offlineBound(now) && !a.offlineSettling(now)
}

// warnEnd is the end the live session's warnings count down to: endAt
// once offlineWarns, the session's own end (sessionEnd) otherwise.
func (a *Agent) warnEnd(now inputTime) time.Time {
	if a.offlineWarns(now) {
		return a.endAt(now)
	}
	return a.sessionEnd(now)
}

// warningsEnd is warnEnd for the callers that count warning times
// (armTimers, checkClock), and brings a.warned in line with it: when the
// offline deadline takes over from the session's own end, the warnings
// announced for the latter do not count, and the worker is warned again,
// for the nearer end (session.warning, reason offline), also when a
// warning for the session's own end is on screen.
func (a *Agent) warningsEnd(now inputTime) time.Time {
	off := a.offlineWarns(now)
	if off && !a.warnsOffline {
		a.warned = 0
	}
	a.warnsOffline = off
	return a.warnEnd(now)
}

// shownEnd is the ends_at last announced for the live session (on
// session.started, session.warning or session.extended): what a screen
// counts down to.
type shownEnd struct {
	at time.Time
	// offline: it was the offline deadline (offlineEnd), nearer than the
	// session's own end.
	offline bool
}

// noteShown records the ends_at of e, an event about to be emitted, when
// it announces one for the live session.
func (a *Agent) noteShown(e Event) {
	if e.EndsAt.IsZero() || a.session == nil || e.SessionID != a.session.ID {
		return
	}
	own := a.sessionEnd(a.inputNow())
	a.shown = shownEnd{at: e.EndsAt, offline: e.EndsAt.Before(own.Add(-endsAtTolerance))}
}

// announceMovedEnd emits session.extended (reason clock) when the live
// session's end has moved more than endsAtTolerance on the wall clock from
// the ends_at last announced, and reports whether it did. The agent keeps
// the session's real end when the kiosk's clock is stepped (deadline b),
// but that end then reads another wall-clock time, and a screen counting
// down to the old ends_at would be off by the step. The same happens when a
// suspend moves deadline (b) on the wall clock, and when a welcome measures
// the hub's clock afresh (resync).
//
// The end is compared, and announced, as it was announced last: the
// session's own end (sessionEnd), or, when that ends_at was the offline
// deadline, the nearer of the two (endAt). So the offline deadline becoming
// the nearer end while the hub is away announces nothing here (its
// session.warning, reason offline, does), and neither does the hub coming
// back (backInReach: session.extended, reason reconnected). The state and
// the warnings announced are left as they are: in Warning, the callers
// repeat the warning, which a screen took session.extended to end.
func (a *Agent) announceMovedEnd(now inputTime) bool {
	if !a.state.live() {
		return false
	}
	end := a.sessionEnd(now)
	if a.shown.offline {
		if a.offlineSince == nil {
			return false
		}
		end = a.endAt(now)
	}
	moved := end.Sub(a.shown.at)
	if moved <= endsAtTolerance && moved >= -endsAtTolerance {
		return false
	}
	s := a.session
	a.log.Info("the session's end moved on the kiosk's clock: announced again", "session", s.ID,
		"announced", a.shown.at, "ends_at", end, "moved", moved.Round(time.Second))
	a.emit(Event{Event: EventSessionExtended, SessionID: s.ID, User: s.User, ExpiresAt: s.ExpiresAt, EndsAt: end, Reason: ExtendedClock})
	return true
}

// armTimers schedules the warnings and the end of the live session that
// are still to come, the periodic check and, while the hub has been out of
// reach for less than offlineWarnSettle, the settle (afterSettle), and
// returns what is due already. Warning times counted in a.warned have been
// announced and are not announced again: callers starting a new schedule
// (a session opened or restored, expires_at moved) reset it first. Callers
// arm first and announce after (see applyDue): an event seen means every
// timer of the session it announces is armed, so nothing that acts on the
// event (a test moving its clock, say) can slip in between the clocks
// being read and the timers being set.
func (a *Agent) armTimers() due {
	now := a.inputNow()
	if !now.wall.Before(a.endAt(now)) {
		return due{expired: true}
	}
	var d due
	passed := 0
	end := a.warningsEnd(now)
	for _, lead := range a.warningLeads(a.session) {
		if now.wall.Before(end.Add(-lead)) {
			a.before(lead)
		} else {
			// Leads are largest first: the warning times that passed
			// are the first ones.
			passed++
		}
	}
	if passed > a.warned {
		a.warned = passed
		d.warn = true
	}
	a.before(0)
	if a.offlineSettling(now) {
		a.afterSettle()
	}
	a.checkIn(clockCheck)
	return d
}

// due is what armTimers found had passed: the end, or one or more warning
// times.
type due struct{ expired, warn bool }

// applyDue ends an expired session, or warns once however many warning
// times have passed.
func (a *Agent) applyDue(d due) {
	switch {
	case d.expired:
		a.expire()
	case d.warn:
		a.warn()
	}
}

// checkClock brings the live session in line with the clocks. Once the idle
// deadline or the session's end (endAt) has passed it ends the session,
// with the reason of whichever came first (idle; expired or shift_end).
// Otherwise it announces the session's end again when it has moved on the
// wall clock (announceMovedEnd), and, when warning times not announced yet
// have passed, it warns once for all of them; in Warning, a session.extended
// is followed by the warning again, with the end corrected, since a screen
// takes session.extended for the end of the countdown.
func (a *Agent) checkClock() {
	if !a.state.live() {
		return
	}
	s, now := a.session, a.inputNow()
	end := a.endAt(now)
	// The idle deadline seen from the same reading of the clocks (input
	// stored since is newer than now: its deadline is later than now plus
	// the timeout).
	last := a.lastInput.Load()
	idleAt, idles := a.idleDeadlineFrom(last, now)
	switch {
	case idles && !now.wall.Before(idleAt) && idleAt.Before(end):
		a.endIdle(last, now)
	case !now.wall.Before(end):
		a.expire()
	default:
		moved := a.announceMovedEnd(now)
		leads := a.warningLeads(s)
		warnEnd := a.warningsEnd(now)
		n := a.warned
		for n < len(leads) && !now.wall.Before(warnEnd.Add(-leads[n])) {
			n++
		}
		if n > a.warned || (moved && a.state == Warning) {
			a.warned = n
			a.warn()
		}
	}
}

// warn emits session.warning: the first one turns Active into Warning,
// later ones (the hub's schedule has several) repeat it.
func (a *Agent) warn() {
	if !a.state.live() {
		return
	}
	a.setState(Warning)
	now := a.inputNow()
	e := Event{Event: EventSessionWarning, SessionID: a.session.ID, User: a.session.User, ExpiresAt: a.session.ExpiresAt,
		EndsAt: a.warnEnd(now)}
	if a.offlineWarns(now) {
		e.Reason = wire.ReasonOffline
	}
	a.offlineWarned = e.Reason == wire.ReasonOffline
	a.emit(e)
}

func (a *Agent) expire() {
	if !a.state.live() {
		return
	}
	reason := expiryReason(a.session.ExpiryReason)
	if a.offlineBound(a.inputNow()) {
		reason = wire.ReasonOffline
		a.log.Warn("ending the session: the hub has been out of reach too long", "session", a.session.ID,
			"offline_grace", a.cfg.OfflineGrace)
	}
	a.beginEnd(reason, "", true)
}

// expiryReason is the end reason at expiry the hub asked for, if the agent
// knows it, and expired otherwise.
func expiryReason(r string) string {
	if r == wire.ReasonShiftEnd {
		return r
	}
	return wire.ReasonExpired
}

// before runs checkClock on the loop once lead is left until the live
// session's end (0: at the end; a warning lead counts from warnEnd). The
// timer runs on the monotonic clock and the end is read again when it
// fires: when the time has not come yet (the wall clock was stepped back
// and deadline (a) was the earlier one), it is armed again for the rest.
func (a *Agent) before(lead time.Duration) {
	gen := a.timerGen
	a.timers = append(a.timers, a.clock.AfterFunc(a.untilBefore(lead), func() {
		a.post(func() {
			if gen != a.timerGen {
				return
			}
			if a.untilBefore(lead) > 0 {
				a.before(lead)
				return
			}
			a.checkClock()
		})
	}))
}

// untilBefore is the time left until lead before the live session's end:
// endAt for the end itself (lead 0), warnEnd for a warning.
func (a *Agent) untilBefore(lead time.Duration) time.Duration {
	now := a.inputNow()
	end := a.endAt(now)
	if lead > 0 {
		end = a.warnEnd(now)
	}
	return end.Add(-lead).Sub(now.wall)
}

// afterSettle re-arms the live session's timers on the loop once the hub
// has been out of reach for offlineWarnSettle: the warnings then count
// down to the offline deadline (warnEnd), and one whose time has passed
// comes at once (session.warning, reason offline). Armed by armTimers
// while the hub has been out of reach for less; a timer that fires early
// (the settle time is read again, as before does) is armed again for the
// rest, and one whose session moved on meanwhile does nothing (timerGen).
func (a *Agent) afterSettle() {
	at, _ := a.offlineSettleAt(a.inputNow())
	gen := a.timerGen
	a.timers = append(a.timers, a.clock.AfterFunc(max(at.Sub(a.wallNow()), 0), func() {
		a.post(func() {
			if gen != a.timerGen || !a.state.live() {
				return
			}
			if a.offlineSettling(a.inputNow()) {
				a.afterSettle()
				return
			}
			a.applyDue(a.rearmOnly())
		})
	}))
}

// resync sets deadline (b) of the live session again after a welcome, with
// the skew it has just measured, and re-arms the timers for it; warnings
// already announced are not repeated. It covers what the monotonic clock
// missed (a suspend) and a stale skew (the kiosk's clock was stepped while
// the agent was down). It emits e, or announces a moved end, as rearm
// does.
func (a *Agent) resync(e *Event, announce bool) {
	if !a.state.live() {
		return
	}
	if a.rebase() {
		a.persist()
	}
	a.rearm(e, announce)
}

// rearm arms the live session's timers again for its end as endAt has it
// now (the offline deadline came or went), without setting deadline (b)
// again: only a welcome's server_time says anything new about the hub's
// clock, and setting (b) from the wall clock and an old skew would let a
// step of the kiosk's clock since lengthen the session. Warnings already
// announced are not repeated. It emits e (if not nil: a session.extended,
// with its EndsAt set to the session's own end, sessionEnd, never the
// offline deadline) once the timers are armed and before what is due is
// applied, unless the session's end has passed: the session ends instead,
// and an event saying it goes on would be a lie. Without e, and with
// announce, it announces the session's end again if it has moved on the
// wall clock (announceMovedEnd; in Warning, the warning follows again);
// the caller passes announce false when the session's end follows at once
// (a welcome that revokes it), so that a screen does not show it again
// first.
func (a *Agent) rearm(e *Event, announce bool) {
	if !a.state.live() {
		return
	}
	d := a.rearmOnly()
	switch {
	case d.expired:
	case e != nil:
		e.EndsAt = a.sessionEnd(a.inputNow())
		a.emit(*e)
	case announce && a.announceMovedEnd(a.inputNow()) && a.state == Warning:
		d.warn = true // the warning again, after session.extended
	}
	a.applyDue(d)
}

// rearmOnly is rearm's arming: the live session's timers and idle timer
// armed again, and what is due already returned for the caller to apply
// (applyDue) once it has said what it has to say.
func (a *Agent) rearmOnly() due {
	a.stopTimers()
	d := a.armTimers()
	a.rearmIdle()
	return d
}

// checkSoon queues checkClock for the loop without waiting: from any
// goroutine. When the queue is full the periodic check does it.
func (a *Agent) checkSoon() {
	select {
	case a.in <- a.checkClock:
	default:
	}
}

// checkIn schedules the periodic checkClock, which re-arms itself while
// the session is live: it notices the deadlines that passed while the
// timers stood still.
func (a *Agent) checkIn(d time.Duration) {
	gen := a.timerGen
	a.check = a.clock.AfterFunc(d, func() {
		a.post(func() {
			if gen != a.timerGen {
				return
			}
			a.checkClock()
			if gen == a.timerGen {
				a.checkIn(clockCheck)
			}
		})
	})
}

func (a *Agent) stopTimers() {
	for _, t := range a.timers {
		t.Stop()
	}
	a.timers = nil
	for _, t := range []Timer{a.idle, a.check} {
		if t != nil {
			t.Stop()
		}
	}
	a.idle, a.check = nil, nil
	a.timerGen++
}

// --- idle timeout -------------------------------------------------------

// inputTime is a moment on both clocks — a worker input, or now: the wall
// clock (which goes on during a suspend) and the monotonic one (which steps
// of the system clock do not move).
type inputTime struct {
	wall time.Time
	mono time.Duration
}

// inputNow reads both clocks, at one instant: a Clock whose Now carries a
// monotonic reading (SystemClock) is read once, a MonotonicClock with
// Read. Read apart, a pause between the reads (the goroutine descheduled,
// the clock moved meanwhile) made one reading newer than the other by the
// pause: with the monotonic one newer, the idle deadline came that much
// early, and a worker who had just touched the screen was signed out as
// idle; with the wall one newer, the session's end read that much later on
// the wall clock, and a wrong ends_at was announced (announceMovedEnd).
func (a *Agent) inputNow() inputTime {
	if m, ok := a.clock.(MonotonicClock); ok {
		wall, mono := m.Read()
		return inputTime{wall: wall.Round(0), mono: mono}
	}
	t := a.clock.Now()
	return inputTime{wall: t.Round(0), mono: t.Sub(processStart)}
}

// after is when d has run since t on either clock, whichever comes first,
// as the wall-clock time seen from now: the monotonic deadline is given as
// the wall-clock time it comes at.
func (t inputTime) after(d time.Duration, now inputTime) time.Time {
	return minTime(t.wall.Add(d), now.wall.Add(d-(now.mono-t.mono)))
}

// touch records worker input now, whatever came before: the opening of a
// session counts as input.
func (a *Agent) touch() {
	now := a.inputNow()
	a.lastInput.Store(&now)
}

// idleDeadline is when, on the wall clock, the live session idles without
// further input; ok is false when there is no idle timeout.
func (a *Agent) idleDeadline() (at time.Time, ok bool) {
	return a.idleDeadlineFrom(a.lastInput.Load(), a.inputNow())
}

// idleDeadlineFrom is the idle deadline after input last, seen at now. The
// session idles when either clock has run IdleTimeout since the input: the
// wall clock covers a suspend (the monotonic clock stops), the monotonic
// clock a step of the system clock (NTP setting back a kiosk that ran
// fast must not postpone the timeout by the size of the step). The
// monotonic deadline is given as the wall-clock time it comes at, seen
// from now.
func (a *Agent) idleDeadlineFrom(last *inputTime, now inputTime) (at time.Time, ok bool) {
	if a.cfg.IdleTimeout <= 0 {
		return time.Time{}, false
	}
	return last.after(a.cfg.IdleTimeout, now), true
}

// armIdle starts the idle timeout of a session that has just opened (or
// been restored): the opening counts as input.
func (a *Agent) armIdle() {
	if a.cfg.IdleTimeout <= 0 {
		return
	}
	a.touch()
	a.idleCheckIn(a.cfg.IdleTimeout)
}

// rearmIdle arms the idle timer again for the latest input, after
// stopTimers stopped it with the session going on (session.extend).
func (a *Agent) rearmIdle() {
	if at, ok := a.idleDeadline(); ok {
		a.idleCheckIn(max(at.Sub(a.wallNow()), 0))
	}
}

// idleCheckIn schedules checkIdle. There is one idle timer, re-armed from
// the latest input, rather than one per input event.
func (a *Agent) idleCheckIn(d time.Duration) {
	if a.idle != nil {
		a.idle.Stop()
	}
	gen := a.timerGen
	a.idle = a.clock.AfterFunc(d, func() {
		a.post(func() {
			if gen == a.timerGen {
				a.checkIdle()
			}
		})
	})
}

// checkIdle ends the live session when the wall clock has passed its idle
// deadline, and otherwise checks again at the deadline the latest input
// set.
func (a *Agent) checkIdle() {
	if !a.state.live() {
		return
	}
	at, _ := a.idleDeadline()
	if left := at.Sub(a.wallNow()); left > 0 {
		a.idleCheckIn(left)
		return
	}
	a.checkClock() // idle, or expired if expires_at came first
}

// endIdle ends the live session, idle since the input last as checkClock
// found it at now. The idle time logged is that of the readings that
// decided: the monotonic clock read again here had moved on from them (a
// loop held up between the reads), and a worker signed out at the timeout
// was logged idle for that much longer (inputNow had the same bug).
func (a *Agent) endIdle(last *inputTime, now inputTime) {
	a.log.Info("session idle: ending it", "session", a.session.ID, "user", a.session.User,
		"idle_for", max(now.wall.Sub(last.wall), now.mono-last.mono).Round(time.Second))
	a.beginEnd(wire.ReasonIdle, "", true)
}
