package sqlite

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// BenchmarkScanUsers is the store's share of a SCIM list whose filter no
// index narrows (displayName co "a", Entra's emails[type eq "work"].value
// eq "x"), among 100,000 users: every user with its groups, 250 at a time
// (the handler's userScanBatch), in one read transaction.
//
// Each batch is read after the last user read (UserQuery.After), and only
// the first counts. Read as the handler did before, each batch at an
// offset and with a count of every user, the scan took time that grew
// with the square of the users: 54.6 s of CPU here, against 1.4 s.
func BenchmarkScanUsers(b *testing.B) {
	const (
		n     = 100000
		batch = 250
	)
	db := benchDB(b, n)
	ctx := b.Context()
	scan := func(b *testing.B, next func(q *store.UserQuery, read []store.User)) {
		defer reportCPU(b)()
		for b.Loop() {
			seen := 0
			err := db.InReadTx(ctx, func(tx store.Ops) error {
				q := store.UserQuery{Limit: batch}
				for {
					users, _, total, err := tx.ListUsersWithGroups(ctx, q)
					if err != nil {
						return err
					}
					if q.Offset == 0 && q.After == (store.ListKey{}) && total != n {
						b.Fatalf("first batch: total %d, want %d", total, n)
					}
					seen += len(users)
					if len(users) < batch {
						return nil
					}
					next(&q, users)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			if seen < n {
				b.Fatalf("scanned %d users, want %d", seen, n)
			}
		}
	}
	scan(b, func(q *store.UserQuery, read []store.User) {
		last := read[len(read)-1]
		q.After, q.NoTotal = store.ListKey{Created: last.Created, ID: last.ID}, true
	})
}
