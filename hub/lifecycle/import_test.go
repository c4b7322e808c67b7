package lifecycle_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestImportShiftsUnknownUsers: userNames that name no user fail the whole
// import with one problem each, in line order, naming the user's first
// line in the file (not the line of its earliest shift) and how many more
// lines name it; at most shift.MaxProblems are listed, as for the file's
// other problems. Nothing changes.
func TestImportShiftsUnknownUsers(t *testing.T) {
	ctx := t.Context()
	st, log := openStore(t)
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	before := []store.Shift{{Start: t0.Add(time.Hour), End: t0.Add(9 * time.Hour)}}
	if _, err := eng.CreateUser(ctx, actor, store.User{ID: "u-ana", UserName: "ana", Active: true, Shifts: before}); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	var b strings.Builder
	b.WriteString("userName,start,end\n")
	// ghost's rows come later day first: its earliest shift is on its
	// last line, 4.
	for d := 3; d >= 1; d-- {
		fmt.Fprintf(&b, "ghost,%s,%s\n", day(d).Format(time.RFC3339), day(d).Add(8*time.Hour).Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "ana,%s,%s\n", day(1).Format(time.RFC3339), day(1).Add(8*time.Hour).Format(time.RFC3339))
	for i := range 150 {
		fmt.Fprintf(&b, "nobody%d,%s,%s\n", i, day(1).Format(time.RFC3339), day(1).Add(8*time.Hour).Format(time.RFC3339))
	}
	imp, err := shift.ParseCSV(strings.NewReader(b.String()), shift.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.ImportShifts(ctx, actor, imp, "week.csv", nil, false)
	var ie *shift.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("ImportShifts = %v, want an *shift.ImportError", err)
	}
	if len(ie.Problems) != shift.MaxProblems || !ie.Truncated {
		t.Fatalf("%d problems (truncated %v), want %d and truncated", len(ie.Problems), ie.Truncated, shift.MaxProblems)
	}
	if p := ie.Problems[0]; p.Line != 2 || !strings.Contains(p.Msg, `no user "ghost" (named on this line and 2 more)`) {
		t.Errorf("first problem = %s, want line 2 naming ghost and 2 more lines", p)
	}
	for i, p := range ie.Problems[1:] {
		if want := fmt.Sprintf("no user %q:", fmt.Sprintf("nobody%d", i)); p.Line != 6+i || !strings.Contains(p.Msg, want) {
			t.Fatalf("problem %d = %s, want line %d: %s", i+2, p, 6+i, want)
		}
	}
	u, err := st.GetUser(ctx, "u-ana")
	if err != nil {
		t.Fatal(err)
	}
	if !shift.Equal(u.Shifts, before) {
		t.Errorf("ana's shifts changed to %v", u.Shifts)
	}
}
