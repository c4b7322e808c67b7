package agent

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestEarlyExtendAfterDrop: the hub grants a session, a session.extend for
// it overtakes the grant inside the agent (kept until the session opens),
// and the channel drops before the grant reaches the loop. The session
// opens offline, and the extension is applied then: session.started and
// session.extended announce the session's own end as ends_at, never the
// offline deadline, which comes with its session.warning (reason offline)
// and is taken back when the hub is in reach again. Without the early
// extend, session.started alone says the same.
func TestEarlyExtendAfterDrop(t *testing.T) {
	for _, early := range []bool{true, false} {
		name := map[bool]string{true: "early extend", false: "grant only"}[early]
		t.Run(name, func(t *testing.T) {
			const grace = 15 * time.Minute
			h := newHarness(t, withOfflineGrace(grace))
			h.connect()
			registerBadge(t, h.badges, "ana")

			granted := h.clock.Now().Add(time.Hour)
			extended := h.clock.Now().Add(2 * time.Hour)
			asked, release := make(chan struct{}), make(chan struct{})
			h.hub.setResponder(wire.TypeLogin, func(ctx context.Context, _ any) (wire.Envelope, error) {
				close(asked)
				select {
				case <-release:
				case <-ctx.Done():
					return wire.Envelope{}, ctx.Err()
				}
				return wire.New(wire.TypeSessionGrant, "", "x", wire.SessionGrant{SessionID: "s1", User: "ana", Role: "nurse", ExpiresAt: granted})
			})
			h.a.Tap("ana")
			select {
			case <-asked:
			case <-time.After(waitLimit):
				t.Fatal("the login never reached the hub")
			}

			// The hub has granted s1 and extends it; the extend overtakes
			// the grant, which is still on its way to the loop.
			if early {
				h.hub.push(wire.TypeSessionExtend, "p1", wire.SessionExtend{SessionID: "s1", ExpiresAt: extended})
				h.hub.waitFor("the ack of the early extend", func() bool { return h.acked("p1") })
				h.do(func() {
					if h.a.early == nil || h.a.early.SessionID != "s1" {
						t.Errorf("early extend kept = %+v, want the one for s1", h.a.early)
					}
				})
			}
			// The channel drops before the loop takes the grant.
			lost := h.clock.Now()
			h.hub.disconnect()
			h.ev.expect(t, EventDisconnected)
			h.wantState(Verifying)
			close(release)

			started := h.ev.expect(t, EventSessionStarted)[0]
			if !started.ExpiresAt.Equal(granted) || !started.EndsAt.Equal(granted) {
				t.Errorf("session.started = %+v, want expires_at and ends_at %s (its own end, not the offline deadline %s)",
					started, granted, lost.Add(grace))
			}
			own := granted
			if early {
				x := h.ev.expect(t, EventSessionExtended)[0]
				if x.SessionID != "s1" || x.Reason != "" || !x.ExpiresAt.Equal(extended) || !x.EndsAt.Equal(extended) {
					t.Errorf("session.extended = %+v, want s1, no reason, expires_at and ends_at %s (its own end, not the offline deadline %s)",
						x, extended, lost.Add(grace))
				}
				own = extended
			}
			h.do(func() {}) // the timers are armed right after the events: let that happen first
			h.wantState(Active)
			h.ev.none(t)
			if st, err := readSessionState(h.dir); err != nil || st.Session == nil || !st.Session.ExpiresAt.Equal(own) || !st.Session.OfflineSince.Equal(lost) {
				t.Fatalf("session.json = %+v, %v; want expires_at %s, offline since %s", st.Session, err, own, lost)
			}

			// The offline deadline is announced by its warning, a lead
			// before it, and taken back when the hub is in reach again.
			h.clock.Advance(grace - h.a.cfg.Warning - time.Second)
			h.wantState(Active)
			h.ev.none(t)
			h.clock.Advance(time.Second)
			if w := h.ev.expect(t, EventSessionWarning)[0]; w.Reason != wire.ReasonOffline || !w.EndsAt.Equal(lost.Add(grace)) || !w.ExpiresAt.Equal(own) {
				t.Errorf("session.warning = %+v, want reason offline, ends_at %s, expires_at %s", w, lost.Add(grace), own)
			}
			h.wantState(Warning)
			h.hub.connect()
			x := h.ev.expect(t, EventConnected, EventSessionExtended)[1]
			if x.Reason != ExtendedReconnected || !x.EndsAt.Equal(own) || !x.ExpiresAt.Equal(own) {
				t.Errorf("session.extended = %+v, want reason %s, ends_at %s", x, ExtendedReconnected, own)
			}
			h.wantState(Active)
			h.clock.Advance(grace) // past the offline deadline, the hub in reach: nothing
			h.wantState(Active)
			h.ev.none(t)
		})
	}
}
