package scim_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// batchRead is one list read of a scan: what it asked the store for, and
// what it got.
type batchRead struct {
	after   store.ListKey
	noTotal bool
	offset  int
	rows    int
	last    store.ListKey // of the last row read
	total   int
}

// batchStore records the list reads of the users and of the groups,
// made directly or inside InReadTx.
type batchStore struct {
	store.Store
	mu            sync.Mutex
	users, groups []batchRead
}

func (s *batchStore) take() (users, groups []batchRead) {
	s.mu.Lock()
	defer s.mu.Unlock()
	users, groups = s.users, s.groups
	s.users, s.groups = nil, nil
	return users, groups
}

func (s *batchStore) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	return batchOps{s.Store, s}.ListUsersWithGroups(ctx, q)
}

func (s *batchStore) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	return batchOps{s.Store, s}.ListGroups(ctx, q)
}

func (s *batchStore) InReadTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(batchOps{tx, s}) })
}

type batchOps struct {
	store.Ops
	s *batchStore
}

func (o batchOps) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	us, gs, total, err := o.Ops.ListUsersWithGroups(ctx, q)
	r := batchRead{after: q.After, noTotal: q.NoTotal, offset: q.Offset, rows: len(us), total: total}
	if len(us) > 0 {
		r.last = store.ListKey{Created: us[len(us)-1].Created, ID: us[len(us)-1].ID}
	}
	o.s.mu.Lock()
	o.s.users = append(o.s.users, r)
	o.s.mu.Unlock()
	return us, gs, total, err
}

func (o batchOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	gs, total, err := o.Ops.ListGroups(ctx, q)
	r := batchRead{after: q.After, noTotal: q.NoTotal, offset: q.Offset, rows: len(gs), total: total}
	if len(gs) > 0 {
		r.last = store.ListKey{Created: gs[len(gs)-1].Created, ID: gs[len(gs)-1].ID}
	}
	o.s.mu.Lock()
	o.s.groups = append(o.s.groups, r)
	o.s.mu.Unlock()
	return gs, total, err
}

// checkKeyset fails unless reads are scans of n resources, each read
// from the start with the store's total (the one count of the scan,
// which bounds its read transaction), then every batch after the last
// resource the batch before read, without a total. It returns how many
// scans the reads made.
func checkKeyset(t *testing.T, what string, reads []batchRead, n int) (scans int) {
	t.Helper()
	for i, r := range reads {
		if r.offset != 0 {
			t.Errorf("%s: read %d skips %d rows by offset", what, i+1, r.offset)
		}
		if r.after == (store.ListKey{}) {
			scans++
			if r.noTotal || r.total != n {
				t.Errorf("%s: read %d, the first of a scan: noTotal %v, total %d; want the total %d", what, i+1, r.noTotal, r.total, n)
			}
			continue
		}
		if prev := reads[i-1]; r.after != prev.last {
			t.Errorf("%s: read %d is after %v; want after %v, the last row of the read before", what, i+1, r.after, prev.last)
		}
		if !r.noTotal || r.total != -1 {
			t.Errorf("%s: read %d after the first of a scan: noTotal %v, total %d; want no total", what, i+1, r.noTotal, r.total)
		}
	}
	return scans
}

// A filtered list that no index narrows reads its batches by keyset: each
// after the last user or group read, and only its first counts them all.
// Each batch read by offset, and counted every match, while it read and
// skipped every user before it: 6-8 s for a scan of 100,000 users, in
// time that grew with the square of their number. The answers are those
// of every match in the list order; a hub larger than MaxSnapshotScan
// still reads its scan apart, bounded by the first batch's total.
func TestFilteredScanReadsByKeyset(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const nUsers, nGroups = 600, 120 // several batches of each
	snapshotUsers(t, h, nUsers)
	scanGroups(t, h, nGroups, 2) // two to each instant: the ID orders them
	groups, _, err := h.Store().ListGroups(t.Context(), store.GroupQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var userNames, groupNames []string
	for i := range nUsers {
		userNames = append(userNames, fmt.Sprintf("w%04d", i))
	}
	for _, g := range groups {
		groupNames = append(groupNames, g.DisplayName)
	}
	serve := func(maxScan int) (*batchStore, *httptest.Server) {
		st := &batchStore{Store: h.Store()}
		return st, scanServer(t, h, st, maxScan)
	}
	const search = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"w\" or displayName sw \"g\"","count":1000}`
	tests := []struct {
		name, method, path, body string
		want                     []string
		users, groups            bool // the scan reads them
	}{
		{"users", "GET", "/scim/v2/Users?count=1000&" + filterQuery(`userName sw "w"`), "", userNames, true, false},
		{"groups", "GET", "/scim/v2/Groups?count=1000&" + filterQuery(`displayName sw "g"`), "", groupNames, false, true},
		{"root search", "POST", "/scim/v2/.search", search, append(append([]string(nil), userNames...), groupNames...), true, true},
	}
	for _, tt := range tests {
		for _, bound := range []int{0, 30} { // one read transaction; read apart
			t.Run(fmt.Sprintf("%s bound %d", tt.name, bound), func(t *testing.T) {
				st, srv := serve(bound)
				p := query(t, srv, tt.method, tt.path, tt.body)
				if p.TotalResults != len(tt.want) {
					t.Fatalf("totalResults %d, want %d", p.TotalResults, len(tt.want))
				}
				checkNames(t, "answer", p, tt.want)
				users, groups := st.take()
				wantScans := 1
				if bound > 0 {
					wantScans = 2 // the first batch again, read apart
				}
				if tt.users {
					if n := checkKeyset(t, "users", users, nUsers); n != wantScans {
						t.Errorf("users: %d scans, want %d", n, wantScans)
					}
				}
				if tt.groups {
					if tt.users && bound > 0 {
						wantScans = 1 // the users' first batch found the hub larger
					}
					if n := checkKeyset(t, "groups", groups, nGroups); n != wantScans {
						t.Errorf("groups: %d scans, want %d", n, wantScans)
					}
				}
			})
		}
	}
}
