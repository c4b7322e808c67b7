package scim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// racingStore lets another client's change commit in the windows a
// request leaves open: right after each read made outside a transaction,
// and right before a transaction begins. Whatever a handler checks on
// such a read, the change commits after the check; only a check on what
// the transaction itself reads sees it.
type racingStore struct {
	store.Store
	mu   sync.Mutex
	race func() // run once at the next window, then cleared
}

func (s *racingStore) arm(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.race = fn
}

func (s *racingStore) window() {
	s.mu.Lock()
	fn := s.race
	s.race = nil
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (s *racingStore) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	s.window()
	return u, err
}

func (s *racingStore) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := s.Store.GetGroup(ctx, id)
	s.window()
	return g, err
}

func (s *racingStore) InTx(ctx context.Context, fn func(store.Ops) error) error {
	s.window()
	return s.Store.InTx(ctx, fn)
}

// raceServer serves, on loopback, a SCIM handler whose store and engine
// go through a racingStore over the hub's store; the other client's
// changes go to the hub itself.
func raceServer(t *testing.T, h *hubtest.Hub) (*racingStore, *httptest.Server) {
	t.Helper()
	rs := &racingStore{Store: h.Store()}
	key, err := audit.LoadOrCreateKey(t.Context(), h.DataDir, h.Store())
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: rs, Audit: alog})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	srv.Config.Handler = scim.NewHandler(scim.HandlerConfig{
		Prefix: "/scim/v2", BaseURL: srv.URL + "/scim/v2", Store: rs, Engine: eng,
		Authorize: func(*http.Request) (lifecycle.Actor, error) {
			return lifecycle.Actor{Name: "test", System: "scim"}, nil
		},
	})
	t.Cleanup(srv.Close)
	return rs, srv
}

// deleteIfMatch sends DELETE path with If-Match: tag to srv.
func deleteIfMatch(t *testing.T, srv *httptest.Server, path, tag string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "DELETE", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-Match", tag)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// patchHub sends a PATCH to the hub from inside a request being served,
// where t.Fatal must not be called: failures are reported with t.Errorf.
func patchHub(t *testing.T, h *hubtest.Hub, path, body string) {
	req, err := http.NewRequest("PATCH", h.URL+path, strings.NewReader(body))
	if err != nil {
		t.Errorf("racing PATCH: %v", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+h.SCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Errorf("racing PATCH: %v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("racing PATCH %s: status %d, body %s", path, resp.StatusCode, b)
	}
}

// A DELETE with If-Match deletes only the version it names (RFC 7644
// §3.14, RFC 7232 §3.1). Another client's PATCH committing between the
// handler's check and the delete got the resource deleted over it with a
// 204: the check read the resource before the transaction. Now the delete
// is a 412 and the resource keeps the PATCH; a DELETE with the current
// ETag still deletes.
func TestDeleteIfMatchRacingPatch(t *testing.T) {
	for _, tc := range []struct {
		name, collection, create, patch string
		// patched reports whether the stored resource holds the racing
		// PATCH.
		patched func(*testing.T, *hubtest.Hub, string) bool
	}{
		{
			name: "user", collection: "Users",
			create: `{"schemas":["` + coreUser + `"],"userName":"race.user","displayName":"Before"}`,
			patch:  `{"schemas":["` + patchOp + `"],"Operations":[{"op":"replace","path":"displayName","value":"After"}]}`,
			patched: func(t *testing.T, h *hubtest.Hub, id string) bool {
				u, err := h.Store().GetUser(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				return u.State != store.UserDeleted && u.DisplayName == "After"
			},
		},
		{
			name: "group", collection: "Groups",
			create: `{"schemas":["` + coreGroup + `"],"displayName":"Picker","externalId":"before"}`,
			patch:  `{"schemas":["` + patchOp + `"],"Operations":[{"op":"replace","path":"externalId","value":"after"}]}`,
			patched: func(t *testing.T, h *hubtest.Hub, id string) bool {
				g, err := h.Store().GetGroup(t.Context(), id)
				if err != nil {
					t.Fatalf("group after the refused DELETE: %v", err)
				}
				return g.ExternalID == "after"
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{})
			rs, srv := raceServer(t, h)
			r := h.Do(t, "POST", "/scim/v2/"+tc.collection, tc.create)
			wantStatus(t, r, 201)
			id, stale := r.JSON()["id"].(string), r.Header.Get("ETag")
			if stale == "" {
				t.Fatal("create answered no ETag")
			}
			path := "/scim/v2/" + tc.collection + "/" + id

			var raced atomic.Bool
			rs.arm(func() {
				raced.Store(true)
				patchHub(t, h, path, tc.patch)
			})
			status, body := deleteIfMatch(t, srv, path, stale)
			if !raced.Load() {
				t.Fatal("the racing PATCH never ran: the DELETE read nothing and began no transaction")
			}
			if status != http.StatusPreconditionFailed {
				t.Errorf("DELETE with the ETag from before a racing PATCH: status %d, body %s; want 412", status, body)
			}
			if !tc.patched(t, h, id) {
				t.Errorf("%s %s does not hold the racing PATCH after the DELETE", tc.name, id)
			}

			current := h.Do(t, "GET", path, nil).Header.Get("ETag")
			if current == stale {
				t.Fatalf("ETag %s did not change with the PATCH", current)
			}
			if status, body := deleteIfMatch(t, srv, path, current); status != http.StatusNoContent {
				t.Fatalf("DELETE with the current ETag %s: status %d, body %s; want 204", current, status, body)
			}
			if r := h.Do(t, "GET", path, nil); r.Status != http.StatusNotFound {
				t.Errorf("GET after the DELETE: status %d, want 404", r.Status)
			}
			if status, _ := deleteIfMatch(t, srv, path, current); status != http.StatusNotFound {
				t.Errorf("DELETE of a deleted %s with its last ETag: status %d, want 404", tc.name, status)
			}
		})
	}
}

// Through the hub itself, a DELETE with the current ETag deletes and one
// with a stale ETag is refused, for users and groups.
func TestDeleteIfMatchHub(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for i, collection := range []string{"Users", "Groups"} {
		t.Run(collection, func(t *testing.T) {
			create := fmt.Sprintf(`{"schemas":["%s"],"userName":"plain%d"}`, coreUser, i)
			if collection == "Groups" {
				create = fmt.Sprintf(`{"schemas":["%s"],"displayName":"Role%d"}`, coreGroup, i)
			}
			r := h.Do(t, "POST", "/scim/v2/"+collection, create)
			wantStatus(t, r, 201)
			path := "/scim/v2/" + collection + "/" + r.JSON()["id"].(string)
			tag := r.Header.Get("ETag")
			if r := h.Do(t, "DELETE", path, nil, "If-Match", `W/"999"`); r.Status != http.StatusPreconditionFailed {
				t.Errorf("DELETE with a stale ETag: status %d, body %s; want 412", r.Status, r.Body)
			}
			if r := h.Do(t, "DELETE", path, nil, "If-Match", tag); r.Status != http.StatusNoContent {
				t.Fatalf("DELETE with the current ETag %s: status %d, body %s; want 204", tag, r.Status, r.Body)
			}
			if r := h.Do(t, "GET", path, nil); r.Status != http.StatusNotFound {
				t.Errorf("GET after the DELETE: status %d, want 404", r.Status)
			}
		})
	}
}
