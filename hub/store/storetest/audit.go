package storetest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// chainHash is a stand-in for hub/audit's hash: the store only keeps it.
func chainHash(prev []byte, seq int64) []byte {
	h := sha256.New()
	h.Write(prev)
	binary.Write(h, binary.BigEndian, seq) //nolint:errcheck // hash.Hash writes never fail
	return h.Sum(nil)
}

func auditRecord(seq int64, prev []byte, subject, action string) store.AuditRecord {
	return store.AuditRecord{
		Seq:     seq,
		Time:    at(int(seq)).Add(time.Duration(seq)), // a distinct nanosecond part each
		Actor:   "token:t1 (okta)",
		Action:  action,
		Subject: subject,
		System:  "scim",
		// Whitespace, key order and escapes must survive: the hash covers these bytes.
		Detail: json.RawMessage(fmt.Sprintf(`{ "seq":%d,"b":[1, 2],  "a":"\u00e9\n" }`, seq)),
		Prev:   prev,
		Hash:   chainHash(prev, seq),
	}
}

// appendRecords appends n records after the current head, cycling through
// the given subjects and actions.
func appendRecords(t *testing.T, s store.Ops, n int, subjects, actions []string) []store.AuditRecord {
	t.Helper()
	seq, prev, err := s.AuditHead(t.Context())
	if err != nil {
		t.Fatalf("audit head: %v", err)
	}
	var out []store.AuditRecord
	for i := range n {
		r := auditRecord(seq+1, prev, subjects[i%len(subjects)], actions[i%len(actions)])
		if err := s.AppendAudit(t.Context(), r); err != nil {
			t.Fatalf("append %d: %v", r.Seq, err)
		}
		out = append(out, r)
		seq, prev = r.Seq, r.Hash
	}
	return out
}

func testAudit(t *testing.T, s store.Store) {
	seq, hash, err := s.AuditHead(t.Context())
	if err != nil || seq != 0 || hash != nil {
		t.Fatalf("head of empty log = %d, %x, %v; want 0, nil, nil", seq, hash, err)
	}

	r1 := auditRecord(1, nil, "user:u1", "user.create")
	r2 := auditRecord(2, r1.Hash, "user:u1", "user.update")
	steps := []struct {
		name    string
		rec     store.AuditRecord
		wantErr error
	}{
		{name: "gap before the first", rec: r2, wantErr: store.ErrConflict},
		{name: "seq 0", rec: auditRecord(0, nil, "x", "x"), wantErr: store.ErrConflict},
		{name: "first", rec: r1},
		{name: "first again", rec: r1, wantErr: store.ErrConflict},
		{name: "gap", rec: auditRecord(3, r1.Hash, "x", "x"), wantErr: store.ErrConflict},
		{name: "first with a prev", rec: auditRecord(1, []byte("not the head"), "x", "x"), wantErr: store.ErrConflict},
		{name: "wrong prev", rec: auditRecord(2, []byte("not the head"), "x", "x"), wantErr: store.ErrConflict},
		{name: "no prev", rec: auditRecord(2, nil, "x", "x"), wantErr: store.ErrConflict},
		{name: "negative", rec: auditRecord(-1, r1.Hash, "x", "x"), wantErr: store.ErrConflict},
		{name: "second", rec: r2},
		{name: "replay", rec: auditRecord(2, r1.Hash, "x", "x"), wantErr: store.ErrConflict},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := s.AppendAudit(t.Context(), st.rec)
			if st.wantErr == nil {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				return
			}
			wantErr(t, "append", err, st.wantErr)
		})
	}

	seq, hash, err = s.AuditHead(t.Context())
	if err != nil || seq != 2 || string(hash) != string(r2.Hash) {
		t.Fatalf("head = %d, %x, %v; want 2, %x, nil", seq, hash, err, r2.Hash)
	}
	got := must[[]store.AuditRecord](t, "list")(s.ListAudit(t.Context(), store.AuditQuery{}))
	diff(t, "audit log", []store.AuditRecord{r1, r2}, got)
	for i, r := range got {
		want := []store.AuditRecord{r1, r2}[i]
		if string(r.Detail) != string(want.Detail) || string(r.Prev) != string(want.Prev) || string(r.Hash) != string(want.Hash) {
			t.Errorf("record %d bytes changed: detail %q prev %x hash %x", r.Seq, r.Detail, r.Prev, r.Hash)
		}
		if r.Time.UnixNano() != want.Time.UnixNano() {
			t.Errorf("record %d time %v, want %v", r.Seq, r.Time, want.Time)
		}
		checkUTC(t, "audit record", r.Time)
	}
}

