package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestOneSnapshot: the statements fn runs read the database as it was when
// the first of them started, whatever commits meanwhile, when the query
// pages; a lookup that does not page runs on the pool as it is.
func TestOneSnapshot(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	n := 0
	create := func() {
		t.Helper()
		n++
		if _, err := db.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", n), UserName: fmt.Sprintf("user%d", n),
			State: store.UserActive, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q querier) int {
		t.Helper()
		var c int
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	create()
	tests := []struct {
		name          string
		offset, limit int
		same          bool // both counts read one snapshot
	}{
		{"page", 0, 10, true},
		{"offset", 3, 0, true},
		{"lookup", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after int
			err := oneSnapshot(ctx, db.reader, countMayFollow(tc.offset, tc.limit, false), func(q querier) error {
				before = count(q)
				create() // commits on the writer meanwhile
				after = count(q)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := before == after; got != tc.same {
				t.Errorf("counts %d then %d around a commit; one snapshot: %v, want %v", before, after, got, tc.same)
			}
			if got := count(db.reader); got != n {
				t.Errorf("after the read: %d users, want %d", got, n)
			}
		})
	}
}

// TestListPageAndTotalAgree: a page and the total of a list are read in one
// snapshot while a resource right after the page's first comes and goes.
// The page starts at the last of the fixed resources and asks for two: a
// page of one is the last page and its total is told by the page itself; a
// page of two is counted, and that count must see the second resource too.
// Read in two snapshots, the count sometimes missed it: totalResults one
// short of the resources listed.
func TestListPageAndTotalAgree(t *testing.T) {
	const fixed = 5
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name string
		// create stores fixed resources created in order; toggle then makes
		// one created after them exist or not, turn by turn.
		create func(ctx context.Context, db *DB, i int) error
		toggle func(ctx context.Context, db *DB, i int) error
		list   func(ctx context.Context, db *DB, offset, limit int) (n, total int, err error)
	}{
		{
			name: "users",
			create: func(ctx context.Context, db *DB, i int) error {
				_, err := db.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", i), UserName: fmt.Sprintf("user%d", i),
					Active: true, State: store.UserActive, Created: at(i), Modified: at(i)})
				return err
			},
			toggle: func(ctx context.Context, db *DB, i int) error {
				if i == 0 {
					_, err := db.CreateUser(ctx, store.User{ID: "z", UserName: "zed", Active: true, State: store.UserActive,
						Created: at(fixed), Modified: at(fixed)})
					return err
				}
				_, err := db.UpdateUser(ctx, "z", func(u store.User) (store.User, error) {
					if u.State == store.UserDeleted {
						u.State, u.Active, u.Deleted = store.UserActive, true, time.Time{}
					} else {
						u.State, u.Active, u.Deleted = store.UserDeleted, false, at(fixed+i)
					}
					return u, nil
				})
				return err
			},
			list: func(ctx context.Context, db *DB, offset, limit int) (int, int, error) {
				users, total, err := db.ListUsers(ctx, store.UserQuery{Offset: offset, Limit: limit})
				return len(users), total, err
			},
		},
		{
			name: "users with groups",
			create: func(ctx context.Context, db *DB, i int) error {
				_, err := db.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", i), UserName: fmt.Sprintf("user%d", i),
					Active: true, State: store.UserActive, Created: at(i), Modified: at(i)})
				return err
			},
			toggle: func(ctx context.Context, db *DB, i int) error {
				if i%2 == 0 {
					_, err := db.CreateUser(ctx, store.User{ID: fmt.Sprintf("z%d", i), UserName: fmt.Sprintf("zed%d", i),
						Active: true, State: store.UserActive, Created: at(fixed + i), Modified: at(fixed + i)})
					return err
				}
				_, err := db.UpdateUser(ctx, fmt.Sprintf("z%d", i-1), func(u store.User) (store.User, error) {
					u.State, u.Active, u.Deleted = store.UserDeleted, false, at(fixed+i)
					return u, nil
				})
				return err
			},
			list: func(ctx context.Context, db *DB, offset, limit int) (int, int, error) {
				users, _, total, err := db.ListUsersWithGroups(ctx, store.UserQuery{Offset: offset, Limit: limit})
				return len(users), total, err
			},
		},
		{
			name: "groups",
			create: func(ctx context.Context, db *DB, i int) error {
				_, err := db.CreateGroup(ctx, store.Group{ID: fmt.Sprintf("g%d", i), DisplayName: fmt.Sprintf("group%d", i),
					Created: at(i), Modified: at(i)})
				return err
			},
			toggle: func(ctx context.Context, db *DB, i int) error {
				if i%2 == 0 {
					_, err := db.CreateGroup(ctx, store.Group{ID: "z", DisplayName: "zed", Created: at(fixed + i), Modified: at(fixed + i)})
					return err
				}
				return db.DeleteGroup(ctx, "z", at(fixed+i))
			},
			list: func(ctx context.Context, db *DB, offset, limit int) (int, int, error) {
				groups, total, err := db.ListGroups(ctx, store.GroupQuery{Offset: offset, Limit: limit})
				return len(groups), total, err
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
			ctx := t.Context()
			for i := range fixed {
				if err := tc.create(ctx, db, i); err != nil {
					t.Fatal(err)
				}
			}
			var (
				toggles   atomic.Int64
				toggleErr error
			)
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := tc.toggle(ctx, db, i); err != nil {
						toggleErr = fmt.Errorf("toggle %d: %w", i, err)
						return
					}
					toggles.Add(1)
				}
			}()
			defer func() {
				close(stop)
				<-done
				if toggleErr != nil {
					t.Error(toggleErr)
				}
			}()
			var pages [3]int // by length
			for i := 0; i < 2000 || toggles.Load() < 500; i++ {
				select {
				case <-done:
					return // the deferred check reports why
				default:
				}
				n, total, err := tc.list(ctx, db, fixed-1, 2)
				if err != nil {
					t.Fatal(err)
				}
				if n < 1 || n > 2 || total != fixed-1+n {
					t.Fatalf("list %d: a page of %d from offset %d with totalResults %d, want %d", i, n, fixed-1, total, fixed-1+n)
				}
				pages[n]++
			}
			t.Logf("%d toggles; pages of one: %d, of two: %d", toggles.Load(), pages[1], pages[2])
		})
	}
}
