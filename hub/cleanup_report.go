package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// cleanupAuditInterval is the least time between two device.cleanup_failed
// records of one kiosk, whatever episode each report names. Agents report
// the first failed try at once and then one report per ten minutes
// (agent's cleanupReportInterval), and the state again on every new
// channel: a kiosk whose network comes and goes would otherwise write a
// record per connection, and one whose agent restarts in a loop (a new
// since each run) or that is not what it claims (it makes up a since per
// report) a record per message. A kiosk must not write the trail at will.
// The in-memory state (since, try, reason) is updated by every report all
// the same.
//
// A failure after a recorded success (device.cleanup_done) is a new
// episode, and its first report is recorded within the interval all the
// same, or the trail would say the kiosk was cleaned up while it was
// locked again: an agent tries the clean-up no more once it succeeded, so
// that is a new run of it (the kiosk restarted) failing again. Those
// records are bounded too: at most cleanupAuditEpisodes device.cleanup_failed
// in any cleanupAuditInterval, and as many device.cleanup_done closing
// them, however fast a kiosk makes up failures and successes.
const (
	cleanupAuditInterval = 10 * time.Minute
	cleanupAuditEpisodes = 3
)

// cleanupFailures is, per kiosk, the start-up clean-up that its agent
// reports failing (wire.CleanupReport): the kiosk is locked and signs
// nobody in, and the last worker's programs or files may have survived
// there. It lives in memory: an entry goes when the kiosk reports the
// success or is disabled, not when its channel drops (a kiosk that went
// away while it failed has not been cleaned up), and a hub that restarts
// learns it again from the kiosk's next hello (agents send the state
// again on every new channel).
type cleanupFailures struct {
	mu sync.Mutex
	m  map[string]cleanupFailure // device ID → its failing clean-up
	// audits are, per kiosk that has reported, the clean-up records it
	// has in the trail: kept after the success (or the pace of the
	// records would start again with each episode), one small entry per
	// kiosk that ever reported since the hub started.
	audits map[string]cleanupAudits
	// lines paces the log lines of the reports that write no audit
	// record, as kiosks' error messages are paced (kioskErrorLog): the
	// record is written at most once per cleanupAuditInterval, but a
	// kiosk may send reports as fast as it can write.
	lines kioskErrorLog
}

// cleanupFailure is one kiosk's failing clean-up, as last reported.
type cleanupFailure struct {
	Since     time.Time // the first failed try, by the kiosk's clock
	Try       int       // the latest failed try
	Reason    string    // its failure, cut short
	SessionID string    // the leftover session it failed on, if known
	Reported  time.Time // when the hub was first told, by its clock
}

// cleanupAudits is what one kiosk's clean-up reports have written.
type cleanupAudits struct {
	// failed are the latest device.cleanup_failed records, the latest
	// first, zero before.
	failed [cleanupAuditEpisodes]time.Time
	// open: the latest has no device.cleanup_done after it; a success
	// is recorded only to close one (or once, for a kiosk the hub knows
	// nothing of, as after a restart).
	open bool
	// disabled: the kiosk was disabled (forget); its reports are
	// refused. Set under mu, as the reports' state is changed, so that a
	// report the disable overtook counts the kiosk no more.
	disabled bool
}

// count is how many kiosks report their clean-up failing.
func (f *cleanupFailures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}

// console lists the failing clean-ups for the console's Kiosks page.
func (f *cleanupFailures) console() map[string]console.KioskCleanup {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]console.KioskCleanup, len(f.m))
	for id, c := range f.m {
		out[id] = console.KioskCleanup{Since: c.Since, Try: c.Try}
	}
	return out
}

// failing records a failing report; audit says whether it is due a
// device.cleanup_failed record: the kiosk's first, the first since
// cleanupAuditInterval, whichever episode it names, or the first of an
// episode after a recorded success, within cleanupAuditEpisodes. A
// disabled kiosk's report is not recorded (disabled).
func (f *cleanupFailures) failing(deviceID string, r wire.CleanupReport, now time.Time) (audit, disabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.audits[deviceID]
	if a.disabled {
		return false, true
	}
	if f.m == nil {
		f.m = make(map[string]cleanupFailure)
	}
	old, ok := f.m[deviceID]
	c := cleanupFailure{Since: r.Since, Try: r.Try, Reason: r.Reason, SessionID: r.SessionID, Reported: now}
	if ok && old.Since.Equal(r.Since) {
		c.Reported = old.Reported
	}
	f.m[deviceID] = c
	due := func(last time.Time) bool {
		return last.IsZero() || now.Sub(last) >= cleanupAuditInterval || now.Before(last)
	}
	return due(a.failed[0]) || !a.open && due(a.failed[len(a.failed)-1]), false
}

