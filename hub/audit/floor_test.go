package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// TestVerifySeesRecordsNumberedBelowOne: the hub numbers records from 1
// and every walk reads "after record 0", so a row numbered 0 or below is
// one nobody sealed. Someone with write access to the database file adds
// one with a plain INSERT (the guards refuse only UPDATE and DELETE), and
// the console's audit search, which has no lower bound, shows it as part
// of the trail. Verify must report it, not say the chain is intact.
func TestVerifySeesRecordsNumberedBelowOne(t *testing.T) {
	for _, seq := range []int64{0, -7} {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.db")
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			key := bytes.Repeat([]byte{3}, 32)
			l, _ := audit.New(key, nil)
			appendN(t, st, l, 5)

			db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// The store refuses such a row (a trigger); whoever holds the
			// file can drop it, as the append-only guards.
			forge := `INSERT INTO audit SELECT ?, time, 'console:alice', 'review.decide', 'user:bob', 'console',
				CAST('{}' AS BLOB), NULL, hash FROM audit WHERE seq = 1`
			if _, err := db.Exec(forge, seq); err == nil || !strings.Contains(err.Error(), "numbered from 1") {
				t.Fatalf("a row numbered %d inserted past the store: %v, want it refused", seq, err)
			}
			if _, err := db.Exec(`DROP TRIGGER IF EXISTS audit_seq_from_one`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO audit SELECT ?, time, 'console:alice', 'review.decide', 'user:bob', 'console',
				CAST('{"campaign":"c1","item":"i1","decision":"keep"}' AS BLOB), NULL, hash FROM audit WHERE seq = 1`, seq); err != nil {
				t.Fatal(err)
			}
			// What the console's audit page shows of the trail (a search
			// without filters, newest first) holds the forged row.
			shown, err := st.SearchAudit(t.Context(), store.AuditSearch{Limit: 100})
			if err != nil || len(shown) != 6 || shown[5].Seq != seq || shown[5].Action != "review.decide" {
				t.Fatalf("setup: console search = %v, %v; want the forged record %d", shown, err, seq)
			}

			_, err = audit.Verify(t.Context(), key, st)
			var broken *audit.BrokenError
			if !errors.As(err, &broken) || broken.Seq != seq || !strings.Contains(broken.Reason, "outside the hub") {
				t.Fatalf("Verify with a record numbered %d = %v; want it broken at that record", seq, err)
			}

			// The watch's first walk is a whole-trail Verify: it finds it too.
			var alerts int
			wt, err := audit.NewWatcher(audit.WatchConfig{Key: key, Trail: st, Dir: t.TempDir(), Pause: 0.01,
				Alert: func(ctx context.Context, e audit.Entry) error { alerts++; return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if err := wt.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := wt.Status(); st.Breaks != 1 || st.Stopped == "" || alerts != 1 {
				t.Errorf("watch on a trail with record %d: status %+v, %d alerts; want one break, stopped", seq, st, alerts)
			}
		})
	}
}
