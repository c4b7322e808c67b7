package lifecycle_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestTxEndSession: Tx.EndSession ends one live session with the reason
// given, audits it and hands its revocation on only when the transaction
// commits; a session no longer live is ErrGone; a transaction that fails
// afterwards keeps the session live and pushes nothing.
func TestTxEndSession(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	var mu sync.Mutex
	var pushed []store.Revocation
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0.Add(time.Hour) },
		OnRevoke: func(rs []store.Revocation) { mu.Lock(); pushed = append(pushed, rs...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateDevice(ctx, store.Device{ID: "dev-1", Name: "kiosk-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateUser(ctx, actor, store.User{ID: "u-1", UserName: "leaver", Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sess-1", "sess-2"} {
		if _, err := st.CreateSession(ctx, store.Session{ID: id, UserID: "u-1", DeviceID: "dev-1", Role: "Nurse", Started: t0, Expires: t0.Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	got := func() []store.Revocation { mu.Lock(); defer mu.Unlock(); return slices.Clone(pushed) }
	errLater := errors.New("later step failed")

	err = eng.Do(ctx, func(tx *lifecycle.Tx) error {
		if err := tx.EndSession(ctx, actor, "sess-2", lifecycle.ReasonDeprovisioned, "rolled back"); err != nil {
			return err
		}
		return errLater
	})
	if !errors.Is(err, errLater) {
		t.Fatalf("failing transaction: %v", err)
	}
	if s, _ := st.GetSession(ctx, "sess-2"); !s.Ended.IsZero() || len(got()) != 0 {
		t.Errorf("a rolled-back EndSession ended %+v or pushed %+v", s, got())
	}

	if err := eng.Do(ctx, func(tx *lifecycle.Tx) error {
		return tx.EndSession(ctx, actor, "sess-1", lifecycle.ReasonDeprovisioned, "finding x")
	}); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.GetSession(ctx, "sess-1"); s.Ended.IsZero() || s.EndReason != lifecycle.ReasonDeprovisioned {
		t.Errorf("session = %+v, want ended (deprovisioned)", s)
	}
	if p := got(); len(p) != 1 || p[0].SessionID != "sess-1" || p[0].DeviceID != "dev-1" || p[0].Reason != lifecycle.ReasonDeprovisioned {
		t.Errorf("pushed = %+v, want sess-1's revocation", p)
	}
	recs, err := st.ListAudit(ctx, store.AuditQuery{Subject: "user:u-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(r store.AuditRecord) bool { return r.Action == "session.signout_forced" && r.Actor == actor.Name }) {
		t.Errorf("no session.signout_forced record in %+v", recs)
	}
	if err := eng.Do(ctx, func(tx *lifecycle.Tx) error {
		return tx.EndSession(ctx, actor, "sess-1", lifecycle.ReasonDeprovisioned, "again")
	}); !errors.Is(err, lifecycle.ErrGone) {
		t.Errorf("ending an ended session: %v, want ErrGone", err)
	}
	if err := eng.Do(ctx, func(tx *lifecycle.Tx) error {
		return tx.EndSession(ctx, actor, "nope", lifecycle.ReasonDeprovisioned, "unknown")
	}); !errors.Is(err, lifecycle.ErrGone) {
		t.Errorf("ending an unknown session: %v, want ErrGone", err)
	}
}
