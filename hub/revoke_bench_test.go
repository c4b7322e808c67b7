package hub_test

import (
	"fmt"
	"syscall"
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
	var cpu time.Duration // the process's CPU time while timed
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
		c0 := cpuTime(b)
		if err := h.Engine().DeleteGroup(ctx, a, g.ID); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - c0
	}
	// CPU time says more than wall time on a shared machine.
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
