package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/agent/session"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// cleanupReportInterval is the least time between two reports of the
// same failing clean-up (wire.CleanupReport) on one channel. The first
// failed try is reported at once, and so is the state after each
// (re)connection; after that the tries go on every minute (the teardown's
// backoff), and a report per try would put one audit record a minute per
// failing kiosk into the hub's trail for as long as nobody comes, while
// saying nothing new: the kiosk stays locked either way. Ten minutes
// keeps the hub's try count and reason fresh enough for whoever is sent
// to the kiosk, and the trail at six records an hour per kiosk.
const cleanupReportInterval = 10 * time.Minute

// cleanupResendBase paces the sends again, on the same channel, of a
// success the hub did not answer (the request timed out while the channel
// stayed up) or could not record (internal: its store failed): the hub
// counts and shows the kiosk as failing until it takes one, and a channel
// may stay up for days. The n-th waits cleanupResendBase·2^(n-1), at most
// cleanupReportInterval: a hub whose store keeps failing is asked no more
// often than a failing kiosk reports.
const cleanupResendBase = 30 * time.Second

func cleanupResendDelay(n int) time.Duration {
	d := cleanupResendBase
	for i := 1; i < n && d < cleanupReportInterval; i++ {
		d *= 2
	}
	return min(d, cleanupReportInterval)
}

// cleanReport is what the hub is to be told, and has been told, of a
// failing start-up clean-up (cleanup.go). Loop-owned.
type cleanReport struct {
	// The episode: failing from since (zero when it is not), try its
	// latest failed try, reason and session those of that try.
	since   time.Time
	try     int
	reason  string
	session string
	// told: the hub took a failing report of the episode (it then owes
	// a report of the success); toldAt is when (monoNow).
	told   bool
	toldAt time.Duration
	// mayKnow: a failing report of the episode got no answer (it timed
	// out, the channel dropped): the hub may have taken it, and then
	// counts the kiosk as failing until it is told of the success, which
	// it is owed as if told.
	mayKnow bool
	// resend: the channel came up since the last report: the state goes
	// out again whatever the interval (a hub that restarted lost it).
	resend  bool
	sending bool // a report is in flight
	// retry sends the success again on the same channel
	// (cleanupResendBase); retries counts those sends since the hub last
	// answered, or the channel came up; retryGen tells a stopped timer's
	// call, already queued, from the live one's.
	retry    Timer
	retries  int
	retryGen int
	// unsupported: the hub on this channel does not know the message
	// (an older hub): nothing more is sent until the next connection.
	// loggedUnsupported: that was logged, once in the agent's life.
	unsupported, loggedUnsupported bool
}

// cleanupFailing notes a failed try of the clean-up (cleanupDone) and
// reports it if it is the episode's first, or the interval has passed.
func (a *Agent) cleanupFailing(err error) {
	r := &a.cleanReport
	if r.since.IsZero() {
		r.since = a.clock.Now()
	}
	r.try = a.cleanFails
	r.reason = clipText(err.Error(), wire.MaxCleanupReason)
	r.session = leftoverSession(err)
	a.reportCleanup()
}

// cleanupSucceeded notes that a try succeeded after failed ones: the hub
// is told if it was told of the failure (or may have been: a report in
// flight).
func (a *Agent) cleanupSucceeded() {
	a.cleanReport.since = time.Time{}
	a.reportCleanup()
}

// cleanupReconnected sends the clean-up's state again on a new channel:
// a report made while the kiosk was offline went nowhere, and a hub that
// restarted forgot the one it took.
func (a *Agent) cleanupReconnected() {
	a.stopCleanupResend()
	a.cleanReport.unsupported = false
	a.cleanReport.resend = true
	a.reportCleanup()
}

