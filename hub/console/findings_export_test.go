package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestFindingsExportRecord: each findings download, here an auditor's, is
// the file its findings.export record names: the record (by the auditor,
// system console) and Repr-Digest carry the SHA-256 of the body served,
// and the record says how the list was made (the format, and dormant_days
// when one was given: another threshold is another list, which whoever
// checks a copy against the trail must be able to make again). The
// headers name the format, and a user name a spreadsheet would run as a
// formula is neutralized in the CSV.
func TestFindingsExportRecord(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	// A role without a site: a finding about a user whose name is a formula.
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-eq", UserName: "=1+2", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-eq"}}); err != nil {
		t.Fatal(err)
	}
	aud := bootstrapAdmin(t, h).auditor("ivy")

	for _, tc := range []struct {
		name, query string
		format      string
		days        any // the record's dormantDays; nil: absent
	}{
		{"csv, the hub's default", "format=csv", "csv", nil},
		{"csv, 30 dormant days", "format=csv&dormant_days=30", "csv", float64(30)},
		{"json, 7 dormant days", "format=json&dormant_days=%207", "json", float64(7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := aud.do("GET", "/console/findings/export?"+tc.query, nil, ownPage...)
			if r.Status != http.StatusOK {
				t.Fatalf("download: %d %s", r.Status, r.Body)
			}
			sum := sha256.Sum256([]byte(r.Body))
			if got, want := r.Header.Get("Repr-Digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":"; got != want {
				t.Errorf("Repr-Digest %q, want %q", got, want)
			}
			ctype := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[tc.format]
			if got := r.Header.Get("Content-Type"); got != ctype {
				t.Errorf("Content-Type %q, want %q", got, ctype)
			}
			if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="shiftgate-findings.`+tc.format+`"`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}

			recs := auditRecords(t, h, "findings.export")
			if len(recs) == 0 {
				t.Fatal("no findings.export record")
			}
			rec := recs[0]
			var d map[string]any
			if err := json.Unmarshal(rec.Detail, &d); err != nil {
				t.Fatal(err)
			}
			if rec.Actor != "console:ivy" || rec.System != "console" || rec.Subject != "findings" ||
				d["sha256"] != hex.EncodeToString(sum[:]) || d["format"] != tc.format || d["findings"] != float64(1) {
				t.Errorf("findings.export record %s %s %s %s, want the auditor's, with the download's format, count and SHA-256", rec.Actor, rec.System, rec.Subject, rec.Detail)
			}
			if got, ok := d["dormantDays"]; tc.days == nil && ok || tc.days != nil && got != tc.days {
				t.Errorf("findings.export record's dormantDays %v (present: %v), want %v", got, ok, tc.days)
			}

			if tc.format != "csv" {
				return
			}
			rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
			if err != nil || len(rows) != 2 || rows[0][4] != "user" {
				t.Fatalf("CSV %q: %v, want a header and one finding", r.Body, err)
			}
			if rows[1][3] != "u-eq" || rows[1][4] != "'=1+2" {
				t.Errorf("the finding's user_id %q, user %q; want u-eq, '=1+2 (the formula neutralized)", rows[1][3], rows[1][4])
			}
		})
	}
}
