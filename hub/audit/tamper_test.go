package audit_test

import (
	"bytes"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the tamperer's own SQLite client

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// tamperer is someone with write access to the database file: they open it
// with their own SQLite client and drop the append-only triggers first.
func tamperer(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`DELETE FROM audit WHERE seq = 1`); err == nil {
		t.Fatal("the database deleted an audit row with its guards in place")
	}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// reseal recomputes prev and hash of every record from seq on under key,
// as someone who holds that key (or guesses one) rewrites the chain.
func reseal(t *testing.T, db *sql.DB, key []byte, from int64) {
	t.Helper()
	var prev []byte
	if from > 1 {
		if err := db.QueryRow(`SELECT hash FROM audit WHERE seq = ?`, from-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT seq, time, actor, action, subject, system, detail FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.AuditRecord
	for rows.Next() {
		var (
			r  store.AuditRecord
			ns int64
		)
		if err := rows.Scan(&r.Seq, &ns, &r.Actor, &r.Action, &r.Subject, &r.System, &r.Detail); err != nil {
			t.Fatal(err)
		}
		r.Time = time.Unix(0, ns).UTC()
		recs = append(recs, r)
	}
	rows.Close()
	for _, r := range recs {
		r.Prev = prev
		r.Hash = sealWith(key, r)
		if _, err := db.Exec(`UPDATE audit SET prev = ?, hash = ? WHERE seq = ?`, r.Prev, r.Hash, r.Seq); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
}

func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestTamper answers, for each way someone with write access to the
// database file can change the trail, whether Verify sees it: without an
// anchor, and with the heads an operator kept (record 5 and the head, 10)
// before the change. A "want" of 0 means the chain alone cannot see it.
func TestTamper(t *testing.T) {
	key := bytes.Repeat([]byte{4}, 32)
	guess := make([]byte, 32) // a tamperer without the key seals with one of their own
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB, st store.Store, l *audit.Log)
		// The first bad record Verify names: without an anchor, with an
		// anchor at record 5, with one at the head (10). 0: reported intact.
		plain, at5, at10 int64
	}{
		{"row edited", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET actor = 'nobody' WHERE seq = 4`)
		}, 4, 4, 4},
		{"detail edited", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET detail = CAST('{"i":99}' AS BLOB) WHERE seq = 7`)
		}, 7, 7, 7},
		{"time moved", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET time = time - 3600000000000 WHERE seq = 6`)
		}, 6, 6, 6},
		{"middle row deleted", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `DELETE FROM audit WHERE seq = 5`)
		}, 5, 5, 5},
		{"middle row deleted and the rest renumbered", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `DELETE FROM audit WHERE seq = 5`)
			for s := 6; s <= 10; s++ {
				exec(t, db, `UPDATE audit SET seq = ? WHERE seq = ?`, s-1, s)
			}
		}, 5, 5, 5},
		{"first row deleted", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `DELETE FROM audit WHERE seq = 1`)
		}, 1, 1, 1},
		{"rows swapped", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET seq = -1 WHERE seq = 3`)
			exec(t, db, `UPDATE audit SET seq = 3 WHERE seq = 4`)
			exec(t, db, `UPDATE audit SET seq = 4 WHERE seq = -1`)
		}, 3, 3, 3},
		{"row inserted, later ones renumbered", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			for s := 10; s >= 6; s-- {
				exec(t, db, `UPDATE audit SET seq = ? WHERE seq = ?`, s+1, s)
			}
			exec(t, db, `INSERT INTO audit SELECT 6, time, 'cli', 'user.create', 'user:ghost', 'cli', detail, hash, hash FROM audit WHERE seq = 5`)
			reseal(t, db, guess, 6)
		}, 6, 6, 6},
		{"row appended with a guessed key", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `INSERT INTO audit SELECT 11, time, 'cli', 'token.revoke', 'token:x', 'cli', detail, hash, hash FROM audit WHERE seq = 10`)
			reseal(t, db, guess, 11)
		}, 11, 11, 11},
		{"rewritten and re-sealed with a guessed key", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET subject = 'user:someone-else' WHERE seq = 3`)
			reseal(t, db, guess, 3)
		}, 3, 3, 3},
		// Someone who holds audit.key (the hub's user, root, a backup of
		// the data directory) re-seals a consistent chain: only an anchor
		// kept elsewhere shows it.
		{"rewritten and re-sealed with the key", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `UPDATE audit SET subject = 'user:someone-else' WHERE seq = 3`)
			reseal(t, db, key, 3)
		}, 0, 5, 10},
		{"tail cut off", func(t *testing.T, db *sql.DB, _ store.Store, _ *audit.Log) {
			exec(t, db, `DELETE FROM audit WHERE seq > 7`)
		}, 0, 0, 8},
		{"tail cut off, and the hub appends on", func(t *testing.T, db *sql.DB, st store.Store, l *audit.Log) {
			exec(t, db, `DELETE FROM audit WHERE seq > 7`)
			appendN(t, st, l, 4)
		}, 0, 0, 10},
		{"wiped, and the hub begins again under the same key", func(t *testing.T, db *sql.DB, st store.Store, l *audit.Log) {
			exec(t, db, `DELETE FROM audit`)
			appendN(t, st, l, 3)
		}, 0, 4, 4},
		{"wiped, and the hub begins again past the anchor", func(t *testing.T, db *sql.DB, st store.Store, l *audit.Log) {
			exec(t, db, `DELETE FROM audit`)
			appendN(t, st, l, 12)
		}, 0, 5, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.db")
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			l, _ := audit.New(key, nil)
			appendN(t, st, l, 10)
			before, err := audit.Verify(t.Context(), key, st)
			if err != nil {
				t.Fatal(err)
			}
			recs, _ := st.ListAudit(t.Context(), store.AuditQuery{AfterSeq: 4, Limit: 1})
			at5 := audit.Anchor{Seq: 5, Hash: recs[0].Hash}
			at10 := before.Anchor()

			tc.tamper(t, tamperer(t, path), st, l)

			for _, v := range []struct {
				name string
				opts []audit.Option
				want int64
			}{
				{"no anchor", nil, tc.plain},
				{"anchor 5", []audit.Option{audit.WithAnchor(at5)}, tc.at5},
				{"anchor 10", []audit.Option{audit.WithAnchor(at10)}, tc.at10},
			} {
				rep, err := audit.Verify(t.Context(), key, st, v.opts...)
				var broken *audit.BrokenError
				switch {
				case v.want == 0 && err != nil:
					t.Errorf("%s: Verify = %v, want intact", v.name, err)
				case v.want != 0 && (!errors.As(err, &broken) || broken.Seq != v.want):
					t.Errorf("%s: Verify = %+v, %v; want broken at record %d", v.name, rep, err, v.want)
				}
			}
		})
	}
}

// TestAnchorExport: an anchor checks an export too. The first record of
// an export after record N must link to the anchor kept at N, and an
// export cut short of an anchor, or rewritten under the key, is caught.
func TestAnchorExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := bytes.Repeat([]byte{6}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 6)
	rep6 := mustVerify(t, key, st)
	appendN(t, st, l, 4)
	at6, head := rep6.Anchor(), mustVerify(t, key, st).Anchor()

	export := func(after int64) string {
		var b bytes.Buffer
		if _, err := audit.Export(t.Context(), st, after, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	full, tail := export(0), export(6)
	ok := func(name, lines string, after int64, a audit.Anchor) {
		t.Helper()
		if _, err := audit.VerifyExport(key, after, strings.NewReader(lines), audit.WithAnchor(a)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	broken := func(name, lines string, after int64, a audit.Anchor, seq int64) {
		t.Helper()
		_, err := audit.VerifyExport(key, after, strings.NewReader(lines), audit.WithAnchor(a))
		var b *audit.BrokenError
		if !errors.As(err, &b) || b.Seq != seq {
			t.Errorf("%s: VerifyExport = %v, want broken at record %d", name, err, seq)
		}
	}
	ok("whole export, anchor 6", full, 0, at6)
	ok("whole export, head", full, 0, head)
	ok("export after 6, anchor 6", tail, 6, at6)
	ok("export after 6, head", tail, 6, head)
	lines := strings.SplitAfter(full, "\n")
	broken("whole export cut short of the head", strings.Join(lines[:8], ""), 0, head, 9)
	broken("whole export cut short of anchor 6", strings.Join(lines[:3], ""), 0, at6, 4)

	// The same key re-seals another trail: its export after 6 verifies
	// on its own, but not against the anchor kept at 6.
	db := tamperer(t, path)
	exec(t, db, `UPDATE audit SET actor = 'nobody' WHERE seq = 2`)
	reseal(t, db, key, 2)
	forged := export(6)
	if _, err := audit.VerifyExport(key, 6, strings.NewReader(forged)); err != nil {
		t.Fatalf("a re-sealed export after 6 without an anchor: %v", err)
	}
	broken("re-sealed export after 6, anchor 6", forged, 6, at6, 7)
	broken("re-sealed export after 6, head", forged, 6, head, 10)

	// An anchor the export cannot show is an error, not a pass.
	if _, err := audit.VerifyExport(key, 6, strings.NewReader(tail), audit.WithAnchor(audit.Anchor{Seq: 3, Hash: head.Hash})); err == nil {
		t.Error("an anchor before the export was taken as checked")
	}
	if _, err := audit.VerifyExport(key, 10, strings.NewReader(""), audit.WithAnchor(head)); err == nil {
		t.Error("an anchor at the start of an empty export was taken as checked")
	}
}

func mustVerify(t *testing.T, key []byte, st store.Store) audit.Report {
	t.Helper()
	rep, err := audit.Verify(t.Context(), key, st)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestParseAnchor(t *testing.T) {
	h := bytes.Repeat([]byte{0xab}, 32)
	a := audit.Anchor{Seq: 42, Hash: h}
	got, err := audit.ParseAnchor(" " + a.String() + "\n")
	if err != nil || got.Seq != 42 || !bytes.Equal(got.Hash, h) {
		t.Fatalf("ParseAnchor(%q) = %v, %v", a.String(), got, err)
	}
	for _, s := range []string{"", "42", "42:", "0:" + strings.Repeat("ab", 32), "-1:" + strings.Repeat("ab", 32),
		"x:" + strings.Repeat("ab", 32), "42:" + strings.Repeat("ab", 31), "42:" + strings.Repeat("zz", 32)} {
		if _, err := audit.ParseAnchor(s); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", s)
		}
	}
	// A malformed anchor passed in code is refused, not ignored.
	st := openStore(t)
	if _, err := audit.Verify(t.Context(), h, st, audit.WithAnchor(audit.Anchor{Seq: 1})); err == nil {
		t.Error("Verify took an anchor without a hash")
	}
}

// TestConcurrentAppendersTwoProcesses: the hub and a CLI command append at
// the same time through their own connections to the file, each with its
// own Log (and its own remembered head): the chain does not fork, and has
// no gap.
func TestConcurrentAppendersTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	key := bytes.Repeat([]byte{2}, 32)
	var wg sync.WaitGroup
	stores := make([]store.Store, 2)
	for i := range stores {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	for i := range 4 {
		st := stores[i%2]
		l, _ := audit.New(key, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 40 {
				err := st.InTx(t.Context(), func(tx store.Ops) error {
					var err error
					if j%3 == 0 {
						_, err = l.AppendMany(t.Context(), tx, []audit.Entry{{Actor: "a", Action: "x", Subject: "s", System: "cli"}, {Actor: "b", Action: "x", Subject: "s", System: "cli"}})
					} else {
						_, err = l.Append(t.Context(), tx, audit.Entry{Actor: "a", Action: "x", Subject: "s", System: "cli"})
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rep, err := audit.Verify(t.Context(), key, stores[1])
	if want := int64(4 * (40 + 14)); err != nil || rep.Records != want || rep.HeadSeq != want {
		t.Fatalf("Verify = %+v, %v; want %d intact records", rep, err, want)
	}
}