// noteAudited notes the device.cleanup_failed record written at now.
func (f *cleanupFailures) noteAudited(deviceID string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.audits == nil {
		f.audits = make(map[string]cleanupAudits)
	}
	a := f.audits[deviceID]
	copy(a.failed[1:], a.failed[:len(a.failed)-1])
	a.failed[0], a.open = now, true
	f.audits[deviceID] = a
}

// done forgets a kiosk's failing clean-up, and returns it; audit says
// whether the success is due a device.cleanup_done record: it closes
// one device.cleanup_failed, or the hub has recorded nothing of the
// kiosk's clean-up (it restarted since it was told). A disabled kiosk's
// success is not recorded (disabled): it closes nothing the hub counts.
func (f *cleanupFailures) done(deviceID string) (c cleanupFailure, ok, audit, disabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, known := f.audits[deviceID]
	if a.disabled {
		return c, false, false, true
	}
	c, ok = f.m[deviceID]
	delete(f.m, deviceID)
	return c, ok, !known || a.open, false
}

// noteDone notes the device.cleanup_done record written for the kiosk.
func (f *cleanupFailures) noteDone(deviceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.audits == nil {
		f.audits = make(map[string]cleanupAudits)
	}
	a := f.audits[deviceID]
	a.open = false
	f.audits[deviceID] = a
}

// forget drops a kiosk's failing clean-up without a record: the kiosk was
// disabled, and will never report the success (enrolled again, it is
// another device), so it is counted and shown no more. Its later reports
// are refused (failing, done): one that read the device as active before
// the disable was committed, and is recorded after this, would count it
// again for good. That is one small entry per kiosk disabled since the
// hub started.
func (f *cleanupFailures) forget(deviceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, deviceID)
	if f.audits == nil {
		f.audits = make(map[string]cleanupAudits)
	}
	a := f.audits[deviceID]
	a.disabled = true
	f.audits[deviceID] = a
}

