package agent

import (
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// The live session's deadlines — its warnings, expires_at and the idle
// timeout — are wall-clock times: expires_at comes from the hub, the idle
// deadline is the latest input plus Config.IdleTimeout. Timers run on the
// monotonic clock, which stops while the kiosk is suspended and does not
// follow steps of the system clock (golang/go#35012), so a timer armed for
// "in 10 minutes" can fire hours after expires_at on a tablet that slept.
// A timer is therefore only a prompt to read the wall clock: checkClock
// compares Clock.Now with every deadline and acts on what has passed, a
// timer that fires early (the clock was stepped back) is armed again for
// the rest, and while a session is live checkClock also runs every
// clockCheck, so a kiosk woken from a suspend, or whose clock was stepped
// forward, warns or ends the session within clockCheck of the wall clock
// passing the deadline — hub or no hub.

// clockCheck is how often the wall clock is compared with the live
// session's deadlines, whatever the timers do.
const clockCheck = 5 * time.Second

// wallNow is the agent clock's wall-clock reading. time.Now also carries a
// monotonic reading, and comparing two times that both have one compares
// those alone (see package time): the monotonic clock is exactly what the
// deadlines must not follow, so it is stripped.
func (a *Agent) wallNow() time.Time { return a.clock.Now().Round(0) }

// armTimers schedules the warnings and the expiry of the live session that
// are still to come, and the periodic wall-clock check, and returns what is
// due already. Callers arm first and announce after (see applyDue): an
// event seen means every timer of the session it announces is armed, so
// nothing that acts on the event (a test moving its clock, say) can slip
// in between the clock being read and the timers being set.
func (a *Agent) armTimers() due {
	s := a.session
	now := a.wallNow()
	a.warned = 0
	if !now.Before(s.ExpiresAt) {
		return due{expired: true}
	}
	var d due
	for _, lead := range a.warningLeads(s) {
		if warnAt := s.ExpiresAt.Add(-lead); now.Before(warnAt) {
			a.at(warnAt)
		} else {
			// Leads are largest first: the warning times that passed
			// are the first ones.
			a.warned++
			d.warn = true
		}
	}
	a.at(s.ExpiresAt)
	a.checkIn(clockCheck)
	return d
}

// due is what armTimers found had passed: the expiry, or one or more
// warning times.
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

// checkClock brings the live session in line with the wall clock. Once the
// wall clock has passed the idle deadline or expires_at it ends the
// session, with the reason of whichever came first (idle; expired or
// shift_end); otherwise, when it has passed warning times not announced
// yet, it warns once for all of them.
func (a *Agent) checkClock() {
	if !a.state.live() {
		return
	}
	s, now := a.session, a.wallNow()
	idleAt, idles := a.idleDeadline()
	switch {
	case idles && !now.Before(idleAt) && idleAt.Before(s.ExpiresAt):
		a.endIdle(now)
	case !now.Before(s.ExpiresAt):
		a.expire()
	default:
		leads := a.warningLeads(s)
		n := a.warned
		for n < len(leads) && !now.Before(s.ExpiresAt.Add(-leads[n])) {
			n++
		}
		if n > a.warned {
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
	a.emit(Event{Event: EventSessionWarning, SessionID: a.session.ID, User: a.session.User, ExpiresAt: a.session.ExpiresAt})
}

func (a *Agent) expire() {
	if !a.state.live() {
		return
	}
	a.beginEnd(expiryReason(a.session.ExpiryReason), "", true)
}

// expiryReason is the end reason at expiry the hub asked for, if the agent
// knows it, and expired otherwise.
func expiryReason(r string) string {
	if r == wire.ReasonShiftEnd {
		return r
	}
	return wire.ReasonExpired
}

// at runs checkClock on the loop once the wall clock has reached t. The
// timer runs on the monotonic clock: when it fires before t on the wall
// clock, it is armed again for the rest.
func (a *Agent) at(t time.Time) {
	gen := a.timerGen
	a.timers = append(a.timers, a.clock.AfterFunc(t.Sub(a.wallNow()), func() {
		a.post(func() {
			if gen != a.timerGen {
				return
			}
			if a.wallNow().Before(t) {
				a.at(t)
				return
			}
			a.checkClock()
		})
	}))
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

// inputTime is the moment of a worker input on both clocks: the wall clock
// (which goes on during a suspend) and the monotonic one (which steps of
// the system clock do not move).
type inputTime struct {
	wall time.Time
	mono time.Duration
}

// inputNow reads both clocks.
func (a *Agent) inputNow() inputTime {
	return inputTime{wall: a.wallNow(), mono: a.monoNow()}
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
	wall := last.wall.Add(a.cfg.IdleTimeout)
	mono := now.wall.Add(a.cfg.IdleTimeout - (now.mono - last.mono))
	return minTime(wall, mono), true
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

func (a *Agent) endIdle(now time.Time) {
	last, mono := a.lastInput.Load(), a.monoNow()
	a.log.Info("session idle: ending it", "session", a.session.ID, "user", a.session.User,
		"idle_for", max(now.Sub(last.wall), mono-last.mono).Round(time.Second))
	a.beginEnd(wire.ReasonIdle, "", true)
}
