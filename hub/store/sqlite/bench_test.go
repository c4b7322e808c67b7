package sqlite

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// benchUser is a user about the size SCIM provisioning produces.
func benchUser(i int, now time.Time) store.User {
	name := fmt.Sprintf("worker%06d@example.com", i)
	doc := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":%q,"name":{"givenName":"Worker","familyName":"%06d"},"displayName":"Worker %06d","emails":[{"value":%q,"type":"work","primary":true}],"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"%06d","department":"Ward 3"},"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"sites":["North"],"employmentType":"employee"}}`,
		name, i, i, name, i)
	return store.User{
		ID:             fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		UserName:       name,
		ExternalID:     fmt.Sprintf("00u%09d", i),
		DisplayName:    fmt.Sprintf("Worker %06d", i),
		Active:         true,
		State:          store.UserActive,
		Sites:          []string{"North"},
		EmploymentType: "employee",
		StartDate:      now,
		Shifts:         []store.Shift{{Start: now, End: now.Add(8 * time.Hour)}},
		Certifications: []store.Certification{{Name: "BLS", Expires: now.AddDate(1, 0, 0)}},
		Document:       json.RawMessage(doc),
		Created:        now,
		Modified:       now,
	}
}

func benchDB(b *testing.B, users int) *DB {
	b.Helper()
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	err = db.InTx(b.Context(), func(tx store.Ops) error {
		for i := range users {
			if _, err := tx.CreateUser(b.Context(), benchUser(i, now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric: the process's CPU time per operation,
// which on a shared machine says more about capacity than wall time does.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkCreateUser is the store's share of a SCIM create: the user and
// its audit record in one transaction.
func BenchmarkCreateUser(b *testing.B) {
	db := benchDB(b, 1000)
	ctx := b.Context()
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	detail := json.RawMessage(`{"userName":"x","active":true}`)
	i := 1000
	defer reportCPU(b)()
	for b.Loop() {
		u := benchUser(i, now)
		i++
		err := db.InTx(ctx, func(tx store.Ops) error {
			if _, err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			seq, prev, err := tx.AuditHead(ctx)
			if err != nil {
				return err
			}
			return tx.AppendAudit(ctx, store.AuditRecord{
				Seq: seq + 1, Time: now, Actor: "token:t1 (okta)", Action: "user.create",
				Subject: "user:" + u.ID, System: "scim", Detail: detail,
				Prev: prev, Hash: []byte(strings.Repeat("h", 32)),
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetUserByUserName is a SCIM filter userName eq "..." lookup
// among 10,000 users.
func BenchmarkGetUserByUserName(b *testing.B) {
	const n = 10000
	db := benchDB(b, n)
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	defer reportCPU(b)()
	for b.Loop() {
		name := strings.ToUpper(fmt.Sprintf("worker%06d@example.com", rng.IntN(n)))
		users, total, err := db.ListUsers(ctx, store.UserQuery{UserName: name})
		if err != nil || total != 1 || len(users) != 1 {
			b.Fatalf("lookup %s: %d users, total %d, %v", name, len(users), total, err)
		}
	}
}

// BenchmarkUpdateUser is a SCIM PUT/PATCH: read-modify-write of one user.
func BenchmarkUpdateUser(b *testing.B) {
	const n = 10000
	db := benchDB(b, n)
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC)
	defer reportCPU(b)()
	for b.Loop() {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", rng.IntN(n))
		_, err := db.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			u.DisplayName = "Updated"
			u.Modified = now
			return u, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMassRevokeStore is the store's share of revoking 10,000 live
// sessions at once (a role group deleted): end them by ID, record a
// revocation for each, append an audit record for each user, all in one
// transaction. The sub-benchmarks time each step alone, rolled back.
func BenchmarkMassRevokeStore(b *testing.B) {
	const n = 10000
	db := benchDB(b, 0)
	ctx := b.Context()
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	err := db.InTx(ctx, func(tx store.Ops) error {
		for i := range n {
			ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012d", rand.Uint32(), i)
			if _, err := tx.CreateSession(ctx, store.Session{ID: ids[i], UserID: fmt.Sprintf("u%05d", i), DeviceID: fmt.Sprintf("d%05d", i),
				Role: "Nurse", Apps: []string{"ehr"}, Started: now, Expires: now.Add(8 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	revs := make([]store.Revocation, n)
	recs := make([]store.AuditRecord, n)
	for i := range n {
		revs[i] = store.Revocation{UserID: fmt.Sprintf("u%05d", i), SessionID: ids[i], DeviceID: fmt.Sprintf("d%05d", i), Reason: "entitlement_removed", Detail: "role:Nurse", Created: now}
		recs[i] = store.AuditRecord{Seq: int64(i + 1), Time: now, Actor: "token:t1 (okta)", Action: "user.entitlements_removed", Subject: "user:" + revs[i].UserID, System: "scim",
			Detail: fmt.Appendf(nil, `{"roles":["Nurse"],"sessionsEnded":[%q]}`, ids[i]), Hash: []byte(strings.Repeat("h", 32))}
		if i > 0 {
			recs[i].Prev = recs[i-1].Hash
		}
	}
	errRollback := fmt.Errorf("roll back")
	steps := []struct {
		name string
		fn   func(tx store.Ops) error
	}{
		{"end", func(tx store.Ops) error {
			ss, err := tx.EndSessionsByID(ctx, ids, "entitlement_removed", now)
			if err == nil && len(ss) != n {
				err = fmt.Errorf("ended %d", len(ss))
			}
			return err
		}},
		{"revocations", func(tx store.Ops) error { _, err := tx.AddRevocations(ctx, revs); return err }},
		{"audit", func(tx store.Ops) error { return tx.AppendAuditBatch(ctx, recs) }},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if err := db.InTx(ctx, func(tx store.Ops) error {
					if err := st.fn(tx); err != nil {
						return err
					}
					return errRollback
				}); err != errRollback {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendAudit is the store's share of an audit record as a login
// writes it: 64 workers' records taking turns, 16 to a transaction as the
// group commit makes them, on a log that already holds 50,000.
func BenchmarkAppendAudit(b *testing.B) {
	db := benchDB(b, 0)
	ctx := b.Context()
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	detail := []byte(`{"device":"0193a7c2-5f1e-7c3a-9b2d-1a2b3c4d5e6f","role":"Nurse","expires":"2025-03-01T16:00:00Z","endsBy":"shift","credential":"8f14e45fceea167a5a36dedd4bea2543","userVerified":true}`)
	hash := func(i int64) []byte {
		h := make([]byte, 32)
		h[0], h[1], h[2] = byte(i), byte(i>>8), byte(i>>16)
		return h
	}
	var seq int64
	appendN := func(n int) {
		err := db.InTx(ctx, func(tx store.Ops) error {
			for range n {
				seq++
				r := store.AuditRecord{Seq: seq, Time: now, Actor: "agent:kiosk", Action: "session.start",
					Subject: fmt.Sprintf("user:0193a7c2-0000-7000-8000-%012d", seq%64), System: "agent", Detail: detail, Hash: hash(seq)}
				if seq > 1 {
					r.Prev = hash(seq - 1)
				}
				if err := tx.AppendAudit(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for range 50 {
		appendN(1000)
	}
	b.ResetTimer()
	done := reportCPU(b)
	for i := 0; i < b.N; i += 16 {
		appendN(min(16, b.N-i))
	}
	done()
}
