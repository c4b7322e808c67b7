package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// BenchmarkMassRevokeCommit: the hub's side of a mass revoke without the
// network: a role group of 10,000 members, each with a live session, is
// deleted; the time is the transaction that ends the sessions and records
// revocations and audit (pushes go to kiosks that are not connected).
func BenchmarkMassRevokeCommit(b *testing.B) {
	const n = 10000
	h := hubtest.Start(b, hubtest.Options{})
	ctx := b.Context()
	now := time.Now().UTC()
	var ids []string
	err := h.Store().InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateDevice(ctx, store.Device{ID: "dev", Name: "kiosk", Site: "north", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
			return err
		}
		for i := range n {
			u, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%05d", i), UserName: fmt.Sprintf("w%05d", i), Active: true, State: store.UserActive, Created: now, Modified: now})
			if err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	a := lifecycle.Actor{Name: "bench", System: "scim"}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g, err := h.Engine().CreateGroup(ctx, a, store.Group{ID: fmt.Sprintf("g%d", i), DisplayName: fmt.Sprintf("Role%d", i), Members: ids})
		if err != nil {
			b.Fatal(err)
		}
		err = h.Store().InTx(ctx, func(tx store.Ops) error {
			for _, id := range ids {
				if _, err := tx.CreateSession(ctx, store.Session{ID: fmt.Sprintf("s%d-%s", i, id), UserID: id, DeviceID: "dev", Role: g.DisplayName, Started: now, Expires: now.Add(time.Hour)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := h.Engine().DeleteGroup(ctx, a, g.ID); err != nil {
			b.Fatal(err)
		}
	}
}
