package hub

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A change that pushes before it writes (a group's members removed) has
// pushed the revocation of a session whose kiosk was offline, or whose
// channel went away before it could ack; the change has not committed, so
// the store still counts the session live. The kiosk reconnects now,
// reporting that session: its welcome must revoke it, or nothing ever will
// (the change does not push it again after its commit). The same holds
// for the wave of an earlier change of the same group commit, which is no
// longer the channel's current wave but has not committed either.
func TestHelloRevokesSessionOfUncommittedWave(t *testing.T) {
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	now := s.cfg.Now().UTC()
	err = s.st.InTx(ctx, func(tx store.Ops) error {
		for _, d := range []string{"k1", "k2", "k3"} {
			if _, err := tx.CreateDevice(ctx, store.Device{ID: d, Name: "kiosk-" + d, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
				return err
			}
			if _, err := tx.CreateUser(ctx, store.User{ID: "u-" + d, UserName: "user-" + d, Active: true, State: store.UserActive, Created: now, Modified: now}); err != nil {
				return err
			}
			if _, err := tx.CreateSession(ctx, store.Session{ID: "s-" + d, UserID: "u-" + d, DeviceID: d, Role: "Nurse", Started: now, Expires: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rev := func(d string) []store.Revocation {
		return []store.Revocation{{UserID: "u-" + d, SessionID: "s-" + d, DeviceID: d, Reason: wire.ReasonEntitlementRemoved}}
	}
	hello := func(device, session string) *wire.SessionRevoke {
		t.Helper()
		w, err := s.channel.Hello(ctx, device, wire.Hello{AgentVersion: "test", Profile: "generic-x86", LiveSession: session})
		if err != nil {
			t.Fatalf("hello of %s: %v", device, err)
		}
		return w.Revoke
	}

	// Two changes of one group commit: the first one's wave is no longer
	// the current one when the second starts.
	w1 := s.channel.newWaveWith(time.Hour)
	w1.Push(rev("k1")) // k1 is offline: the push fails
	w2 := s.channel.newWaveWith(time.Hour)
	w2.Push(rev("k2"))

	for _, d := range []string{"k1", "k2"} {
		if r := hello(d, "s-"+d); r == nil || r.SessionID != "s-"+d || r.Reason != wire.ReasonEntitlementRemoved {
			t.Errorf("welcome of %s while its session's revocation is pushed and not yet committed: revoke = %+v, want s-%s (%s)", d, r, d, wire.ReasonEntitlementRemoved)
		}
	}
	// A session of another kiosk named in the wave is not this kiosk's to
	// end with the wave's reason (the store's verdict applies: forced).
	if r := hello("k3", "s-k1"); r == nil || r.Reason != wire.ReasonForced {
		t.Errorf("k3 reporting k1's session: revoke = %+v, want forced", r)
	}
	// A session no wave pushed goes on.
	if r := hello("k3", "s-k3"); r != nil {
		t.Errorf("k3's own session, in no wave: revoke = %+v, want none", r)
	}
	// Once a wave has ended its change has committed (or failed and kept
	// the sessions): the store's word holds again.
	w1.End()
	w2.End()
	if r := hello("k1", "s-k1"); r != nil {
		t.Errorf("after the waves ended (their change failed), k1's session: revoke = %+v, want none", r)
	}
}
