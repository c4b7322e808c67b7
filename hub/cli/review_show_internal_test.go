package cli

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// campaignReads counts the reads of every item of a campaign at once.
type campaignReads struct {
	store.Store
	whole atomic.Int64
}

func (s *campaignReads) ListReviewItems(ctx context.Context, q store.ReviewItemQuery) ([]store.ReviewItem, error) {
	if q.CampaignID != "" {
		s.whole.Add(1)
	}
	return s.Store.ListReviewItems(ctx, q)
}

// nurseCampaign provisions ten users of site north, u-00 to u-09, whose
// userNames name makes of 0 to 9, in the group Nurse; starts the campaign
// "Q1" over them (20 items); and decides two of its items (keep). It
// returns the campaign and the users' IDs.
func nurseCampaign(t *testing.T, eng *lifecycle.Engine, g *governance.Service, name string) (governance.CampaignPage, []string) {
	t.Helper()
	ctx := t.Context()
	admin := lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}
	var members []string
	for i := range 10 {
		u, err := eng.CreateUser(ctx, admin, store.User{ID: fmt.Sprintf("u-%02d", i), UserName: fmt.Sprintf(name, i), Active: true, Sites: []string{"north"}})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	if _, err := eng.CreateGroup(ctx, admin, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: members}); err != nil {
		t.Fatal(err)
	}
	c, err := g.StartCampaign(ctx, admin, governance.CampaignRequest{Name: "Q1", Due: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range c.Items[3:5] {
		if _, err := g.Decide(ctx, governance.Decider{Actor: admin}, it.ID, "keep", "checked"); err != nil {
			t.Fatal(err)
		}
	}
	return c, members
}

// TestReviewShowPages: `review show` (text and JSON) reads a campaign a
// page at a time, never every item at once (it read them all, with the
// deleted users of every one, however large the campaign), and writes
// what it wrote from the whole campaign: the JSON byte for byte, the text
// row for row, across pages (here of 7 items; the command's are
// governance.MaxItemCount).
func TestReviewShowPages(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := audit.New(make([]byte, 32), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	counted := &campaignReads{Store: st}
	g, err := governance.New(governance.Config{Store: counted, Audit: log, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, members := nurseCampaign(t, eng, g, "<w%02d>")
	admin := lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}
	if err := eng.DeleteUser(ctx, admin, members[9]); err != nil {
		t.Fatal(err)
	}
	counted.whole.Store(0)

	var gotJSON, gotText bytes.Buffer
	if err := showCampaign(ctx, &gotJSON, g, c.ID, "json", 7); err != nil {
		t.Fatal(err)
	}
	if err := showCampaign(ctx, &gotText, g, c.ID, "text", 7); err != nil {
		t.Fatal(err)
	}
	if n := counted.whole.Load(); n != 0 {
		t.Errorf("review show read every item of the campaign %d times; want none", n)
	}

	whole, err := g.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Items) != 20 {
		t.Fatalf("campaign of %d items, want 20 (3 pages)", len(whole.Items))
	}
	var wantJSON bytes.Buffer
	if err := writeJSON(&wantJSON, whole); err != nil {
		t.Fatal(err)
	}
	if gotJSON.String() != wantJSON.String() {
		t.Errorf("review show --format json wrote\n%s\nwant\n%s", &gotJSON, &wantJSON)
	}
	var rows []string
	for _, line := range strings.Split(gotText.String(), "\n")[3:] {
		if line != "" {
			rows = append(rows, strings.Join(strings.Fields(line), " "))
		}
	}
	var want []string
	for _, it := range whole.Items {
		want = append(want, strings.Join([]string{it.ID, it.User, it.Kind, it.Entitlement, it.Reviewer, it.Decision, stampPtr(it.Escalated)}, " "))
	}
	if !slices.Equal(rows, want) {
		t.Errorf("review show rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}

	// A campaign without items: no "items" in the JSON, as before.
	empty, err := g.StartCampaign(ctx, admin, governance.CampaignRequest{Name: "none", Due: time.Now().Add(48 * time.Hour), Scope: store.ReviewScope{Sites: []string{"nowhere"}}})
	if err != nil {
		t.Fatal(err)
	}
	gotJSON.Reset()
	wantJSON.Reset()
	if err := showCampaign(ctx, &gotJSON, g, empty.ID, "json", 7); err != nil {
		t.Fatal(err)
	}
	none, err := g.Campaign(ctx, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(&wantJSON, none); err != nil {
		t.Fatal(err)
	}
	if gotJSON.String() != wantJSON.String() {
		t.Errorf("review show --format json of an empty campaign wrote\n%s\nwant\n%s", &gotJSON, &wantJSON)
	}
}
