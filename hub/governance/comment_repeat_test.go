package governance_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// TestCommentRepeat: the same comment sent again by the same actor on the
// same item, right after (a retry whose answer was lost, a form sent
// twice), is answered with the item as it is and adds neither a note nor
// an audit record, as a repeated keep or revoke does; the same text by
// another actor, after another note, or later than the window, is a note
// of its own.
func TestCommentRepeat(t *testing.T) {
	ctx := t.Context()
	e, ann, id := oneNurseItem(t)
	comments := func() int {
		return len(slices.DeleteFunc(e.actions("user:"+ann.ID), func(a string) bool { return a != "review.comment" }))
	}
	other := governance.Decider{Actor: lifecycle.Actor{Name: "token:t2 (other)", System: "api"}}
	steps := []struct {
		name      string
		at        time.Duration
		d         governance.Decider
		comment   string
		wantNotes string
		wantRecs  int
	}{
		{"first", time.Hour, decider, "asked HR", "asked HR", 1},
		{"retried", time.Hour + time.Second, decider, " asked HR ", "asked HR", 1},
		{"retried again", time.Hour + 5*time.Minute, decider, "asked HR", "asked HR", 1},
		{"another actor", time.Hour + 6*time.Minute, other, "asked HR", "asked HR\nasked HR", 2},
		{"its retry", time.Hour + 6*time.Minute, other, "asked HR", "asked HR\nasked HR", 2},
		{"first actor after another's", time.Hour + 7*time.Minute, decider, "asked HR", "asked HR\nasked HR\nasked HR", 3},
		{"a new note", time.Hour + 8*time.Minute, decider, "still waiting", "asked HR\nasked HR\nasked HR\nstill waiting", 4},
		{"an older note again", time.Hour + 9*time.Minute, decider, "asked HR", "asked HR\nasked HR\nasked HR\nstill waiting\nasked HR", 5},
		{"after the window", time.Hour + 30*time.Minute, decider, "asked HR", "asked HR\nasked HR\nasked HR\nstill waiting\nasked HR\nasked HR", 6},
	}
	for _, s := range steps {
		v, err := e.at(t0.Add(s.at)).gov.Decide(ctx, s.d, id, "comment", s.comment)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if v.Comment != s.wantNotes || v.Decision != "pending" {
			t.Errorf("%s: answered %q (%s), want %q (pending)", s.name, v.Comment, v.Decision, s.wantNotes)
		}
		it, err := e.st.GetReviewItem(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if it.Comment != s.wantNotes {
			t.Errorf("%s: notes %q, want %q", s.name, it.Comment, s.wantNotes)
		}
		if n := comments(); n != s.wantRecs {
			t.Errorf("%s: %d review.comment records, want %d", s.name, n, s.wantRecs)
		}
	}
}
