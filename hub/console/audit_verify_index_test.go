package console_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAuditVerifyChecksTheWatchHead: the console's Verify checks the
// trail against the record the hub's audit watch checked last, as `audit
// verify` checks audit.head. Records cut off the end leave every record
// left intact under the key, so until the watch's next check (a minute)
// the page said the trail was intact while the CLI said BROKEN.
func TestAuditVerifyChecksTheWatchHead(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{}) // the watch checks at start, then every minute
	admin := bootstrapAdmin(t, h)
	var checked int64
	for deadline := time.Now().Add(10 * time.Second); checked == 0; time.Sleep(20 * time.Millisecond) {
		r := admin.get("/console/audit")
		if m := watchedUpTo.FindStringSubmatch(r.Body); m != nil {
			checked, _ = strconv.ParseInt(m[1], 10, 64)
		} else if time.Now().After(deadline) {
			t.Fatalf("the audit page never said what the watch checked: %d %s", r.Status, r.Body)
		}
	}
	r := admin.get("/console/audit/verify")
	if !strings.Contains(r.Body, `data-ok="true"`) {
		t.Fatalf("verify of an intact trail: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, `id="verify-watched"`) {
		t.Errorf("verify does not say it checked against the watch's head:\n%s", r.Body)
	}
	hubtest.CutAuditTrail(t, h.DataDir, checked-1)
	r = admin.get("/console/audit/verify")
	if !strings.Contains(r.Body, `data-ok="false"`) || !strings.Contains(r.Body, "records were cut off the end") {
		t.Errorf("verify of a trail cut before record %d, which the watch checked: %d, want it broken:\n%s", checked, r.Status, r.Body)
	}
}

// TestAuditVerifyChecksSearchIndexes: the console's Verify checks the
// trail's search indexes (what its user and action filters, and a user's
// audit trail, read) against the records, which the chain does not
// cover: entries removed or added in hub.db hid a user's records from
// those searches or showed another's under them, and Verify said intact.
func TestAuditVerifyChecksSearchIndexes(t *testing.T) {
	tests := []struct {
		name   string
		tamper string // %d: the first record's seq, %s: its subject
		want   string // on the page; "": none
	}{
		{name: "untouched"},
		{name: "a subject's entries removed", tamper: `DELETE FROM audit_by_subject WHERE val = '%[2]s'`,
			want: `audit search index audit_by_subject: lacks (&#34;%[2]s&#34;, %[1]d)`},
		{name: "an action entry added", tamper: `INSERT INTO audit_by_action (val, seq) VALUES ('audit.alert', %[1]d)`,
			want: `audit search index audit_by_action: holds (&#34;audit.alert&#34;, %[1]d), but record %[1]d&#39;s action is`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{})
			admin := bootstrapAdmin(t, h)
			db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// The hub's index passes have indexed every record so far.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var caught bool
				if err := db.QueryRow(`SELECT (SELECT done FROM index_marks WHERE name = 'audit') = (SELECT MAX(seq) FROM audit)`).Scan(&caught); err != nil {
					t.Fatal(err)
				}
				if caught {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the deferred audit indexes never caught up")
				}
			}
			var (
				seq     int64
				subject string
			)
			if err := db.QueryRow(`SELECT seq, subject FROM audit ORDER BY seq LIMIT 1`).Scan(&seq, &subject); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != "" {
				if _, err := db.Exec(fmt.Sprintf(tt.tamper, seq, subject)); err != nil {
					t.Fatal(err)
				}
			}
			r := admin.get("/console/audit/verify")
			if !strings.Contains(r.Body, `data-ok="true"`) {
				t.Fatalf("the chain does not verify: %d %s", r.Status, r.Body)
			}
			last, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "audit.verify"})
			if err != nil || len(last) == 0 {
				t.Fatalf("the check is not on the record: %v %v", last, err)
			}
			var d map[string]any
			if err := json.Unmarshal(last[len(last)-1].Detail, &d); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if strings.Contains(r.Body, `id="verify-index"`) || d["ok"] != true {
					t.Errorf("untouched indexes reported: recorded %v\n%s", d, r.Body)
				}
				return
			}
			if want := fmt.Sprintf(tt.want, seq, subject); !strings.Contains(r.Body, `<p class="notice error" id="verify-index">`+want) {
				t.Errorf("verify page lacks %q:\n%s", want, r.Body)
			}
			if p, _ := d["index_problem"].(string); d["ok"] != false || !strings.Contains(p, "audit search index") {
				t.Errorf("the check is recorded as %v, want not ok, with the index problem", d)
			}
		})
	}
}
