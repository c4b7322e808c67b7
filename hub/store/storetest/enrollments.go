package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

func testEnrollmentCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := store.EnrollmentCode{Hash: []byte("hash-one"), DeviceName: "kiosk-1", Site: "north", Profile: "rpi5-touch", Created: at(0), Expires: at(1)}
	if err := s.CreateEnrollmentCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "duplicate code", s.CreateEnrollmentCode(ctx, c), store.ErrConflict)
	_, err := s.UseEnrollmentCode(ctx, []byte("other"), at(0))
	wantErr(t, "unknown code", err, store.ErrNotFound)
	got := must[store.EnrollmentCode](t, "use code")(s.UseEnrollmentCode(ctx, c.Hash, at(0).Add(1)))
	want := c
	want.Used = at(0).Add(1)
	diff(t, "used code", want, got)
	checkUTC(t, "used code", got.Created, got.Expires, got.Used)
	_, err = s.UseEnrollmentCode(ctx, c.Hash, at(0).Add(2))
	wantErr(t, "second use", err, store.ErrNotFound)

	expired := store.EnrollmentCode{Hash: []byte("hash-two"), DeviceName: "kiosk-2", Site: "north", Created: at(0), Expires: at(1)}
	if err := s.CreateEnrollmentCode(ctx, expired); err != nil {
		t.Fatal(err)
	}
	_, err = s.UseEnrollmentCode(ctx, expired.Hash, at(1))
	wantErr(t, "expired code", err, store.ErrNotFound)

	// A failed use inside a rolled-back transaction leaves the code usable.
	fresh := store.EnrollmentCode{Hash: []byte("hash-three"), DeviceName: "kiosk-3", Site: "south", Created: at(0), Expires: at(2)}
	if err := s.CreateEnrollmentCode(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	// A use without a time is refused: stored as "not used", it would
	// report success and leave the code usable.
	if _, err := s.UseEnrollmentCode(ctx, fresh.Hash, time.Time{}); err == nil {
		t.Error("use at the zero time: no error")
	}
	_ = s.InTx(ctx, func(tx store.Ops) error {
		if _, err := tx.UseEnrollmentCode(ctx, fresh.Hash, at(1)); err != nil {
			t.Fatal(err)
		}
		return store.ErrConflict // roll back
	})
	must[store.EnrollmentCode](t, "use after rollback")(s.UseEnrollmentCode(ctx, fresh.Hash, at(1)))
}
