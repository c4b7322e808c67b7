package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestExtendShiftAsRefusesOwnShift: ExtendShiftAs asks self, inside the
// extension's transaction, which hub user approves it. An extension of
// that user's own shift is ErrSelfGrant and changes nothing: no extension,
// no shift.extend record, no session moved or pushed. Another approver's
// user, or none (""), extends as ExtendShift does; an error from self
// fails the extension with that error.
func TestExtendShiftAsRefusesOwnShift(t *testing.T) {
	ctx := t.Context()
	until := t0.Add(11 * time.Hour)
	errLookup := errors.New("console account gone")
	for _, tc := range []struct {
		name    string
		self    []string // the hub users self tells
		selfErr error
		wantErr error // nil: the extension is made
	}{
		{"the approver's own shift", []string{"u-ana"}, nil, lifecycle.ErrSelfGrant},
		{"one of the users an unlinked approver may be", []string{"u-bo", "u-ana"}, nil, lifecycle.ErrSelfGrant},
		{"another user's shift", []string{"u-bo"}, nil, nil},
		{"an approver without a hub user", nil, nil, nil},
		{"self fails", nil, errLookup, errLookup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newExtendFixture(t)
			calls := 0
			self := func(ctx context.Context, tx store.Ops) ([]string, error) {
				calls++
				if tx == nil {
					t.Error("self was not handed the extension's transaction")
				}
				return tc.self, tc.selfErr
			}
			x, moved, err := f.eng.ExtendShiftAs(ctx, lifecycle.Actor{Name: "console:ana", System: "console"}, self, "u-ana", "South", until, "late handover")
			if calls != 1 {
				t.Errorf("self called %d times, want once", calls)
			}
			stored, lerr := f.st.ListShiftExtensions(ctx, "u-ana")
			if lerr != nil {
				t.Fatal(lerr)
			}
			recs, aerr := f.st.ListAudit(ctx, store.AuditQuery{Action: "shift.extend"})
			if aerr != nil {
				t.Fatal(aerr)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if len(stored) != 0 || len(recs) != 0 || len(moved) != 0 || len(f.moved) != 0 {
					t.Errorf("a refused extension left %d extensions, %d audit records, moved %+v, pushed %+v", len(stored), len(recs), moved, f.moved)
				}
				if got := f.expires(t, "s-South"); !got.Equal(t0.Add(9 * time.Hour)) {
					t.Errorf("s-South expires %s after a refused extension, want the shift's end", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("extend: %v", err)
			}
			if len(stored) != 1 || stored[0].ID != x.ID || len(recs) != 1 {
				t.Errorf("stored %+v and %d shift.extend records, want the extension %s and one record", stored, len(recs), x.ID)
			}
			if len(moved) != 1 || moved[0].Session.ID != "s-South" || !moved[0].Session.Expires.Equal(until) {
				t.Errorf("moved = %+v, want s-South to %s", moved, until)
			}
		})
	}
}
