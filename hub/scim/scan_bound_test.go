package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// txRowStore counts the users and groups each read transaction lists.
type txRowStore struct {
	store.Store
	mu  sync.Mutex
	txs []int // rows listed, per read transaction, in order
}

// take returns the counts recorded since the last take and forgets them.
func (s *txRowStore) take() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	txs := s.txs
	s.txs = nil
	return txs
}

func (s *txRowStore) InReadTx(ctx context.Context, fn func(store.Ops) error) error {
	o := &txRowOps{}
	err := s.Store.InReadTx(ctx, func(tx store.Ops) error {
		o.Ops = tx
		return fn(o)
	})
	s.mu.Lock()
	s.txs = append(s.txs, o.rows)
	s.mu.Unlock()
	return err
}

type txRowOps struct {
	store.Ops
	rows int
}

func (o *txRowOps) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	us, gs, total, err := o.Ops.ListUsersWithGroups(ctx, q)
	o.rows += len(us)
	return us, gs, total, err
}

func (o *txRowOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	gs, total, err := o.Ops.ListGroups(ctx, q)
	o.rows += len(gs)
	return gs, total, err
}

// scanGroups creates n groups, g000 on, perInstant of them to each second
// from 2026-01-01 (the list order then goes by ID among them).
func scanGroups(t *testing.T, h *hubtest.Hub, n, perInstant int) {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		for i := range n {
			at := base.Add(time.Duration(i/perInstant) * time.Second)
			if _, err := tx.CreateGroup(t.Context(), store.Group{ID: store.NewID(), DisplayName: fmt.Sprintf("g%03d", i), Created: at, Modified: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scanServer serves SCIM over st, a wrapper of h's store, with the scan
// bound maxScan (0: the default).
func scanServer(t *testing.T, h *hubtest.Hub, st store.Store, maxScan int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(nil)
	srv.Config.Handler = scim.NewHandler(scim.HandlerConfig{
		Prefix: "/scim/v2", BaseURL: srv.URL + "/scim/v2", Store: st, Engine: h.Engine(), MaxSnapshotScan: maxScan,
		Authorize: func(*http.Request) (lifecycle.Actor, error) {
			return lifecycle.Actor{Name: "test", System: "scim"}, nil
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

// A filtered list that no index narrows reads at most MaxSnapshotScan
// users and groups (give or take the batch that finds the hub larger) in
// one read transaction. It read every user in one, which kept the
// write-ahead log from being checkpointed for as long as the scan took
// (6-8 s at 100,000 users) and let it grow meanwhile. The answer is the
// same either way; a hub within the bound keeps its one snapshot.
func TestFilteredScanBoundsReadTransaction(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const nUsers, nGroups = 600, 120 // several batches of each
	snapshotUsers(t, h, nUsers)
	scanGroups(t, h, nGroups, 1)
	serve := func(maxScan int) (*txRowStore, *httptest.Server) {
		st := &txRowStore{Store: h.Store()}
		return st, scanServer(t, h, st, maxScan)
	}
	const search = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"w\" or displayName sw \"g\"","count":1000}`
	tests := []struct {
		name, method, path, body string
		total                    int
		batch                    int // the first read's (userScanBatch, groupScanBatch)
	}{
		{"users", "GET", "/scim/v2/Users?count=1000&" + filterQuery(`userName sw "w"`), "", nUsers, 250},
		{"groups", "GET", "/scim/v2/Groups?count=1000&" + filterQuery(`displayName sw "g"`), "", nGroups, 50},
		{"root search", "POST", "/scim/v2/.search", search, nUsers + nGroups, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const bound = 30
			st, srv := serve(bound)
			p := query(t, srv, tt.method, tt.path, tt.body)
			if p.TotalResults != tt.total || p.ItemsPerPage != min(tt.total, 1000) {
				t.Errorf("totalResults %d, itemsPerPage %d; want %d, %d", p.TotalResults, p.ItemsPerPage, tt.total, min(tt.total, 1000))
			}
			for i, rows := range st.take() {
				if rows > tt.batch {
					t.Errorf("read transaction %d listed %d users and groups; want at most %d (MaxSnapshotScan %d, or one batch)", i+1, rows, tt.batch, bound)
				}
			}

			// Within the bound, one read transaction reads them all.
			st, srv = serve(0)
			if p := query(t, srv, tt.method, tt.path, tt.body); p.TotalResults != tt.total {
				t.Errorf("within the bound: totalResults %d, want %d", p.TotalResults, tt.total)
			}
			if txs := st.take(); len(txs) != 1 || txs[0] < tt.total {
				t.Errorf("within the bound: read transactions listed %v; want one, of at least %d", txs, tt.total)
			}
		})
	}
}
