package agent

import (
	"context"
)

// startCleanup runs Config.Cleanup; cleanupDone gets its result. It is
// bounded by TeardownTimeout, as a teardown is: it does the same work.
func (a *Agent) startCleanup() {
	a.cleanRetry = nil
	a.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, a.cfg.TeardownTimeout)
		defer cancel()
		err := a.cfg.Cleanup(ctx)
		if a.ctx.Err() != nil {
			return // stopping: the next start cleans up again
		}
		a.post(func() { a.cleanupDone(err) })
	})
}

// cleanupDone takes the result of a try of Config.Cleanup. A failed one
// keeps the kiosk Locked and taking no tap: what is left may be the last
// worker's programs, still running with the worker's data, and their
// files, which the next worker's session would find. Only the log and the
// events say so; a session.json that no longer names the crashed run's
// session (it is dropped when the disk is full) leaves nothing else to
// retry it. So it is tried again with the teardown's backoff, for as long
// as it takes, and each failure emits cleanup.failed so that a screen can
// ask for help; the try that succeeds lets taps in again (cleanup.done).
func (a *Agent) cleanupDone(err error) {
	if err != nil {
		a.cleanFails++
		d := teardownRetryDelay(a.cleanFails)
		a.log.Error("cleaning up what an earlier run of the agent left on the kiosk failed: the kiosk stays locked and takes no tap; tried again",
			"attempt", a.cleanFails, "retry_in", d, "err", err)
		a.cleanRetry = a.clock.AfterFunc(d, func() { a.post(a.startCleanup) })
		// The hub is told too (cleanup_report.go): without it the
		// console shows a healthy kiosk that nobody can sign in at.
		a.cleanupFailing(err)
		// Said last, as in endDone: a slow event sink never holds up the
		// retry.
		a.emit(Event{Event: EventCleanupFailed, Attempt: a.cleanFails})
		if held := a.heldTap; held != nil {
			a.heldTap = nil
			a.ignoreTap(*held, TapIgnoredCleaningUp)
		}
		return
	}
	a.unclean = false
	if a.cleanFails > 0 {
		a.log.Info("cleaned up what an earlier run of the agent left on the kiosk: taps are taken again", "failed_tries", a.cleanFails)
		a.cleanFails = 0
		a.cleanupSucceeded()
		a.emit(Event{Event: EventCleanupDone})
	} else {
		// A failure an earlier run reported (CleanupFile) is over.
		a.reportCleanup()
	}
	if held := a.heldTap; held != nil {
		a.heldTap = nil
		a.startTap(*held)
		return
	}
	a.readerKick()
}
