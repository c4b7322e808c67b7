package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// observedStore notes which resource types the SCIM handler lists, whether
// it reads the store directly or inside InReadTx, and runs afterUsers (once)
// right after the first users list read returns: a write committed there
// lands between a search's users read and its groups read.
type observedStore struct {
	store.Store
	mu         sync.Mutex
	reads      []string // "users" or "groups", in order
	readTxs    int
	afterUsers func()
}

func (s *observedStore) read(what string) {
	s.mu.Lock()
	s.reads = append(s.reads, what)
	after := s.afterUsers
	if what == "users" {
		s.afterUsers = nil
	} else {
		after = nil
	}
	s.mu.Unlock()
	if after != nil {
		after()
	}
}

// take returns the reads and read transactions since the last take.
func (s *observedStore) take() (reads []string, readTxs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reads, readTxs = s.reads, s.readTxs
	s.reads, s.readTxs = nil, 0
	return reads, readTxs
}

func (s *observedStore) InReadTx(ctx context.Context, fn func(store.Ops) error) error {
	s.mu.Lock()
	s.readTxs++
	s.mu.Unlock()
	return s.Store.InReadTx(ctx, func(tx store.Ops) error {
		return fn(observedOps{Ops: tx, s: s})
	})
}

func (s *observedStore) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	return observedOps{Ops: s.Store, s: s}.ListUsers(ctx, q)
}

func (s *observedStore) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	return observedOps{Ops: s.Store, s: s}.ListUsersWithGroups(ctx, q)
}

func (s *observedStore) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	return observedOps{Ops: s.Store, s: s}.ListGroups(ctx, q)
}

// observedOps notes the list reads made through Ops for s.
type observedOps struct {
	store.Ops
	s *observedStore
}

func (o observedOps) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	us, total, err := o.Ops.ListUsers(ctx, q)
	o.s.read("users")
	return us, total, err
}

func (o observedOps) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	us, gs, total, err := o.Ops.ListUsersWithGroups(ctx, q)
	o.s.read("users")
	return us, gs, total, err
}

func (o observedOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	gs, total, err := o.Ops.ListGroups(ctx, q)
	o.s.read("groups")
	return gs, total, err
}

// observedServer serves a SCIM handler over the hub's store, observed, on
// loopback.
func observedServer(t *testing.T, h *hubtest.Hub) (*observedStore, *httptest.Server) {
	t.Helper()
	obs := &observedStore{Store: h.Store()}
	srv := httptest.NewServer(nil)
	srv.Config.Handler = scim.NewHandler(scim.HandlerConfig{
		Prefix: "/scim/v2", BaseURL: srv.URL + "/scim/v2", Store: obs, Engine: h.Engine(),
		Authorize: func(*http.Request) (lifecycle.Actor, error) {
			return lifecycle.Actor{Name: "test", System: "scim"}, nil
		},
	})
	t.Cleanup(srv.Close)
	return obs, srv
}

// rootSearch POSTs a SearchRequest with members to srv's /.search and
// returns totalResults and the resources.
func rootSearch(t *testing.T, srv *httptest.Server, members map[string]any) (int, []map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/scim/v2/.search", strings.NewReader(searchBody(t, members)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		TotalResults, ItemsPerPage int
		Resources                  []map[string]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /.search %v: status %d, %v", members, resp.StatusCode, err)
	}
	if page.ItemsPerPage != len(page.Resources) {
		t.Errorf("POST /.search %v: itemsPerPage %d, %d resources", members, page.ItemsPerPage, len(page.Resources))
	}
	return page.TotalResults, page.Resources
}

func resourceIDs(rs []any) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	return ids
}

