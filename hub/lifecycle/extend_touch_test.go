package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestExtendShiftMustLengthenAShift: an extension lengthens a shift of the
// worker's at its site: one running now (the shift grace before its start
// counts, as the worker may sign in then) that it makes end later, or one
// that ended at most lifecycle.MaxExtensionGap ago. Time that touches no
// shift (no shift that day, one that ended hours ago, one that has not
// started) is refused with ErrInvalid, naming the shift that would be
// needed and the worker's last and next shifts; nothing is stored or
// audited. ana's only shift runs t0+1h to t0+9h; the shift grace is 15m.
func TestExtendShiftMustLengthenAShift(t *testing.T) {
	stamp := func(d time.Duration) string { return t0.Add(d).UTC().Format(time.RFC3339) }
	for _, tc := range []struct {
		name       string
		now, until time.Duration // after t0
		msg        []string      // the refusal says; nil: accepted
	}{
		{"running, ends later", 8*time.Hour + 30*time.Minute, 11 * time.Hour, nil},
		{"in the grace before the start", 50 * time.Minute, 10 * time.Hour, nil},
		{"ended half an hour ago", 9*time.Hour + 30*time.Minute, 11 * time.Hour, nil},
		{"ended exactly the gap ago", 10 * time.Hour, 11 * time.Hour, nil},
		{"running, ends before the shift does", 8 * time.Hour, 8*time.Hour + 45*time.Minute,
			[]string{"ana's shift at site North already runs until " + stamp(9*time.Hour) + ": an extension must end later"}},
		{"running, ends with the shift", 8 * time.Hour, 9 * time.Hour, []string{"already runs until " + stamp(9*time.Hour)}},
		{"ended hours ago", 12 * time.Hour, 14 * time.Hour, []string{
			"ana has no shift at site North to extend: an extension lengthens a shift running now or one that ended at most 1h ago (after " + stamp(11*time.Hour) + ")",
			"ana's last shift there ended at " + stamp(9*time.Hour),
			"to have ana work until " + stamp(14*time.Hour) + ", add a shift to their schedule"}},
		{"no shift that day", 30 * time.Hour, 32 * time.Hour, []string{"ana has no shift at site North to extend", "last shift there ended at " + stamp(9*time.Hour)}},
		{"before the shift, outside the grace", 10 * time.Minute, 40 * time.Minute, []string{"ana has no shift at site North to extend", "the next starts at " + stamp(time.Hour)}},
		{"before the shift, reaching into it", 10 * time.Minute, 5 * time.Hour, []string{"the next starts at " + stamp(time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f := newExtendFixture(t)
			f.now = t0.Add(tc.now)
			x, _, err := f.eng.ExtendShift(ctx, lifecycle.Actor{Name: "token:admin", System: "api"}, "u-ana", "north", t0.Add(tc.until), "late handover")
			stored, lerr := f.st.ListShiftExtensions(ctx, "u-ana")
			if lerr != nil {
				t.Fatal(lerr)
			}
			recs, aerr := f.st.ListAudit(ctx, store.AuditQuery{Action: "shift.extend"})
			if aerr != nil {
				t.Fatal(aerr)
			}
			if tc.msg == nil {
				if err != nil {
					t.Fatalf("extend: %v", err)
				}
				if len(stored) != 1 || stored[0].ID != x.ID || !stored[0].End.Equal(t0.Add(tc.until)) || len(recs) != 1 {
					t.Errorf("stored %+v and %d audit records, want the extension and its record", stored, len(recs))
				}
				return
			}
			if !errors.Is(err, lifecycle.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %v\nwant it to say %q", err, m)
				}
			}
			if len(stored) != 0 || len(recs) != 0 {
				t.Errorf("a refused extension left %d extensions and %d audit records", len(stored), len(recs))
			}
		})
	}
}

// TestExtendShiftOfAnExtension: an extension is shift time at its own site
// only. After the shift, an extension running at South is extended again
// there, and so is one that ended within the gap; at North, where ana's
// shift ended more than the gap ago and no extension ran, an extension is
// refused.
func TestExtendShiftOfAnExtension(t *testing.T) {
	ctx := t.Context()
	f := newExtendFixture(t)
	admin := lifecycle.Actor{Name: "token:admin", System: "api"}
	if _, _, err := f.eng.ExtendShift(ctx, admin, "u-ana", "south", t0.Add(11*time.Hour), "night cover"); err != nil {
		t.Fatal(err)
	}
	f.now = t0.Add(10*time.Hour + 30*time.Minute)
	if _, _, err := f.eng.ExtendShift(ctx, admin, "u-ana", "north", t0.Add(12*time.Hour), "night cover"); !errors.Is(err, lifecycle.ErrInvalid) || !strings.Contains(err.Error(), "no shift at site North") {
		t.Errorf("extend at North after its shift: %v, want ErrInvalid", err)
	}
	if _, _, err := f.eng.ExtendShift(ctx, admin, "u-ana", "south", t0.Add(12*time.Hour), "night cover"); err != nil {
		t.Errorf("extend the running extension at South: %v", err)
	}
	f.now = t0.Add(12*time.Hour + 40*time.Minute)
	if _, _, err := f.eng.ExtendShift(ctx, admin, "u-ana", "south", t0.Add(14*time.Hour), "night cover"); err != nil {
		t.Errorf("extend at South 40m after the extension ended: %v", err)
	}
	if xs, err := f.st.ListShiftExtensions(ctx, "u-ana"); err != nil || len(xs) != 3 {
		t.Errorf("extensions %+v (%v), want 3", xs, err)
	}
}
