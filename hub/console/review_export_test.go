package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestReviewEvidenceExport: the campaign page links the evidence export;
// an admin downloads it as CSV (one row per item, each decided row naming
// the review.decide record of its item) and as JSON (with the totals);
// each download is recorded as review.export with the SHA-256 of the file
// served. A supervisor gets 403, another site's link 403, a HEAD 405, and
// none of these is recorded.
func TestReviewEvidenceExport(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := admin.post("/console/reviews", url.Values{"name": {"Q4 north"}, "due": {due}, "sites": {"north"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	campaign := strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	niaRole := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	kimRole := item(t, h, campaign, "u-kim", store.ReviewItemRole, "Nurse")
	if r := admin.post("/console/review-items/"+niaRole.ID, url.Values{"decision": {"revoke"}, "comment": {"=moved to pharmacy"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := admin.post("/console/review-items/"+kimRole.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("keep: %d %s", r.Status, r.Body)
	}
	export := "/console/reviews/" + campaign + "/export"
	if page := admin.get("/console/reviews/" + campaign); !strings.Contains(page.Body, `href="`+export+`?format=csv"`) || !strings.Contains(page.Body, "Export evidence (CSV)") {
		t.Errorf("the campaign page does not link the evidence export")
	}

	// Refusals record nothing.
	before := auditCount(t, h)
	for _, tc := range []struct {
		name    string
		c       *client
		method  string
		path    string
		headers []string
		want    int
	}{
		{"supervisor", sup, "GET", export + "?format=csv", nil, http.StatusForbidden},
		{"link from another site", admin, "GET", export + "?format=csv", linkFrom("same-site"), http.StatusForbidden},
		{"HEAD", admin, "HEAD", export + "?format=csv", ownPage, http.StatusMethodNotAllowed},
		{"unknown format", admin, "GET", export + "?format=xlsx", nil, http.StatusBadRequest},
		{"no format", admin, "GET", export, nil, http.StatusBadRequest},
		{"unknown campaign", admin, "GET", "/console/reviews/no-such-campaign/export?format=csv", nil, http.StatusNotFound},
	} {
		if r := tc.c.do(tc.method, tc.path, nil, tc.headers...); r.Status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.want)
		}
	}
	if n := auditCount(t, h); n != before {
		t.Errorf("refused exports wrote %d audit records", n-before)
	}

	// CSV.
	down := admin.do("GET", export+"?format=csv", nil, ownPage...)
	if down.Status != http.StatusOK || down.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		down.Header.Get("Content-Disposition") != `attachment; filename="shiftgate-review-`+campaign+`.csv"` {
		t.Fatalf("CSV export: %d %v %s", down.Status, down.Header, down.Body)
	}
	table, err := csv.NewReader(strings.NewReader(down.Body)).ReadAll()
	items, _ := h.Store().ListReviewItems(t.Context(), store.ReviewItemQuery{CampaignID: campaign})
	if err != nil || len(table) != len(items)+1 || strings.Join(table[0], ",") != strings.Join(governance.EvidenceColumns, ",") {
		t.Fatalf("CSV export: %v, %d rows for %d items:\n%s", err, len(table)-1, len(items), down.Body)
	}
	col := map[string]int{}
	for i, name := range table[0] {
		col[name] = i
	}
	decided := map[string]string{niaRole.ID: "revoke", kimRole.ID: "keep"}
	for _, row := range table[1:] {
		get := func(name string) string { return row[col[name]] }
		want, ok := decided[get("item_id")]
		if !ok {
			continue
		}
		delete(decided, get("item_id"))
		seq, err := strconv.ParseInt(get("audit_seq"), 10, 64)
		if err != nil {
			t.Errorf("item %s: audit_seq %q", get("item_id"), get("audit_seq"))
			continue
		}
		recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{AfterSeq: seq - 1, Limit: 1})
		var detail struct{ Campaign, Item, Decision string }
		if len(recs) != 1 || json.Unmarshal(recs[0].Detail, &detail) != nil || recs[0].Action != "review.decide" || detail.Item != get("item_id") ||
			detail.Campaign != campaign || detail.Decision != want || hex.EncodeToString(recs[0].Hash) != get("audit_hash") {
			t.Errorf("item %s: audit_seq %d names %+v, want its review.decide record", get("item_id"), seq, recs)
		}
		if get("decided_by") != "console:ada@example.org" || get("audit_check") != "recorded" || get("decision") != want {
			t.Errorf("row %v", row)
		}
		if get("item_id") == niaRole.ID && (get("comment") != "'=moved to pharmacy" || get("outcome") != "revoked" || get("on_behalf_of") != "sun") {
			t.Errorf("nia's row: comment %q outcome %q on behalf of %q, want the formula neutralized, revoked, sun", get("comment"), get("outcome"), get("on_behalf_of"))
		}
	}
	if len(decided) != 0 {
		t.Errorf("decided items missing from the CSV: %v", decided)
	}

	// JSON, with the totals.
	jdown := admin.do("GET", export+"?format=json", nil, "Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	var ev governance.Evidence
	if jdown.Status != http.StatusOK || jdown.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(jdown.Body), &ev) != nil {
		t.Fatalf("JSON export: %d %s", jdown.Status, jdown.Body)
	}
	if tt := ev.Totals; ev.Campaign.ID != campaign || tt.Items != len(items) || tt.Decided != 2 || tt.Kept != 1 || tt.Revoked != 1 || tt.Gone != 0 ||
		tt.Pending != len(items)-2 || tt.CompletionRate == nil || tt.AuditUnmatched != 0 || len(ev.Items) != len(items) {
		t.Errorf("JSON export totals %+v of %d items", ev.Totals, len(ev.Items))
	}

	// Each download is recorded, with what was served.
	recs, err := h.Store().SearchAudit(t.Context(), store.AuditSearch{Action: "review.export"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d review.export records (%v), want 2", len(recs), err)
	}
	for i, body := range []string{jdown.Body, down.Body} { // newest first
		rec := recs[i]
		var d struct {
			Format, SHA256 string
			Items          int
		}
		json.Unmarshal(rec.Detail, &d)
		sum := sha256.Sum256([]byte(body))
		if rec.Actor != "console:ada@example.org" || rec.Subject != "review:"+campaign || d.SHA256 != hex.EncodeToString(sum[:]) || d.Items != len(items) {
			t.Errorf("review.export record %s %s %s, want the admin, the campaign and the file's SHA-256 %x", rec.Actor, rec.Subject, rec.Detail, sum)
		}
	}
	sum := sha256.Sum256([]byte(down.Body))
	if got := down.Header.Get("Repr-Digest"); got != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
		t.Errorf("Repr-Digest %q", got)
	}
}
