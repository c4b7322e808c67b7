package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// stoppedRun is governance whose run of the due reviews fails with err
// after doing out.
type stoppedRun struct {
	Governance
	out governance.Started
	err error
}

func (g *stoppedRun) RunDueAs(ctx context.Context, a lifecycle.Actor) (governance.Started, error) {
	return g.out, g.err
}

// TestReviewRunStoppedPartWay: the Reviews page's run button whose run
// fails (the disk full) after it started a campaign and handed items on
// answers the outage's status with what it did before, which stays done,
// and that the rest needs running again, on the page and in JSON. It
// answered the error alone, whose words for a full disk are that nothing
// was changed. A run that fails before it does anything still says so.
func TestReviewRunStoppedPartWay(t *testing.T) {
	full := fmt.Errorf("escalate overdue review items: %w", fmt.Errorf("%w: commit: database or disk is full", store.ErrFull))
	for _, tc := range []struct {
		name    string
		out     governance.Started
		json    bool
		want    []string
		notWant string
	}{
		{name: "part way", out: governance.Started{Campaigns: []string{"c-1"}, Escalated: 200, Reassigned: 3},
			want: []string{"stopped part way (the database or the disk is full)", "started 1 default campaign,", "escalated 200 overdue items",
				"handed on 3 items of reviewers who left", "stays done", "Run it again for the rest"}, notWant: "nothing was changed"},
		{name: "part way, JSON", out: governance.Started{Campaigns: []string{}, Escalated: 200}, json: true,
			want: []string{"stopped part way", "started 0 default campaigns", "escalated 200 overdue items", "Run it again"}, notWant: "nothing was changed"},
		{name: "nothing done", out: governance.Started{Campaigns: []string{}},
			want: []string{"nothing was changed"}, notWant: "part way"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSelfRace(t)
			r.c.cfg.Governance = &stoppedRun{out: tc.out, err: full}
			ada := r.account(t, "ada", store.ConsoleAdmin)
			req := httptest.NewRequest("POST", "/console/reviews/run", nil)
			if tc.json {
				req.Header.Set("Accept", "application/json")
			}
			w := httptest.NewRecorder()
			r.c.run(w, req, ada, r.c.reviewRunDue)
			if w.Code != http.StatusInsufficientStorage {
				t.Errorf("status %d, want 507 (the disk full)", w.Code)
			}
			body := w.Body.String()
			if tc.json {
				var got struct {
					Error     string   `json:"error"`
					Campaigns []string `json:"campaigns_started"`
					Escalated int      `json:"items_escalated"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if got.Escalated != tc.out.Escalated || got.Campaigns == nil {
					t.Errorf("body %s: want items_escalated %d and campaigns_started []", body, tc.out.Escalated)
				}
				body = got.Error
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("the answer does not say %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, tc.notWant) {
				t.Errorf("the answer says %q:\n%s", tc.notWant, body)
			}
		})
	}
}
