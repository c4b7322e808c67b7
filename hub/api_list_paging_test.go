package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// listAnswer returns the IDs of the entries of an answer's array field,
// and its paging fields.
func listAnswer(t *testing.T, m map[string]any, field string) (ids []string, total, start, perPage float64) {
	t.Helper()
	list, ok := m[field].([]any)
	if !ok {
		t.Fatalf("answer without a %s array: %v", field, m)
	}
	for _, e := range list {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	total, _ = m["totalResults"].(float64)
	start, _ = m["startIndex"].(float64)
	perPage, _ = m["itemsPerPage"].(float64)
	return ids, total, start, perPage
}

// checkListPaged checks that the list at path (its entries in the answer's
// field) pages as a campaign's items do, want being the whole list in its
// order, longer than one page of 3: three pages of 3 neither skip nor
// repeat an entry, each with the total; no parameters is the whole list,
// and so is a count over the cap (normalized to the cap, not refused);
// a count or startIndex that is no integer is 400.
func checkListPaged(t *testing.T, h *hubtest.Hub, path, field string, want []string) {
	t.Helper()
	if len(want) <= 6 || len(want) > 9 {
		t.Fatalf("%s: %d entries, want 7 to 9 for three pages of 3", path, len(want))
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	get := func(query string) map[string]any {
		t.Helper()
		return wantAPI(t, h.API(t, "GET", path+query, nil), http.StatusOK)
	}
	var got []string
	for i := range 3 {
		ids, total, start, per := listAnswer(t, get(fmt.Sprintf("%sstartIndex=%d&count=3", sep, 1+3*i)), field)
		wantN := min(3, len(want)-3*i)
		if len(ids) != wantN || total != float64(len(want)) || start != float64(1+3*i) || per != float64(wantN) {
			t.Errorf("%s page %d: %d entries, totalResults %v, startIndex %v, itemsPerPage %v; want %d of %d from %d",
				path, i+1, len(ids), total, start, per, wantN, len(want), 1+3*i)
		}
		got = append(got, ids...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: three pages hold\n%v\nwant the list in its order\n%v", path, got, want)
	}
	for _, query := range []string{"", sep + "count=5000", sep + "count=99999999999999999999"} {
		ids, total, start, per := listAnswer(t, get(query), field)
		if !slices.Equal(ids, want) || total != float64(len(want)) || start != 1 || per != float64(len(want)) {
			t.Errorf("%s%s: %v, totalResults %v, startIndex %v, itemsPerPage %v; want the whole list of %d", path, query, ids, total, start, per, len(want))
		}
	}
	if ids, total, _, per := listAnswer(t, get(sep+"count=0"), field); len(ids) != 0 || total != float64(len(want)) || per != 0 {
		t.Errorf("%s count=0: %d entries, totalResults %v, itemsPerPage %v; want the total only", path, len(ids), total, per)
	}
	for _, q := range []string{"count=ten", "startIndex=1.5"} {
		if r := h.API(t, "GET", path+sep+q, nil); r.Status != http.StatusBadRequest || r.JSON()["error"] == nil {
			t.Errorf("GET %s%s%s: %d %s, want 400 with an error", path, sep, q, r.Status, r.Body)
		}
	}
}

// TestGrantsPaged: GET /api/v1/users/{userName}/grants pages a user's
// grants, past and revoked ones included, by start and then ID; a client
// that does not page gets the first 1000, with a total that says there
// are more.
func TestGrantsPaged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	jo := createUser(t, h, "jo", `{"sites":["north"]}`)
	al := createUser(t, h, "al", `{"sites":["north"]}`)
	now := time.Now().UTC().Truncate(time.Second)
	var want []string
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		// Starts out of order, two at one instant: the ID breaks the tie.
		for i, hr := range []int{5, 1, 9, 3, 3, 7, 2, 8} {
			g := store.Grant{ID: fmt.Sprintf("g%d", i), UserID: jo, Role: "Nurse", Site: "north", Reason: "cover", Approver: "token:ab",
				Start: now.Add(time.Duration(hr) * time.Hour), End: now.Add(time.Duration(hr+1) * time.Hour), Created: now}
			if i == 2 {
				g.Revoked = now
			}
			if _, err := tx.CreateGrant(t.Context(), g); err != nil {
				return err
			}
		}
		for i := range 1001 {
			if _, err := tx.CreateGrant(t.Context(), store.Grant{ID: fmt.Sprintf("al%04d", i), UserID: al, Role: "Nurse", Site: "north",
				Reason: "cover", Approver: "token:ab", Start: now.Add(-time.Duration(i) * time.Minute), End: now.Add(time.Hour), Created: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := h.Store().ListGrants(t.Context(), jo)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		want = append(want, g.ID)
	}
	if !slices.Equal(want, []string{"g1", "g6", "g3", "g4", "g0", "g5", "g7", "g2"}) {
		t.Fatalf("stored order %v: the test's grants are not as it means them", want)
	}
	checkListPaged(t, h, "/api/v1/users/jo/grants", "grants", want)

	ids, total, start, per := listAnswer(t, wantAPI(t, h.API(t, "GET", "/api/v1/users/al/grants", nil), http.StatusOK), "grants")
	if len(ids) != 1000 || total != 1001 || start != 1 || per != 1000 || ids[0] != "al1000" {
		t.Errorf("1001 grants without paging: %d from %v, totalResults %v, startIndex %v, itemsPerPage %v; want the first 1000 of 1001", len(ids), ids[:1], total, start, per)
	}
	ids, total, _, _ = listAnswer(t, wantAPI(t, h.API(t, "GET", "/api/v1/users/al/grants?startIndex=1000&count=5000", nil), http.StatusOK), "grants")
	if !slices.Equal(ids, []string{"al0001", "al0000"}) || total != 1001 {
		t.Errorf("the last two of 1001 grants: %v, totalResults %v", ids, total)
	}
	if r := h.API(t, "GET", "/api/v1/users/nobody/grants?count=3", nil); r.Status != http.StatusNotFound {
		t.Errorf("grants of an unknown user: %d %s, want 404", r.Status, r.Body)
	}
}

// TestShiftExtensionsPaged: GET /api/v1/users/{userName}/shifts pages the
// user's extensions, by start and then ID; its shifts are shown whole.
func TestShiftExtensionsPaged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	jo := createUser(t, h, "jo", `{"sites":["north"]}`)
	now := time.Now().UTC().Truncate(time.Second)
	for i, hr := range []int{4, 2, 2, 6, 1, 8, 3} {
		x := store.ShiftExtension{ID: fmt.Sprintf("x%d", i), UserID: jo, Site: "north", Start: now.Add(time.Duration(hr) * time.Hour),
			End: now.Add(time.Duration(hr+1) * time.Hour), Reason: "handover", Approver: "token:ab", Created: now}
		if _, err := h.Store().CreateShiftExtension(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	shifts := `[{"start":"` + now.Format(time.RFC3339) + `","end":"` + now.Add(8*time.Hour).Format(time.RFC3339) + `"}]`
	wantAPI(t, h.API(t, "PUT", "/api/v1/users/jo/shifts", json.RawMessage(shifts)), http.StatusOK)
	want := []string{"x4", "x1", "x2", "x6", "x0", "x3", "x5"}
	checkListPaged(t, h, "/api/v1/users/jo/shifts", "extensions", want)
	m := wantAPI(t, h.API(t, "GET", "/api/v1/users/jo/shifts?startIndex=7&count=3", nil), http.StatusOK)
	if ss, _ := m["shifts"].([]any); len(ss) != 1 || m["user"] != "jo" {
		t.Errorf("a page of the extensions: shifts %v, user %v; want the one shift of jo", m["shifts"], m["user"])
	}
}

// TestReviewsPaged: GET /api/v1/reviews pages the campaigns in the order
// they were started; the reviewers' progress counts every campaign, on
// every page, as the unpaged overview (Governance.Campaigns) does.
func TestReviewsPaged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, name := range []string{"w1", "w2"} {
		createUser(t, h, name, `{"sites":["north"]}`)
	}
	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	var want []string
	for i := range 8 {
		c := wantAPI(t, h.API(t, "POST", "/api/v1/reviews", fmt.Sprintf(`{"name":"c%d","due":%q}`, i, due)), http.StatusCreated)
		want = append(want, c["id"].(string))
		if i%3 == 0 {
			// Decided items count in the reviewers' progress.
			items := c["items"].([]any)
			item := items[0].(map[string]any)["id"].(string)
			wantAPI(t, h.API(t, "POST", "/api/v1/reviews/"+c["id"].(string)+"/items/"+item, `{"decision":"keep"}`), http.StatusOK)
		}
	}
	cs, err := h.Store().ListCampaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, c := range cs {
		stored = append(stored, c.ID)
	}
	if !slices.Equal(stored, want) {
		t.Fatalf("stored order %v, want the order started %v", stored, want)
	}
	checkListPaged(t, h, "/api/v1/reviews", "campaigns", want)

	o, err := h.Governance().Campaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(o.Reviewers)
	if err != nil {
		t.Fatal(err)
	}
	var all []any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("the overview has no reviewers")
	}
	for _, q := range []string{"", "?startIndex=4&count=3", "?count=0", "?startIndex=100"} {
		m := wantAPI(t, h.API(t, "GET", "/api/v1/reviews"+q, nil), http.StatusOK)
		if d := cmp.Diff(all, m["reviewers"]); d != "" {
			t.Errorf("GET /api/v1/reviews%s: reviewers differ from every campaign's (-want +got):\n%s", q, d)
		}
	}
}

// TestFindingsPaged: GET /api/v1/findings pages the findings in their
// order (kind, rule, user, ID).
func TestFindingsPaged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	// A group role of a user with no sites is a finding each.
	var ids []string
	for i := range 8 {
		ids = append(ids, createUser(t, h, fmt.Sprintf("w%d", i), ""))
	}
	createGroup(t, h, "Nurse", ids...)
	fs, err := h.Governance().Findings(t.Context(), governance.FindingsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range fs {
		want = append(want, f.ID)
	}
	checkListPaged(t, h, "/api/v1/findings", "findings", want)
	m := wantAPI(t, h.API(t, "GET", "/api/v1/findings?dormant_days=30&startIndex=2&count=1", nil), http.StatusOK)
	if got, total, _, _ := listAnswer(t, m, "findings"); !slices.Equal(got, want[1:2]) || total != float64(len(want)) || m["generated_at"] == nil {
		t.Errorf("with dormant_days: %v, totalResults %v, generated_at %v; want %v of %d", got, total, m["generated_at"], want[1:2], len(want))
	}
}