// reportCleanup sends the report that is due, if any, without blocking
// the loop.
func (a *Agent) reportCleanup() {
	r := &a.cleanReport
	if !a.connected || r.sending || r.unsupported {
		return
	}
	var rep wire.CleanupReport
	switch {
	case !r.since.IsZero():
		if r.told && !r.resend && a.monoNow()-r.toldAt < cleanupReportInterval {
			return
		}
		rep = wire.CleanupReport{Failing: true, Try: r.try, Since: r.since, Reason: r.reason, SessionID: r.session}
	case (r.told || r.mayKnow) && !a.unclean:
		// Not while this run's first try has not answered: a failure an
		// earlier run reported (CleanupFile) is over only once a try of
		// this one succeeds.
		rep = wire.CleanupReport{Try: r.try, SessionID: r.session}
	default:
		r.resend = false
		return
	}
	r.sending, r.resend = true, false
	if rep.Failing {
		a.saveCleanupReport(rep)
	}
	a.spawn(func(ctx context.Context) {
		_, err := a.hub.Request(ctx, wire.TypeCleanupReport, rep)
		a.post(func() { a.cleanupReported(rep, err) })
	})
}

// cleanupReported takes the hub's answer to rep. A hub that does not know
// the message (an older one) cannot record it: that is logged once, and
// is no failure of the kiosk. One that refused or could not record it is
// not asked again before the interval, as it would answer the same, but
// a success it could not record goes again (resendCleanup). A failing
// report lost in transit goes again with the next failed try, or on the
// next channel; a success, on the next channel or after
// cleanupResendDelay, whichever comes first.
func (a *Agent) cleanupReported(rep wire.CleanupReport, err error) {
	r := &a.cleanReport
	r.sending = false
	var re *RemoteError
	switch {
	case err == nil:
	case errors.As(err, &re) && re.Code == wire.ErrUnknownType:
		// The answer of the hub on the channel the report went out on:
		// when a new channel came up while it was in flight, the hub
		// there may be another one (upgraded, or behind another replica)
		// and is asked at once, as its reconnect promised, not taken for
		// the old one until the connection after it.
		if r.resend {
			a.reportCleanup()
			return
		}
		r.unsupported = true
		if !r.loggedUnsupported {
			r.loggedUnsupported = true
			a.log.Info("the hub cannot record that the start-up clean-up fails (it does not know cleanup.report: an older hub); only this kiosk's log and events say so")
		}
		return
	case errors.As(err, &re) && re.Code == wire.ErrInternal && !rep.Failing:
		// Its store failed: the success goes again (told is kept), lest
		// the hub's trail end on the failure and the kiosk be counted as
		// failing for as long as this channel stays up. A channel that
		// came up while it was in flight sends it at once, as its
		// reconnect promised.
		if r.resend {
			a.log.Warn("the hub could not record that the start-up clean-up succeeded; sent again on the new connection", "try", rep.Try, "message", re.Message)
			a.reportCleanup()
			return
		}
		d := a.resendCleanup()
		a.log.Warn("the hub could not record that the start-up clean-up succeeded; sent again later", "try", rep.Try, "message", re.Message, "retry_in", d)
		return
	case errors.As(err, &re):
		a.log.Warn("the hub did not record the start-up clean-up's report", "failing", rep.Failing, "try", rep.Try, "code", re.Code, "message", re.Message)
	default:
		a.log.Warn("the start-up clean-up's report did not reach the hub; sent again later", "failing", rep.Failing, "try", rep.Try, "err", err)
		if rep.Failing {
			r.mayKnow = true
		}
		// Once: a channel that came up meanwhile, or the success that
		// came while the failure was in flight. A lost success goes
		// again on this channel too, paced: the hub may have taken it,
		// or not, and a channel that stays up brings no resend.
		switch {
		case r.resend || rep.Failing && r.since.IsZero():
			a.reportCleanup()
		case !rep.Failing:
			a.resendCleanup()
		}
		return
	}
	a.stopCleanupResend()
	if rep.Failing {
		r.told, r.toldAt = true, a.monoNow()
	} else {
		// The clean-up is not tried again once a try succeeded: the
		// episode is over for good.
		r.told, r.mayKnow = false, false
		a.dropCleanupReport()
	}
	a.reportCleanup() // what changed while it was in flight
}

