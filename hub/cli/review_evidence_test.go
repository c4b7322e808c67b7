package cli_test

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewShowEvidenceCSV: `review show --format csv` writes the
// campaign's evidence, one row per item under governance.EvidenceColumns,
// with the totals on stderr; each decided row's audit_seq and audit_hash
// name the review.decide record of that item in `audit export`, and the
// chain verifies. A formula in a user name is neutralized.
func TestReviewShowEvidenceCSV(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, log, eng := openEngine(t, dir)
	g, err := governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	admin := lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}
	ana, err := eng.CreateUser(ctx, admin, store.User{ID: "u-ana", UserName: "ana", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	evil, err := eng.CreateUser(ctx, admin, store.User{ID: "u-evil", UserName: "=1+2", Active: true, Sites: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGroup(ctx, admin, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{ana.ID, evil.ID}}); err != nil {
		t.Fatal(err)
	}
	c, err := g.StartCampaign(ctx, admin, governance.CampaignRequest{Name: "Q1", Due: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	decided := map[string]string{} // item ID -> decision
	for _, it := range c.Items {
		switch {
		case it.UserID == ana.ID && it.Kind == store.ReviewItemRole:
			decided[it.ID] = "revoke"
		case it.UserID == evil.ID && it.Kind == store.ReviewItemSite:
			decided[it.ID] = "keep"
		default:
			continue
		}
		if _, err := g.Decide(ctx, governance.Decider{Actor: admin}, it.ID, decided[it.ID], "checked"); err != nil {
			t.Fatal(err)
		}
	}
	if len(decided) != 2 || len(c.Items) != 4 {
		t.Fatalf("campaign items %+v", c.Items)
	}
	st.Close()

	code, out, errs := run(t, "review", "show", "--data", dir, "--id", c.ID, "--format", "csv")
	if code != 0 {
		t.Fatalf("review show --format csv: %d %q", code, errs)
	}
	if want := `campaign "Q1": 4 items, 2 decided (1 kept, 1 revoked, 0 already gone), 2 pending, completion 50.0%`; !strings.Contains(errs, want) {
		t.Errorf("stderr %q, want the totals %q", errs, want)
	}
	table, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(table) != 5 || strings.Join(table[0], ",") != strings.Join(governance.EvidenceColumns, ",") {
		t.Fatalf("evidence CSV: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, name := range table[0] {
		col[name] = i
	}

	// The exported trail, by seq.
	code, exported, errs := run(t, "audit", "export", "--data", dir)
	if code != 0 {
		t.Fatalf("audit export: %d %q", code, errs)
	}
	type record struct {
		Seq    int64  `json:"seq"`
		Action string `json:"action"`
		Hash   []byte `json:"hash"`
		Detail struct {
			Campaign, Item, Decision string
		} `json:"detail"`
	}
	bySeq := map[int64]record{}
	sc := bufio.NewScanner(strings.NewReader(exported))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		bySeq[r.Seq] = r
	}
	rows := 0
	for _, row := range table[1:] {
		get := func(name string) string { return row[col[name]] }
		if get("campaign_id") != c.ID || get("campaign_name") != "Q1" || get("scope") != "everything" {
			t.Errorf("campaign columns of %v", row)
		}
		if get("user_id") == evil.ID && get("user") != "'=1+2" {
			t.Errorf("user %q, want the formula neutralized as '=1+2", get("user"))
		}
		want, ok := decided[get("item_id")]
		if !ok {
			if get("decision") != "pending" || get("audit_seq") != "" || get("decided_at") != "" {
				t.Errorf("pending row %v", row)
			}
			continue
		}
		rows++
		seq, err := strconv.ParseInt(get("audit_seq"), 10, 64)
		rec, found := bySeq[seq]
		if err != nil || !found || rec.Action != "review.decide" || rec.Detail.Item != get("item_id") || rec.Detail.Campaign != c.ID ||
			rec.Detail.Decision != want || hex.EncodeToString(rec.Hash) != get("audit_hash") || get("audit_check") != "recorded" {
			t.Errorf("row of item %s: audit_seq %q (%s) names %+v (hash %s)", get("item_id"), get("audit_seq"), get("audit_check"), rec, base64.StdEncoding.EncodeToString(rec.Hash))
		}
		if _, err := time.Parse(time.RFC3339, get("decided_at")); err != nil || !strings.HasSuffix(get("decided_at"), "Z") {
			t.Errorf("decided_at %q is not RFC 3339 in UTC", get("decided_at"))
		}
	}
	if rows != 2 {
		t.Errorf("%d decided rows, want 2", rows)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 {
		t.Errorf("audit verify: %d %s %s", code, out, errs)
	}

	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"review", "show", "--data", dir, "--id", c.ID, "--format", "xlsx"}, 2, "text or json or csv"},
		{[]string{"review", "show", "--data", dir, "--id", "nope", "--format", "csv"}, 1, "no campaign nope"},
	} {
		if code, out, errs := run(t, tc.args...); code != tc.code || !strings.Contains(errs, tc.err) || out != "" {
			t.Errorf("%v: %d %q %q, want exit %d saying %q", tc.args, code, out, errs, tc.code, tc.err)
		}
	}
}
