package agent

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// withCleanup gives the agent a start-up clean-up (Config.Cleanup) that
// fails while fail is set, and counts its tries.
func withCleanup(fail *atomic.Bool, tries *atomic.Int32) harnessOpt {
	return func(h *harness, cfg *Config) {
		cfg.Cleanup = func(context.Context) error {
			tries.Add(1)
			if fail.Load() {
				return errors.New("end leftover session s0: process 4242 survived SIGKILL")
			}
			return nil
		}
	}
}

// TestFailedStartupCleanupKeepsKioskLocked: what a crashed run left (its
// session's apps, not named in session.json) could not be cleaned up at
// start. The kiosk stays Locked and signs nobody in: a tap is answered
// tap.ignored cleaning_up and never reaches the hub. The clean-up is
// tried again with the teardown's backoff, each failure said with
// cleanup.failed, and once a try succeeds (cleanup.done) taps are taken.
func TestFailedStartupCleanupKeepsKioskLocked(t *testing.T) {
	var fail atomic.Bool
	var tries atomic.Int32
	fail.Store(true)
	h := newHarness(t, withCleanup(&fail, &tries))
	if e := h.ev.expect(t, EventCleanupFailed)[0]; e.Attempt != 1 {
		t.Errorf("cleanup.failed = %+v, want attempt 1", e)
	}
	h.connect()

	registerBadge(t, h.badges, "ana")
	h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventTapIgnored)[0]; e.Reason != TapIgnoredCleaningUp {
		t.Errorf("tap.ignored = %+v, want reason %s", e, TapIgnoredCleaningUp)
	}
	h.wantState(Locked)

	h.clock.Advance(teardownRetryDelay(1))
	if e := h.ev.expect(t, EventCleanupFailed)[0]; e.Attempt != 2 {
		t.Errorf("cleanup.failed = %+v, want attempt 2", e)
	}
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventTapIgnored)[0]; e.Reason != TapIgnoredCleaningUp {
		t.Errorf("tap.ignored = %+v, want reason %s", e, TapIgnoredCleaningUp)
	}
	if slices.Contains(h.hub.requestTypes(), wire.TypeLogin) {
		t.Fatal("a login reached the hub while the clean-up failed")
	}

	fail.Store(false)
	h.clock.Advance(teardownRetryDelay(2) - time.Millisecond)
	h.do(func() {})
	if n := tries.Load(); n != 2 {
		t.Errorf("%d tries before the backoff ran out, want 2", n)
	}
	h.clock.Advance(time.Millisecond)
	h.ev.expect(t, EventCleanupDone)
	if n := tries.Load(); n != 3 {
		t.Errorf("%d tries, want 3", n)
	}

	if e := h.login("s1", "ana", time.Hour); e.SessionID != "s1" {
		t.Errorf("session.started = %+v, want s1", e)
	}
	h.wantState(Active)
	h.clock.Advance(time.Minute)
	if n := tries.Load(); n != 3 {
		t.Errorf("%d tries once the clean-up succeeded, want 3", n)
	}
}

// TestStartupCleanupSucceedsQuietly: a clean-up that succeeds at once
// says nothing on stdout, and the first tap signs in.
func TestStartupCleanupSucceedsQuietly(t *testing.T) {
	var fail atomic.Bool
	var tries atomic.Int32
	h := newHarness(t, withCleanup(&fail, &tries))
	h.waitLoop("the clean-up", func() bool { return !h.a.unclean })
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.wantState(Active)
	if n := tries.Load(); n != 1 {
		t.Errorf("%d tries, want 1", n)
	}
}

// TestTapWaitsForFirstCleanupTry: a Tap that comes while the first try of
// the start-up clean-up has not answered (a script's `tap NAME` as the
// agent starts) waits for it: taken when it succeeds, answered
// tap.ignored cleaning_up when it fails. Only the first try holds a tap:
// during the retries a tap is ignored at once.
func TestTapWaitsForFirstCleanupTry(t *testing.T) {
	for _, fails := range []bool{false, true} {
		t.Run(map[bool]string{false: "first try succeeds", true: "first try fails"}[fails], func(t *testing.T) {
			release := make(chan struct{})
			h := newHarness(t, func(h *harness, cfg *Config) {
				cfg.Cleanup = func(ctx context.Context) error {
					select {
					case <-release:
					case <-ctx.Done():
						return ctx.Err()
					}
					if fails {
						return errors.New("end leftover session s0: process 4242 survived SIGKILL")
					}
					return nil
				}
			})
			h.connect()
			registerBadge(t, h.badges, "ana")
			h.hub.setResponder(wire.TypeLogin, grantFor(h.clock, "s1", "ana", time.Hour))
			h.a.Tap("ana")
			h.do(func() {})
			if slices.Contains(h.hub.requestTypes(), wire.TypeLogin) {
				t.Fatal("a login reached the hub before the clean-up answered")
			}
			close(release)
			if fails {
				h.ev.expect(t, EventCleanupFailed)
				if e := h.ev.expect(t, EventTapIgnored)[0]; e.Reason != TapIgnoredCleaningUp {
					t.Errorf("tap.ignored = %+v, want reason %s", e, TapIgnoredCleaningUp)
				}
				h.wantState(Locked)
				return
			}
			if e := h.ev.expect(t, EventSessionStarted)[0]; e.SessionID != "s1" {
				t.Errorf("session.started = %+v, want s1", e)
			}
		})
	}
}