func testListAudit(t *testing.T, s store.Store) {
	recs := appendRecords(t, s, 6, []string{"user:a", "user:b", "group:g"}, []string{"user.create", "user.update"})
	// Subjects: a b g a b g; actions: create update create update create update.
	pick := func(seqs ...int) []store.AuditRecord {
		var out []store.AuditRecord
		for _, q := range seqs {
			out = append(out, recs[q-1])
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		want []store.AuditRecord
	}{
		{name: "all", q: store.AuditQuery{}, want: pick(1, 2, 3, 4, 5, 6)},
		{name: "after", q: store.AuditQuery{AfterSeq: 4}, want: pick(5, 6)},
		{name: "after the end", q: store.AuditQuery{AfterSeq: 6}, want: nil},
		{name: "limit", q: store.AuditQuery{Limit: 2}, want: pick(1, 2)},
		{name: "after and limit", q: store.AuditQuery{AfterSeq: 2, Limit: 3}, want: pick(3, 4, 5)},
		{name: "subject", q: store.AuditQuery{Subject: "user:a"}, want: pick(1, 4)},
		{name: "action", q: store.AuditQuery{Action: "user.update"}, want: pick(2, 4, 6)},
		{name: "subject and action", q: store.AuditQuery{Subject: "group:g", Action: "user.update"}, want: pick(6)},
		{name: "subject after with limit", q: store.AuditQuery{Subject: "user:b", AfterSeq: 1, Limit: 1}, want: pick(2)},
		{name: "no such subject", q: store.AuditQuery{Subject: "user:z"}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := must[[]store.AuditRecord](t, "list")(s.ListAudit(t.Context(), tc.q))
			diff(t, "records", tc.want, got)
		})
	}
}

// testTimePrecision: times survive to the nanosecond, in any zone, across
// the range the hub uses, and come back in UTC.
func testTimePrecision(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		t    time.Time
	}{
		{"one nanosecond", time.Date(2025, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"999 nanoseconds", time.Date(2025, 1, 1, 0, 0, 0, 999, zone)},
		{"sub-microsecond, west of UTC", time.Date(2025, 3, 30, 2, 30, 0, 123456789, time.FixedZone("-07:00", -7*3600))},
		{"monotonic clock reading", time.Now()},
		{"year 1900", time.Date(1900, 2, 3, 4, 5, 6, 7, zone)},
		{"year 2200", time.Date(2200, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"before the epoch", time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("p%d", i)
			u := newUser(id, id, 0)
			u.StartDate, u.Modified = tc.t, tc.t
			u.Shifts = []store.Shift{{Start: tc.t, End: tc.t.Add(time.Nanosecond)}}
			u.Certifications = []store.Certification{{Name: "x", Expires: tc.t}}
			created := must[store.User](t, "create")(s.CreateUser(t.Context(), u))
			got := must[store.User](t, "get")(s.GetUser(t.Context(), id))
			for _, x := range []store.User{created, got} {
				for _, tm := range []time.Time{x.StartDate, x.Modified, x.Shifts[0].Start, x.Certifications[0].Expires} {
					if tm.UnixNano() != tc.t.UnixNano() || tm.Location() != time.UTC {
						t.Errorf("time came back as %v (%d), want %v (%d) in UTC", tm, tm.UnixNano(), tc.t.UTC(), tc.t.UnixNano())
					}
				}
				if d := x.Shifts[0].End.Sub(x.Shifts[0].Start); d != time.Nanosecond {
					t.Errorf("shift length %v, want 1ns", d)
				}
			}
			tok := store.Token{ID: id, Created: tc.t, LastUsed: tc.t}
			must[store.Token](t, "create token")(s.CreateToken(t.Context(), tok))
			gt := must[store.Token](t, "get token")(s.GetToken(t.Context(), id))
			if gt.LastUsed.UnixNano() != tc.t.UnixNano() || gt.LastUsed.Location() != time.UTC {
				t.Errorf("token time came back as %v, want %v in UTC", gt.LastUsed, tc.t.UTC())
			}
		})
	}
}
