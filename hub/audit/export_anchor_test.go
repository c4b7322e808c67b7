package audit_test

import (
	"bytes"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// cutFrom removes the records from seq on, as someone who hides the
// newest records does.
func cutFrom(seq int64) func(*testing.T, *sql.DB) {
	return func(t *testing.T, db *sql.DB) { exec(t, db, `DELETE FROM audit WHERE seq >= ?`, seq) }
}

// rewriteFrom edits record seq and re-seals it and every record after it
// under key, as someone who holds audit.key rewrites the trail.
func rewriteFrom(key []byte, seq int64) func(*testing.T, *sql.DB) {
	return func(t *testing.T, db *sql.DB) {
		exec(t, db, `UPDATE audit SET actor = 'nobody' WHERE seq = ?`, seq)
		reseal(t, db, key, seq)
	}
}

// TestSignedExportHonoursAnchors: an export signed with an anchor the hub
// holds (its audit watch's head) is not signed when the trail contradicts
// the anchor. Every record left holds under the key after records are cut
// off the end, or after a trail is rewritten with the key, so checking
// the records alone, the hub would sign a trail its own audit verify
// calls broken, and an auditor checking the export with the public key
// alone would be told it is intact.
// relink points record seq at a hash that is no record's and re-seals it
// and every record after it under key: the records from seq on hold
// under the key and link up among themselves, but not to the record
// before them, which only an anchor there shows in an export after it.
func relink(key []byte, seq int64) func(*testing.T, *sql.DB) {
	return func(t *testing.T, db *sql.DB) {
		var r store.AuditRecord
		var ns int64
		if err := db.QueryRow(`SELECT seq, time, actor, action, subject, system, detail FROM audit WHERE seq = ?`, seq).
			Scan(&r.Seq, &ns, &r.Actor, &r.Action, &r.Subject, &r.System, &r.Detail); err != nil {
			t.Fatal(err)
		}
		r.Time = time.Unix(0, ns).UTC()
		r.Prev = bytes.Repeat([]byte{9}, 32)
		exec(t, db, `UPDATE audit SET prev = ?, hash = ? WHERE seq = ?`, r.Prev, sealWith(key, r), seq)
		reseal(t, db, key, seq+1)
	}
}

func TestSignedExportHonoursAnchors(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s := signerFrom(t, 2)
	tests := []struct {
		name   string
		tamper func(*testing.T, *sql.DB)
		after  int64
		anchor int64 // the record of the original trail anchored
		want   int64 // the record named broken; 0: signed
		// anchored: the record is there with another hash.
		anchored bool
	}{
		{name: "intact", anchor: 5},
		{name: "intact, after the anchor", after: 5, anchor: 5},
		{name: "intact, anchor before the head", after: 2, anchor: 4},
		{name: "intact, anchor before the export", after: 4, anchor: 2},
		{name: "last two cut", tamper: cutFrom(4), anchor: 5, want: 4},
		{name: "last two cut, export after 3", tamper: cutFrom(4), after: 3, anchor: 5, want: 4},
		{name: "all cut", tamper: cutFrom(1), anchor: 5, want: 1},
		{name: "anchored record cut, export after it", tamper: cutFrom(3), after: 4, anchor: 3, want: 3},
		{name: "rewritten with the key", tamper: rewriteFrom(key, 2), anchor: 5, want: 5, anchored: true},
		{name: "rewritten with the key, anchor at after", tamper: rewriteFrom(key, 2), after: 3, anchor: 3, want: 3, anchored: true},
		{name: "relinked with the key after the anchor", tamper: relink(key, 4), after: 3, anchor: 3, want: 4, anchored: true},
		{name: "rewritten with the key, anchor before the export", tamper: rewriteFrom(key, 2), after: 4, anchor: 2, want: 2, anchored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.db")
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			l, _ := audit.New(key, nil)
			appendN(t, st, l, 5)
			recs, err := st.ListAudit(t.Context(), store.AuditQuery{})
			if err != nil || len(recs) != 5 {
				t.Fatalf("ListAudit = %d records, %v", len(recs), err)
			}
			anchor := audit.Anchor{Seq: recs[tt.anchor-1].Seq, Hash: recs[tt.anchor-1].Hash}
			if tt.tamper != nil {
				tt.tamper(t, tamperer(t, path))
			}

			var b bytes.Buffer
			_, err = audit.Export(t.Context(), st, tt.after, &b, audit.WithSigner(s, key), audit.WithAnchor(anchor))
			signed := strings.Contains(b.String(), `"signature"`)
			if tt.want == 0 {
				if err != nil || !signed {
					t.Fatalf("Export of an intact trail with anchor %s = %v, signed %v; want it signed", anchor, err, signed)
				}
				if _, err := audit.VerifySignedExport(s.PublicKey(), tt.after, &b); err != nil {
					t.Errorf("VerifySignedExport = %v", err)
				}
				return
			}
			var broken *audit.BrokenError
			if !errors.As(err, &broken) || broken.Seq != tt.want || broken.Anchored != tt.anchored {
				t.Fatalf("Export with anchor %s = %v; want broken at record %d (anchored %v)", anchor, err, tt.want, tt.anchored)
			}
			if signed {
				t.Errorf("the export of a trail that contradicts the anchor was signed:\n%s", b.String())
			}
			if _, err := audit.VerifySignedExport(s.PublicKey(), tt.after, &b); !errors.Is(err, audit.ErrUnsigned) {
				t.Errorf("VerifySignedExport = %v, want ErrUnsigned", err)
			}
		})
	}
}
