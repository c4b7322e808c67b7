package governance_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// TestDecideRepeat: the same decision again by the actor who made it is
// answered with the item as recorded, whatever comment it carries that
// stands in the notes already; with a comment the notes lack (it would be
// lost), by another actor, or another decision, it is ErrConflict naming
// the decision, its maker and its time. A repeat records nothing.
func TestDecideRepeat(t *testing.T) {
	ctx := t.Context()
	e, ann, id := oneNurseItem(t)
	first, err := e.at(t0.Add(time.Hour)).gov.Decide(ctx, decider, id, "keep", "night shifts\non ward 3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gov.Decide(ctx, decider, id, "comment", "checked with HR"); err != nil {
		t.Fatal(err)
	}
	recorded := e.actions("user:" + ann.ID)
	e.at(t0.Add(2 * time.Hour))
	other := governance.Decider{Actor: lifecycle.Actor{Name: "token:t2 (other)", System: "api"}}
	for _, tc := range []struct {
		name              string
		d                 governance.Decider
		decision, comment string
		repeat            bool
	}{
		{"same, same comment", decider, "keep", "night shifts\non ward 3", true},
		{"same, no comment", decider, " Keep ", "", true},
		{"same, a later note's text", decider, "keep", "checked with HR", true},
		{"same, new comment", decider, "keep", "on ward 4 now", false},
		{"same, part of a line", decider, "keep", "night", false},
		{"another decision", decider, "revoke", "", false},
		{"another actor", other, "keep", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.gov.Decide(ctx, tc.d, id, tc.decision, tc.comment)
			if tc.repeat {
				if err != nil || v.Decision != "keep" || v.DecidedBy != actor.Name || !v.Decided.Equal(*first.Decided) || v.Comment != "night shifts\non ward 3\nchecked with HR" {
					t.Errorf("repeat: %+v, %v; want the keep recorded at %s", v, err, first.Decided)
				}
				return
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if !errors.Is(err, governance.ErrConflict) || !strings.Contains(msg, "already decided: keep by "+actor.Name+" at "+first.Decided.Format(time.RFC3339Nano)) {
				t.Errorf("Decide: %+v, %v; want a conflict saying keep by %s at %s", v, err, actor.Name, first.Decided)
			}
		})
	}
	if got := e.actions("user:" + ann.ID); !slices.Equal(got, recorded) {
		t.Errorf("audit after the repeats and refusals = %v, want %v", got, recorded)
	}
}
