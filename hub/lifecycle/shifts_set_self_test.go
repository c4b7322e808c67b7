package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestSetShiftsAsRefusesOwnShifts: SetShiftsAs asks self, inside the
// change's transaction, which hub user makes it. Setting that user's own
// shifts is ErrSelfGrant (shifts decide when the user may sign in) and
// changes nothing: the shifts stay, no user.shifts_replace record, no
// session moved or pushed. Another user's shifts, or a person without a
// hub user (""), are set as SetShifts sets them; an error from self fails
// the change with that error.
func TestSetShiftsAsRefusesOwnShifts(t *testing.T) {
	ctx := t.Context()
	errLookup := errors.New("console account gone")
	// Wider than the fixture's shift: the session would be lengthened.
	wider := []store.Shift{{Start: t0.Add(time.Hour), End: t0.Add(11 * time.Hour)}}
	for _, tc := range []struct {
		name    string
		self    []string // the hub users self tells
		selfErr error
		wantErr error // nil: the shifts are set
	}{
		{"the decider's own shifts", []string{"u-ana"}, nil, lifecycle.ErrSelfGrant},
		{"one of the users an unlinked decider may be", []string{"u-bo", "u-ana"}, nil, lifecycle.ErrSelfGrant},
		{"another user's shifts", []string{"u-bo"}, nil, nil},
		{"a decider without a hub user", nil, nil, nil},
		{"self fails", nil, errLookup, errLookup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newExtendFixture(t)
			before, err := f.st.GetUser(ctx, "u-ana")
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			self := func(ctx context.Context, tx store.Ops) ([]string, error) {
				calls++
				if tx == nil {
					t.Error("self was not handed the change's transaction")
				}
				return tc.self, tc.selfErr
			}
			_, err = f.eng.SetShiftsAs(ctx, lifecycle.Actor{Name: "console:ana", System: "console"}, self, "u-ana", wider, map[string]any{"source": "api"})
			if calls != 1 {
				t.Errorf("self called %d times, want once", calls)
			}
			after, gerr := f.st.GetUser(ctx, "u-ana")
			if gerr != nil {
				t.Fatal(gerr)
			}
			recs, aerr := f.st.ListAudit(ctx, store.AuditQuery{Action: "user.shifts_replace", Subject: "user:u-ana"})
			if aerr != nil {
				t.Fatal(aerr)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if !shift.Equal(after.Shifts, before.Shifts) || len(recs) != 0 || len(f.moved) != 0 {
					t.Errorf("a refused change left shifts %v (were %v), %d audit records, pushed %+v", after.Shifts, before.Shifts, len(recs), f.moved)
				}
				if got := f.expires(t, "s-South"); !got.Equal(t0.Add(9 * time.Hour)) {
					t.Errorf("s-South expires %s after a refused change, want the old shift's end", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("set shifts: %v", err)
			}
			if !shift.Equal(after.Shifts, wider) || len(recs) != 1 {
				t.Errorf("shifts %v and %d user.shifts_replace records, want %v and one record", after.Shifts, len(recs), wider)
			}
		})
	}
}
