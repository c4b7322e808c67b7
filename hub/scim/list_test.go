package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// maxResults is ServiceProviderConfig's filter.maxResults.
const maxResults = 1000

// listCall is one list read a query made of the store.
type listCall struct {
	limit, rows int
}

// recordingStore records the list reads of the store it wraps, made
// directly or inside InReadTx. before, when set, runs before each list
// read with the number of reads made so far.
type recordingStore struct {
	store.Store
	mu     sync.Mutex
	calls  []listCall
	before func(n int)
	// users are the queries of the users list reads, in order.
	users []store.UserQuery
}

func (s *recordingStore) recordUsers(q store.UserQuery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, q)
}

// takeUsers returns the users queries recorded since the last takeUsers
// and forgets them.
func (s *recordingStore) takeUsers() []store.UserQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.users
	s.users = nil
	return q
}

func (s *recordingStore) record(limit, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, listCall{limit, rows})
}

func (s *recordingStore) beforeRead() {
	s.mu.Lock()
	n, before := len(s.calls), s.before
	s.mu.Unlock()
	if before != nil {
		before(n)
	}
}

func (s *recordingStore) setBefore(fn func(n int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = fn
}

// take returns the reads recorded since the last take and forgets them.
func (s *recordingStore) take() []listCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls, s.before = nil, nil
	return c
}

func (s *recordingStore) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	return recordingOps{s.Store, s}.ListUsers(ctx, q)
}

func (s *recordingStore) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	return recordingOps{s.Store, s}.ListUsersWithGroups(ctx, q)
}

func (s *recordingStore) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	return recordingOps{s.Store, s}.ListGroups(ctx, q)
}

func (s *recordingStore) InReadTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InReadTx(ctx, func(tx store.Ops) error { return fn(recordingOps{tx, s}) })
}

// recordingOps records, in s, the list reads made through Ops: the store
// or a read transaction.
type recordingOps struct {
	store.Ops
	s *recordingStore
}

func (o recordingOps) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	o.s.beforeRead()
	us, total, err := o.Ops.ListUsers(ctx, q)
	o.s.record(q.Limit, len(us))
	o.s.recordUsers(q)
	return us, total, err
}

func (o recordingOps) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	o.s.beforeRead()
	us, gs, total, err := o.Ops.ListUsersWithGroups(ctx, q)
	o.s.record(q.Limit, len(us))
	o.s.recordUsers(q)
	return us, gs, total, err
}

func (o recordingOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	o.s.beforeRead()
	gs, total, err := o.Ops.ListGroups(ctx, q)
	o.s.record(q.Limit, len(gs))
	return gs, total, err
}

// listServer serves a SCIM handler over the hub's store, wrapped to record
// its list reads, on loopback.
func listServer(t *testing.T, h *hubtest.Hub) (*recordingStore, *httptest.Server) {
	rec := &recordingStore{Store: h.Store()}
	srv := httptest.NewServer(nil)
	srv.Config.Handler = scim.NewHandler(scim.HandlerConfig{
		Prefix: "/scim/v2", BaseURL: srv.URL + "/scim/v2", Store: rec, Engine: h.Engine(),
		Authorize: func(*http.Request) (lifecycle.Actor, error) {
			return lifecycle.Actor{Name: "test", System: "scim"}, nil
		},
	})
	t.Cleanup(srv.Close)
	return rec, srv
}

// listPage is the part of a ListResponse the tests read.
type listPage struct {
	TotalResults, StartIndex, ItemsPerPage int
	Resources                              []struct {
		UserName, DisplayName string
	}
}

func query(t *testing.T, srv *httptest.Server, method, path, body string) listPage {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p listPage
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return p
}

// checkReads fails unless each list read was capped and held at most
// maxResults rows: a filtered query read every user of the hub at once.
func checkReads(t *testing.T, what string, calls []listCall) {
	t.Helper()
	if len(calls) == 0 {
		t.Errorf("%s: no list read recorded", what)
	}
	for _, c := range calls {
		if c.limit <= 0 || c.limit > maxResults || c.rows > maxResults {
			t.Errorf("%s: a list read with limit %d returned %d rows; want every read capped at %d", what, c.limit, c.rows, maxResults)
		}
	}
}