// resendCleanup sends the report that is due again after
// cleanupResendDelay, and returns that delay. It is for a success: a
// failing report goes again with the next failed try.
func (a *Agent) resendCleanup() time.Duration {
	r := &a.cleanReport
	if r.retry != nil {
		r.retry.Stop()
	}
	r.retries++
	r.retryGen++
	gen, d := r.retryGen, cleanupResendDelay(r.retries)
	r.retry = a.clock.AfterFunc(d, func() {
		a.post(func() {
			if r.retryGen != gen {
				return // stopped, or replaced
			}
			r.retry = nil
			a.reportCleanup()
		})
	})
	return d
}

// stopCleanupResend stops resendCleanup's timer, and starts its pace over:
// the hub answered, or a new channel sends the state at once.
func (a *Agent) stopCleanupResend() {
	r := &a.cleanReport
	if r.retry != nil {
		r.retry.Stop()
		r.retry = nil
	}
	r.retries = 0
	r.retryGen++
}

// cleanupFile is CleanupFile: a failing clean-up that a hub may have been
// told of, kept until a hub took its success. The hub counts the kiosk as
// failing until it is told of the success; without the file, an agent
// restarted while it failed (the kiosk rebooted by whoever was sent to
// it) whose first try then succeeds would owe it nothing, and the console
// and shiftgate_kiosks_cleanup_failing would count the kiosk as failing
// until the hub restarts.
type cleanupFile struct {
	Try     int    `json:"try"`
	Session string `json:"session_id,omitempty"`
}

// loadCleanupReport takes the failing clean-up an earlier run reported
// (CleanupFile), if any: this run owes the hub its success. An unreadable
// file is taken as one failed try: the hub may know of it all the same.
func (a *Agent) loadCleanupReport() {
	var f cleanupFile
	err := readJSON(filepath.Join(a.cfg.StateDir, CleanupFile), &f)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		a.log.Warn("the record of a failing start-up clean-up an earlier run reported cannot be read; its success is reported all the same", "err", err)
		f = cleanupFile{}
	}
	if f.Try < 1 || f.Try > wire.MaxCleanupTry {
		f.Try = 1
	}
	if len(f.Session) > wire.MaxCleanupSessionID || !wire.ValidSessionID(f.Session) {
		f.Session = ""
	}
	a.cleanReport.mayKnow, a.cleanReport.try, a.cleanReport.session = true, f.Try, f.Session
}

// saveCleanupReport keeps rep, a failing report about to be sent, for a
// later run (CleanupFile). A failure to write it (the disk that may be
// why the clean-up fails) is logged: this run still reports the success.
func (a *Agent) saveCleanupReport(rep wire.CleanupReport) {
	if err := writeJSON(filepath.Join(a.cfg.StateDir, CleanupFile), cleanupFile{Try: rep.Try, Session: rep.SessionID}); err != nil {
		a.log.Warn("cannot keep the failing start-up clean-up's report for a restart: if the agent restarts before it succeeds, the hub is not told of the success", "err", err)
	}
}

// dropCleanupReport removes CleanupFile once a hub took the success.
func (a *Agent) dropCleanupReport() {
	if err := os.Remove(filepath.Join(a.cfg.StateDir, CleanupFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("cannot remove the record of the failing start-up clean-up: the next start reports its success again", "err", err)
	}
}

// leftoverSession is the session a failed clean-up names
// (session.LeftoverError), or "".
func leftoverSession(err error) string {
	var le *session.LeftoverError
	if errors.As(err, &le) && len(le.Session) <= wire.MaxCleanupSessionID && session.ValidID(le.Session) {
		return le.Session
	}
	return ""
}

// clipText cuts s to at most limit bytes, between two characters, marked
// as cut, and makes it valid UTF-8 (the hub refuses a frame that is not).
func clipText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	const mark = "…(cut)"
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