// cleanupReport records a kiosk's cleanup.report: its state in memory (the
// gauge, the console), a log line, and the audit record that is due. The
// report's fields go into the audit trail and the log: each is checked
// and bounded, and a report that is not what an agent sends is refused
// with wire.ErrBadMessage.
func (c *channel) cleanupReport(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
	var r wire.CleanupReport
	if err := env.Unmarshal(&r); err != nil {
		return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "cleanup.report needs failing, try and since", Err: err}
	}
	if err := checkCleanupReport(&r); err != nil {
		return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "cleanup.report: " + err.Error(), Err: err}
	}
	now := c.s.cfg.Now()
	log := c.s.cfg.Logger
	// paced logs a line of a report that writes no audit record, at most
	// kioskErrorLines a kioskErrorWindow per kiosk; a line with a record
	// is logged always (the record is paced).
	paced := func(level slog.Level, msg string, args ...any) {
		c.cleanups.lines.logLine(ctx, log, deviceID, now, level, msg, args,
			"kiosk sends cleanup.report faster than the hub logs them: those it sends until the time given are not logged, and the first logged after says how many were dropped (dropped_before)")
	}
	// A disabled kiosk is forgotten (disableDevice), but its channel is
	// let go only once it has acknowledged its revocations (cutOff): a
	// failing report meanwhile must not count it again, for good, as it
	// will never report the success, and its success closes nothing. The
	// device's record says so once the disable is committed; the state
	// in memory (failing, done) for a disable that overtakes the report
	// after that read, under the lock the disable changes it with.
	disabled := &push.SafeError{Code: wire.ErrState, Message: "this kiosk is disabled"}
	if d, err := c.device(ctx, deviceID); err == nil && d.State != store.DeviceActive {
		return wire.Envelope{}, disabled
	}
	if !r.Failing {
		was, ok, audit, gone := c.cleanups.done(deviceID)
		if gone {
			return wire.Envelope{}, disabled
		}
		detail := map[string]any{"device": deviceID, "failed_tries": r.Try}
		if ok {
			detail["since"] = was.Since
			if r.SessionID == "" {
				r.SessionID = was.SessionID
			}
		}
		if r.SessionID != "" {
			detail["session"] = r.SessionID
		}
		const cleaned = "kiosk cleaned up what an earlier run of its agent left: it takes taps again"
		if !audit {
			paced(slog.LevelInfo, cleaned, "device", deviceID, "failed_tries", r.Try, "session", r.SessionID)
			return wire.New(wire.TypeAck, "", "", nil)
		}
		log.Info(cleaned, "device", deviceID, "failed_tries", r.Try, "session", r.SessionID)
		if err := c.auditCleanup(ctx, deviceID, "device.cleanup_done", detail); err != nil {
			return wire.Envelope{}, err
		}
		c.cleanups.noteDone(deviceID)
		return wire.New(wire.TypeAck, "", "", nil)
	}
	audit, gone := c.cleanups.failing(deviceID, r, now)
	if gone {
		return wire.Envelope{}, disabled
	}
	if !audit {
		paced(slog.LevelWarn, "kiosk's start-up clean-up fails: it stays locked (recorded in the audit trail at most once every 10 min)", "device", deviceID, "try", r.Try, "since", r.Since, "session", r.SessionID, "reason", r.Reason)
		return wire.New(wire.TypeAck, "", "", nil)
	}
	log.Error("kiosk's start-up clean-up fails: it stays locked and signs nobody in, and the last worker's programs or files may have survived there",
		"device", deviceID, "try", r.Try, "since", r.Since, "session", r.SessionID, "reason", r.Reason)
	detail := map[string]any{"device": deviceID, "try": r.Try, "since": r.Since, "reason": r.Reason}
	if r.SessionID != "" {
		detail["session"] = r.SessionID
	}
	if err := c.auditCleanup(ctx, deviceID, "device.cleanup_failed", detail); err != nil {
		return wire.Envelope{}, err
	}
	c.cleanups.noteAudited(deviceID, now)
	return wire.New(wire.TypeAck, "", "", nil)
}

func (c *channel) auditCleanup(ctx context.Context, deviceID, action string, detail map[string]any) error {
	return c.s.st.InTx(ctx, func(tx store.Ops) error {
		_, err := c.s.audit.Append(ctx, tx, auditEntry(deviceActor(deviceID), action, "device:"+deviceID, detail))
		return err
	})
}

// checkCleanupReport checks r's fields against wire's limits, and cuts its
// reason short (wire.MaxCleanupReason): it is free text from the kiosk,
// and a long one says no less for its start.
func checkCleanupReport(r *wire.CleanupReport) error {
	if r.Try < 1 || r.Try > wire.MaxCleanupTry {
		return fmt.Errorf("try %d is not between 1 and %d", r.Try, wire.MaxCleanupTry)
	}
	if r.SessionID != "" && !wire.ValidSessionID(r.SessionID) {
		return fmt.Errorf("session_id %q is not a session ID (at most %d of A-Z a-z 0-9 . _ -)", store.Clip(r.SessionID, maxKioskErrorCode), wire.MaxCleanupSessionID)
	}
	if r.Failing && r.Since.IsZero() {
		return fmt.Errorf("a failing clean-up needs since")
	}
	if !r.Failing {
		r.Since, r.Reason = time.Time{}, ""
	}
	r.Reason = store.Clip(r.Reason, wire.MaxCleanupReason)
	return nil
}

// cleanupCollector exports how many kiosks report their start-up clean-up
// failing.
type cleanupCollector struct{ f *cleanupFailures }

var kiosksCleanupFailingDesc = prometheus.NewDesc("shiftgate_kiosks_cleanup_failing",
	"Kiosks whose agent reports that its start-up clean-up of what an earlier run left keeps failing: each stays locked and signs nobody in, and the last worker's programs or files may have survived there (device.cleanup_failed in the audit trail names the kiosk). Kiosks away since are still counted.", nil, nil)

func (cleanupCollector) Describe(ch chan<- *prometheus.Desc) { ch <- kiosksCleanupFailingDesc }

func (c cleanupCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(kiosksCleanupFailingDesc, prometheus.GaugeValue, float64(c.f.count()))
}