// A filter no index answers (userName sw) is evaluated on every user, but
// the query reads the store a batch at a time and holds one page: it read
// and rendered every user at once. count is capped at maxResults, and
// totalResults and paging are those of all the matches.
func TestFilteredListIsBounded(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const n = maxResults + 10
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	err := h.Store().InTx(t.Context(), func(tx store.Ops) error {
		for i := range n {
			name := fmt.Sprintf("w%04d", i)
			at := base.Add(time.Duration(i) * time.Second)
			u, err := tx.CreateUser(t.Context(), store.User{ID: store.NewID(), UserName: name, Active: true, State: store.UserActive,
				Document: json.RawMessage(`{"schemas":["` + coreUser + `"],"userName":"` + name + `"}`), Created: at, Modified: at})
			if err != nil {
				return err
			}
			ids[i] = u.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, srv := listServer(t, h)
	sw := filterQuery(`userName sw "w"`)

	p := query(t, srv, "GET", "/scim/v2/Users?count=5000&"+sw, "")
	checkReads(t, "count=5000", rec.take())
	if p.TotalResults != n || p.StartIndex != 1 || p.ItemsPerPage != maxResults || len(p.Resources) != maxResults {
		t.Fatalf("count=5000: total %d, startIndex %d, itemsPerPage %d, %d resources; want %d, 1, %d, %d",
			p.TotalResults, p.StartIndex, p.ItemsPerPage, len(p.Resources), n, maxResults, maxResults)
	}
	for i, r := range p.Resources {
		if want := fmt.Sprintf("w%04d", i); r.UserName != want {
			t.Fatalf("resource %d is %s, want %s", i, r.UserName, want)
		}
	}

	p = query(t, srv, "GET", "/scim/v2/Users?startIndex=1001&count=5000&"+sw, "")
	checkReads(t, "second page", rec.take())
	if p.TotalResults != n || p.StartIndex != 1001 || p.ItemsPerPage != n-1000 || p.Resources[0].UserName != "w1000" {
		t.Errorf("second page: total %d, startIndex %d, itemsPerPage %d; want %d, 1001, %d from w1000", p.TotalResults, p.StartIndex, p.ItemsPerPage, n, n-1000)
	}

	p = query(t, srv, "POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName ew \"5\"","startIndex":50,"count":3}`)
	checkReads(t, ".search", rec.take())
	if p.TotalResults != n/10 || p.ItemsPerPage != 3 || p.Resources[0].UserName != "w0495" || p.Resources[2].UserName != "w0515" {
		t.Errorf(".search userName ew 5 from 50: total %d, %d items %v; want %d, 3 from w0495", p.TotalResults, p.ItemsPerPage, p.Resources, n/10)
	}

	p = query(t, srv, "GET", "/scim/v2/Users?count=0&"+sw, "")
	checkReads(t, "count=0", rec.take())
	if p.TotalResults != n || len(p.Resources) != 0 {
		t.Errorf("count=0: total %d, %d resources; want %d, 0", p.TotalResults, len(p.Resources), n)
	}

	// Users deleted while the query reads (here: the first five, between
	// its first and second read) move the rest forward; none that stays
	// is skipped or counted twice.
	rec.setBefore(func(reads int) {
		if reads != 1 {
			return
		}
		for _, id := range ids[:5] {
			if _, err := h.Store().UpdateUser(context.Background(), id, func(u store.User) (store.User, error) {
				u.State, u.Active, u.Deleted = store.UserDeleted, false, u.Modified
				return u, nil
			}); err != nil {
				t.Error(err)
			}
		}
	})
	p = query(t, srv, "GET", "/scim/v2/Users?count=1000&"+sw, "")
	if calls := rec.take(); len(calls) < 2 {
		t.Fatalf("the query made %d reads; the test needs it to make more than one", len(calls))
	}
	if p.TotalResults != n || len(p.Resources) != maxResults {
		t.Errorf("with users deleted mid-query: total %d, %d resources; want %d, %d", p.TotalResults, len(p.Resources), n, maxResults)
	}
	for i, r := range p.Resources {
		if want := fmt.Sprintf("w%04d", i); r.UserName != want {
			t.Fatalf("with users deleted mid-query: resource %d is %s, want %s", i, r.UserName, want)
		}
	}
	if p = query(t, srv, "GET", "/scim/v2/Users?count=0&"+sw, ""); p.TotalResults != n-5 {
		t.Errorf("after the deletes: total %d, want %d", p.TotalResults, n-5)
	}
}

// Groups: the same bound for a filter no index answers.
func TestFilteredGroupListIsBounded(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const n = 120
	scanGroups(t, h, n, 1)
	rec, srv := listServer(t, h)
	p := query(t, srv, "GET", "/scim/v2/Groups?startIndex=51&count=7&"+filterQuery(`displayName sw "g"`), "")
	calls := rec.take()
	checkReads(t, "groups", calls)
	for _, c := range calls {
		if c.rows >= n {
			t.Errorf("a list read returned %d rows: every group at once", c.rows)
		}
	}
	if p.TotalResults != n || p.ItemsPerPage != 7 || p.Resources[0].DisplayName != "g050" || p.Resources[6].DisplayName != "g056" {
		t.Errorf("groups page: total %d, %d items %v; want %d, 7 from g050", p.TotalResults, p.ItemsPerPage, p.Resources, n)
	}
}

// An AND-ed filter whose indexed clause (userName, externalId, id) comes
// after one on displayName, which has no index for users, looks the user
// up by the indexed clause and matches the rest on it. It read every user
// in batches. The answers are those of the clauses in the other order.
func TestFilterUsesIndexedClauseAfterDisplayName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for i := range 4 {
		wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", fmt.Sprintf(`{"schemas":["%s"],"userName":"w%d","externalId":"E%d","displayName":"Worker %d"}`, coreUser, i, i, i)), 201)
	}
	rec, srv := listServer(t, h)
	for _, tc := range []struct {
		filter, swapped string
		by              func(store.UserQuery) string
		want            []string
	}{
		{`displayName eq "Worker 2" and userName eq "W2"`, `userName eq "W2" and displayName eq "Worker 2"`,
			func(q store.UserQuery) string { return q.UserName }, []string{"w2"}},
		{`displayName eq "Worker 3" and userName eq "w2"`, `userName eq "w2" and displayName eq "Worker 3"`,
			func(q store.UserQuery) string { return q.UserName }, nil},
		{`displayName eq "worker 1" and (active pr or title pr) and externalId eq "E1"`, `externalId eq "E1" and displayName eq "worker 1" and (active pr or title pr)`,
			func(q store.UserQuery) string { return q.ExternalID }, []string{"w1"}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got := query(t, srv, "GET", "/scim/v2/Users?"+filterQuery(tc.filter), "")
			qs := rec.takeUsers()
			if len(qs) != 1 || tc.by(qs[0]) == "" || qs[0].Limit != 0 {
				t.Errorf("store reads %+v; want one lookup by the indexed clause, without a limit", qs)
			}
			want := query(t, srv, "GET", "/scim/v2/Users?"+filterQuery(tc.swapped), "")
			rec.takeUsers()
			var names, wantNames []string
			for _, r := range got.Resources {
				names = append(names, r.UserName)
			}
			for _, r := range want.Resources {
				wantNames = append(wantNames, r.UserName)
			}
			if got.TotalResults != len(tc.want) || fmt.Sprint(names) != fmt.Sprint(tc.want) || fmt.Sprint(names) != fmt.Sprint(wantNames) {
				t.Errorf("matches %v (total %d), with the clauses swapped %v; want %v", names, got.TotalResults, wantNames, tc.want)
			}
		})
	}
	// An or is not narrowed: a scan, and both matches.
	got := query(t, srv, "GET", "/scim/v2/Users?"+filterQuery(`displayName eq "Worker 0" or userName eq "w3"`), "")
	if qs := rec.takeUsers(); len(qs) == 0 || qs[0].UserName != "" || got.TotalResults != 2 {
		t.Errorf("or filter: reads %+v, total %d; want a scan and 2 matches", qs, got.TotalResults)
	}
}