// POST /.search leaves out a resource type only where the filter cannot
// match any of its resources, and then answers exactly what searching it
// would: for each filter of the table, totalResults and every page (any
// startIndex, counts 0 to 3 and 1000) are those of GET /Users then GET
// /Groups with the filter, which never leave a type out. The table holds
// filters on attributes only one type has under not, or and and, with pr
// and eq null (not pr), on attributes both have, and on meta.resourceType;
// skip says which types must then not be read at all.
func TestSearchRootSkipsTypesExactly(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	const frontline = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	var users, groups []string
	for _, body := range []string{
		`{"schemas":["` + coreUser + `","` + enterprise + `","` + frontline + `"],"userName":"ann@example.com","displayName":"Ward ann","externalId":"ext-ann",
		  "emails":[{"type":"work","value":"ann@example.com"}],"` + enterprise + `":{"employeeNumber":"100"},"` + frontline + `":{"employmentType":"contractor"}}`,
		`{"schemas":["` + coreUser + `","` + enterprise + `"],"userName":"bob@example.com","displayName":"Worker bob",
		  "emails":[{"type":"home","value":"bob@example.net"}],"` + enterprise + `":{"department":"Cold store"}}`,
		`{"schemas":["` + coreUser + `"],"userName":"cat@example.com","title":"lead"}`,
		`{"schemas":["` + coreUser + `"],"userName":"dan@example.com","displayName":"Ward dan","externalId":"ext-shared"}`,
	} {
		users = append(users, wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", body), 201)["id"].(string))
	}
	for _, body := range []string{
		fmt.Sprintf(`{"schemas":[%q],"displayName":"Ward A","externalId":"ext-shared","members":[{"value":%q}]}`, coreGroup, users[0]),
		fmt.Sprintf(`{"schemas":[%q],"displayName":"Pickers","members":[{"value":%q},{"value":%q}]}`, coreGroup, users[1], users[2]),
		fmt.Sprintf(`{"schemas":[%q],"displayName":"Empty"}`, coreGroup),
	} {
		groups = append(groups, wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", body), 201)["id"].(string))
	}
	obs, srv := observedServer(t, h)

	const none, skipUsers, skipGroups, skipBoth = "", "users", "groups", "both"
	for _, tc := range []struct {
		filter, skip string
	}{
		{`userName eq "ann@example.com"`, skipGroups},
		{`userName pr`, skipGroups},
		{`userName ne null`, skipGroups},
		{`not (userName pr)`, none},
		// An attribute the type does not have compares false whatever the
		// operator, but eq null, which means not pr (ParseFilter): like
		// not (userName pr), it holds for every group.
		{`userName eq null`, none},
		{`nosuch eq null`, none},
		{`nosuch ne null`, skipBoth},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "a"`, skipGroups},
		{`members.value eq "` + users[1] + `"`, skipUsers},
		{`members pr`, skipUsers},
		{`members.value ne "x"`, skipUsers},
		{`not (members pr)`, none},
		{`members[value eq "` + users[0] + `"]`, skipUsers},
		{`not (members[value eq "` + users[0] + `"])`, none},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Pickers"`, skipUsers},
		{enterprise + `:employeeNumber eq "100"`, skipGroups},
		{enterprise + `:department pr or displayName sw "Ward"`, none},
		{`not (` + enterprise + `:employeeNumber pr) and displayName sw "Ward"`, none},
		{frontline + `:employmentType eq "contractor"`, skipGroups},
		{`emails[type eq "work"]`, skipGroups},
		{`not (emails[type eq "work"])`, none},
		{`emails[type eq "work"] or members pr`, none},
		{`emails[type eq "work" and nosuch eq "x"]`, skipBoth},
		{`emails[not (nosuch eq "x")]`, skipGroups},
		{`groups.display eq "Ward A"`, skipGroups},
		{`title pr and not (members pr)`, skipGroups},
		{`userName pr and members pr`, skipBoth},
		{`userName pr or members pr`, none},
		{`not (userName pr and members pr)`, none},
		{`nosuch eq "x"`, skipBoth},
		{`not (nosuch eq "x")`, none},
		{`displayName sw "Ward"`, none},
		{`externalId eq "ext-shared"`, none},
		{`id eq "` + groups[0] + `"`, none},
		{`meta.created gt "2000-01-01T00:00:00Z"`, none},
		{`meta.resourceType eq "Group"`, skipUsers},
		{`meta.resourceType eq "User"`, skipGroups},
		{`meta.resourceType ne "User"`, skipUsers},
		{`not (meta.resourceType eq "Group")`, skipGroups},
		{`meta.resourceType eq "user"`, skipBoth}, // caseExact
		{`meta.resourceType pr`, none},
		{`meta.resourceType eq null`, skipBoth},
		{`meta.resourceType eq "Group" and displayName eq "Pickers"`, skipUsers},
		{`meta.resourceType eq "User" or members pr`, none},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			var want []string
			for _, endpoint := range []string{"/scim/v2/Users", "/scim/v2/Groups"} {
				m := wantStatus(t, h.Do(t, "GET", endpoint+"?count=1000&"+filterQuery(tc.filter), nil), 200)
				ids := resourceIDs(m["Resources"].([]any))
				if m["totalResults"] != float64(len(ids)) {
					t.Fatalf("GET %s: totalResults %v, %d resources", endpoint, m["totalResults"], len(ids))
				}
				want = append(want, ids...)
			}
			obs.take()
			total, got := rootSearch(t, srv, map[string]any{"filter": tc.filter, "count": 1000})
			gotIDs := resourceIDs(anys(got))
			if total != len(want) {
				t.Errorf("totalResults %d; want %d", total, len(want))
			}
			if diff := cmp.Diff(want, gotIDs); diff != "" {
				t.Errorf("resources (-GET /Users then /Groups +POST /.search):\n%s", diff)
			}
			reads, _ := obs.take()
			readUsers, readGroups := slices.Contains(reads, "users"), slices.Contains(reads, "groups")
			wantUsers := tc.skip != skipUsers && tc.skip != skipBoth
			wantGroups := tc.skip != skipGroups && tc.skip != skipBoth
			if readUsers != wantUsers || readGroups != wantGroups {
				t.Errorf("read users %v, groups %v (%v); want users %v, groups %v", readUsers, readGroups, reads, wantUsers, wantGroups)
			}
			for start := 1; start <= len(want)+1; start++ {
				for _, count := range []int{0, 1, 2, 3} {
					total, got := rootSearch(t, srv, map[string]any{"filter": tc.filter, "startIndex": start, "count": count})
					wantPage := want[min(start-1, len(want)):min(start-1+count, len(want))]
					if gotPage := resourceIDs(anys(got)); total != len(want) || !slices.Equal(gotPage, wantPage) {
						t.Errorf("startIndex %d, count %d: total %d, %v; want %d, %v", start, count, total, gotPage, len(want), wantPage)
					}
				}
			}
		})
	}
}

