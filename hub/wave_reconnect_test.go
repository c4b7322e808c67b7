package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestKioskBackDuringGroupRemovalIsRevoked: a role group with hundreds of
// signed-in members is deleted. That change pushes its revocations before
// it writes them and waits for the kiosks' acks (a wave). A kiosk that
// was offline when its revocation was pushed comes back while the change
// is still waiting: the store does not show the session ended yet, and
// the change will not push it again, so the welcome is its one chance.
func TestKioskBackDuringGroupRemovalIsRevoked(t *testing.T) {
	const members = 300 // a wave that waits for acks (waveWaitFrom)
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	back := h.EnrollKiosk(t, "north-1", "north")  // offline when the group goes
	stall := h.EnrollKiosk(t, "north-2", "north") // online, never acks: the change waits
	now := time.Now().UTC()
	var ids []string
	err := h.Store().InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateDevice(ctx, store.Device{ID: "elsewhere", Name: "elsewhere", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
			return err
		}
		for i := range members {
			u, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%03d", i), UserName: fmt.Sprintf("w%03d", i), Active: true, State: store.UserActive, Created: now, Modified: now})
			if err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := lifecycle.Actor{Name: "test", System: "scim"}
	g, err := h.Engine().CreateGroup(ctx, a, store.Group{ID: "g", DisplayName: "Picker", Members: ids})
	if err != nil {
		t.Fatal(err)
	}
	err = h.Store().InTx(ctx, func(tx store.Ops) error {
		for i, id := range ids {
			dev := "elsewhere"
			switch i {
			case 0:
				dev = back.ID
			case 1:
				dev = stall.ID
			}
			if _, err := tx.CreateSession(ctx, store.Session{ID: "s-" + id, UserID: id, DeviceID: dev, Role: g.DisplayName, Started: now, Expires: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stall.Dial("s-" + ids[1])

	deleted := make(chan error, 1)
	go func() { deleted <- h.Engine().DeleteGroup(ctx, a, g.ID) }()
	push := stall.Recv(10 * time.Second) // the wave is out; stall does not ack
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("stall got %s, want session.revoke", push.Type)
	}
	w := back.Dial("s-" + ids[0])
	select {
	case err := <-deleted:
		// The change had committed before the welcome: a slow machine
		// missed the moment this test is about.
		t.Logf("the group deletion ended (%v) before the welcome", err)
	default:
	}
	if w.Revoke == nil || w.Revoke.SessionID != "s-"+ids[0] || w.Revoke.Reason != wire.ReasonEntitlementRemoved {
		t.Fatalf("welcome of the kiosk back during the group deletion: revoke = %+v, want s-%s (%s)", w.Revoke, ids[0], wire.ReasonEntitlementRemoved)
	}
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
}
