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