func anys(rs []map[string]any) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// POST /.search reads users and groups from one snapshot: a change
// committed after the users were read and before the groups are (a new
// group with a user as member, a member removed from another) is in
// neither part of the answer. Read one after the other, the answer showed
// a state that never was: a group listing a user whose groups did not list
// it, a user listing a group that no longer listed it, and a total
// counting the new group beside users read before it.
func TestSearchRootReadsOneSnapshot(t *testing.T) {
	h, users, groups := searchFixture(t, hubtest.Options{})
	obs, srv := observedServer(t, h)
	var created, removed hubtest.Response
	obs.mu.Lock()
	obs.afterUsers = func() {
		created = h.Do(t, "POST", "/scim/v2/Groups", fmt.Sprintf(`{"schemas":[%q],"displayName":"Night shift","members":[{"value":%q}]}`, coreGroup, users[0]))
		removed = h.Do(t, "PATCH", "/scim/v2/Groups/"+groups[1], fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, users[1]))
	}
	obs.mu.Unlock()

	total, got := rootSearch(t, srv, map[string]any{})
	if created.Status != 201 || removed.Status != 200 && removed.Status != 204 {
		t.Fatalf("writes between the reads: create %d %s, patch %d %s", created.Status, created.Body, removed.Status, removed.Body)
	}
	if _, txs := obs.take(); txs != 1 {
		t.Errorf("%d read transactions; want the search in one", txs)
	}
	if total != 9 || len(got) != 9 {
		t.Errorf("totalResults %d, %d resources; want the 6 users and 3 groups as they were when the users were read", total, len(got))
	}
	if bad := inconsistentMemberships(got); len(bad) > 0 {
		t.Errorf("the answer disagrees with itself:\n%s", strings.Join(bad, "\n"))
	}

	// The writes were committed: the next search has them, and agrees
	// with itself too.
	total, got = rootSearch(t, srv, map[string]any{})
	if total != 10 || len(got) != 10 {
		t.Errorf("next search: totalResults %d, %d resources; want 10 with the new group", total, len(got))
	}
	if bad := inconsistentMemberships(got); len(bad) > 0 {
		t.Errorf("next search disagrees with itself:\n%s", strings.Join(bad, "\n"))
	}
}

// inconsistentMemberships describes each user and group of a root search
// answer where one lists the other as a group or member and the other does
// not list it back.
func inconsistentMemberships(resources []map[string]any) []string {
	type pair struct{ user, group string }
	byUser, byGroup := map[pair]bool{}, map[pair]bool{}
	var userIDs, groupIDs []string
	for _, r := range resources {
		id := r["id"].(string)
		meta, _ := r["meta"].(map[string]any)
		switch meta["resourceType"] {
		case "User":
			userIDs = append(userIDs, id)
			gs, _ := r["groups"].([]any)
			for _, g := range gs {
				byUser[pair{id, g.(map[string]any)["value"].(string)}] = true
			}
		case "Group":
			groupIDs = append(groupIDs, id)
			ms, _ := r["members"].([]any)
			for _, m := range ms {
				byGroup[pair{m.(map[string]any)["value"].(string), id}] = true
			}
		}
	}
	var bad []string
	for _, u := range userIDs {
		for _, g := range groupIDs {
			if p := (pair{u, g}); byUser[p] != byGroup[p] {
				bad = append(bad, fmt.Sprintf("user %s lists group %s: %v; the group lists the user: %v", u, g, byUser[p], byGroup[p]))
			}
		}
	}
	return bad
}
