package agent

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// bootFake is a fakeClock with a boot clock (BootClock) that, like
// CLOCK_BOOTTIME, runs with the timers' clock (Advance) and does not follow
// a step of the wall clock (Jump); id is the boot's.
type bootFake struct {
	*fakeClock
	id string
}

func (b *bootFake) Boot() (string, time.Duration, bool) {
	return b.id, b.Monotonic() + 3*time.Hour, true
}

// withClock gives the agent c instead of the harness's fakeClock (which c
// should read, so that the harness still moves time).
func withClock(c Clock) harnessOpt {
	return func(h *harness, cfg *Config) { cfg.Clock = c }
}

// TestRestartSameBootClockSetBack: the hub is out of reach, the agent
// stops with 30 minutes of its session left, and while it is down, 5
// minutes on, the kiosk's clock is set back an hour. The restarted agent
// (same boot) has no monotonic reading to go on, and by the wall clock the
// session would have 85 minutes left; the boot clock, kept in session.json
// with the boot's ID, says 25, and the session ends then.
func TestRestartSameBootClockSetBack(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	bc := &bootFake{fakeClock: clock, id: "boot-1"}
	h := startHarness(t, dir, badges, clock, withClock(bc))
	h.connect()
	h.login("s1", "ana", 30*time.Minute)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	h.stop()
	if st, err := readSessionState(dir); err != nil || st.Session == nil || st.Session.BootID != "boot-1" {
		t.Fatalf("session.json keeps the boot: %+v, %v", st.Session, err)
	}
	clock.Advance(5 * time.Minute)
	clock.Jump(-time.Hour)

	h2 := startHarness(t, dir, badges, clock, withClock(bc))
	e := h2.ev.expect(t, EventSessionStarted)[0]
	if want := clock.Now().Add(25 * time.Minute); !e.Restored || !e.EndsAt.Equal(want) {
		t.Errorf("session.started = %+v, want restored, ends_at %s", e, want)
	}
	h2.warnThenEnd(t, 20*time.Minute, wire.ReasonExpired)
}

// TestRestartSameBootClockSetBackOffline: the offline grace, too, counts
// from when the hub was lost by the boot clock: 9 minutes offline, 1
// minute down, the clock set back an hour meanwhile; the restarted agent
// ends the session offline 5 minutes later, not 15 (the grace again from
// its start, as the hub was lost "in the future" of the wall clock).
func TestRestartSameBootClockSetBackOffline(t *testing.T) {
	dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
	bc := &bootFake{fakeClock: clock, id: "boot-1"}
	h := startHarness(t, dir, badges, clock, withClock(bc), withOfflineGrace(15*time.Minute))
	h.connect()
	h.login("s1", "ana", 8*time.Hour)
	h.hub.disconnect()
	h.ev.expect(t, EventDisconnected)
	clock.Advance(9 * time.Minute)
	h.stop()
	clock.Advance(time.Minute)
	clock.Jump(-time.Hour)

	h2 := startHarness(t, dir, badges, clock, withClock(bc), withOfflineGrace(15*time.Minute))
	h2.ev.expect(t, EventSessionStarted, EventSessionWarning) // 5 minutes left: inside the warning lead
	clock.Advance(5*time.Minute - time.Second)
	h2.wantState(Warning)
	clock.Advance(time.Second)
	if e := h2.ev.ended(t); e.Reason != wire.ReasonOffline {
		t.Errorf("session.ended = %+v, want offline 15 minutes after the hub was lost", e)
	}
}

// TestRestartOtherBootGoesByWallClock: readings of another boot (the
// kiosk rebooted), or none (session.json of an older agent, or of a clock
// without a boot clock), say nothing: the restored session ends by the
// wall clock and the kept skew, as before, and session.json gets this
// boot's readings.
func TestRestartOtherBootGoesByWallClock(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first func(*fakeClock) Clock
	}{
		{"another boot", func(c *fakeClock) Clock { return &bootFake{fakeClock: c, id: "boot-0"} }},
		{"no readings", func(c *fakeClock) Clock { return c }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, badges, clock := t.TempDir(), t.TempDir(), newFakeClock()
			h := startHarness(t, dir, badges, clock, withClock(tt.first(clock)))
			h.connect()
			started := h.login("s1", "ana", 30*time.Minute)
			h.stop()
			clock.Advance(5 * time.Minute)
			clock.Jump(-time.Hour)

			h2 := startHarness(t, dir, badges, clock, withClock(&bootFake{fakeClock: clock, id: "boot-1"}))
			if e := h2.ev.expect(t, EventSessionStarted)[0]; !e.EndsAt.Equal(started.ExpiresAt) {
				t.Errorf("session.started ends_at %s, want expires_at %s (the wall clock's rule)", e.EndsAt, started.ExpiresAt)
			}
			h2.do(func() {})
			if st, err := readSessionState(dir); err != nil || st.Session == nil || st.Session.BootID != "boot-1" {
				t.Errorf("session.json after the restart: %+v, %v; want this boot's readings", st.Session, err)
			}
		})
	}
}

// TestSystemClockBoot: the real clock reads the boot's ID and the boot
// clock, which does not go back.
func TestSystemClockBoot(t *testing.T) {
	id1, t1, ok1 := SystemClock{}.Boot()
	id2, t2, ok2 := SystemClock{}.Boot()
	if !ok1 || !ok2 || id1 == "" || id1 != id2 || t1 <= 0 || t2 < t1 {
		t.Errorf("Boot() = %q %s %v, then %q %s %v", id1, t1, ok1, id2, t2, ok2)
	}
}
