package agent

import "time"

// markBoot records the live session's deadline (b) and, with the hub out
// of reach, the time it was lost, on the boot clock (BootClock), for an
// agent restarted in this boot (restore). Both are taken from the
// monotonic readings the loop holds, which no step of the wall clock has
// moved; between two saves they stay right, as the boot clock goes on
// through a suspend like the wall clock. A session being torn down keeps
// what it had: it is never reopened. Without a boot clock they are
// cleared, so that no reading of another clock is taken for one.
func (a *Agent) markBoot() {
	s := a.session
	if s == nil || s.Ending != "" {
		return
	}
	id, boot, ok := a.bootNow()
	if !ok {
		s.BootID, s.BootEndMillis, s.BootOfflineMillis = "", 0, 0
		return
	}
	now := a.inputNow()
	s.BootID = id
	s.BootEndMillis = (boot + a.monoEnd - now.mono).Milliseconds()
	s.BootOfflineMillis = 0
	if !s.OfflineSince.IsZero() && a.offlineSince != nil {
		s.BootOfflineMillis = (boot - (now.mono - a.offlineSince.mono)).Milliseconds()
	}
}

// bootMillisSince is how long before now, on the boot clock, the reading
// at (milliseconds, from session.json) was taken: negative for one still
// to come. It is bounded by maxLeft either way, so that a reading from a
// damaged file cannot overflow.
func bootMillisSince(at int64, now time.Duration) time.Duration {
	lim := maxLeft.Milliseconds()
	d := min(max(now.Milliseconds()-min(max(at, -lim), lim), -lim), lim)
	return time.Duration(d) * time.Millisecond
}
