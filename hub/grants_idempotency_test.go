package hub_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// keyedGrant posts a grant with the admin token tok and the
// Idempotency-Key key.
func keyedGrant(t *testing.T, h *hubtest.Hub, tok, key string, body map[string]any) hubtest.Response {
	t.Helper()
	return h.DoToken(t, tok, "POST", "/api/v1/grants", body, "Idempotency-Key", key)
}

// grantCount is how many grants userName has, past and revoked ones
// included.
func grantCount(t *testing.T, h *hubtest.Hub, userName string) int {
	t.Helper()
	r := h.API(t, "GET", "/api/v1/users/"+userName+"/grants", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list grants: %d %s", r.Status, r.Body)
	}
	return len(r.JSON()["grants"].([]any))
}

// numberOf counts want in list.
func numberOf(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

// TestGrantIdempotencyKeyReplay: a POST /grants sent again with its
// Idempotency-Key gets the first answer, 201 with the same grant, marked
// Idempotent-Replayed, and makes and audits no second grant; a grant
// revoked since is shown revoked. Without the header, nothing changes: two
// requests make two grants.
func TestGrantIdempotencyKeyReplay(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	tok := h.AdminToken(t)
	body := map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second), "reason": "cover"}

	first := keyedGrant(t, h, tok, "8e03978e-40d5-43e8-bc93-6894a57f9324", body)
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Body)
	}
	id := first.JSON()["id"].(string)
	again := keyedGrant(t, h, tok, "8e03978e-40d5-43e8-bc93-6894a57f9324", body)
	if again.Status != http.StatusCreated || again.JSON()["id"] != id || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: %d %v %s; want 201 with grant %s, Idempotent-Replayed: true", again.Status, again.Header, again.Body, id)
	}
	if !bytes.Equal(again.Body, first.Body) {
		t.Errorf("repeat answered %s, the first %s", again.Body, first.Body)
	}
	if n := grantCount(t, h, "jo"); n != 1 {
		t.Errorf("jo has %d grants, want 1", n)
	}
	if n := numberOf(actions(t, h, "user:"+uid), "grant.create"); n != 1 {
		t.Errorf("%d grant.create records, want 1", n)
	}

	if r := h.API(t, "POST", "/api/v1/grants/"+id+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	again = keyedGrant(t, h, tok, "8e03978e-40d5-43e8-bc93-6894a57f9324", body)
	if again.Status != http.StatusCreated || again.JSON()["id"] != id || again.JSON()["revoked"] == nil || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat after the revoke: %d %v %s; want 201 with grant %s as revoked", again.Status, again.Header, again.Body, id)
	}
	if n := grantCount(t, h, "jo"); n != 1 {
		t.Errorf("jo has %d grants after the repeat of a revoked one, want 1", n)
	}

	for i := range 2 {
		if r := h.API(t, "POST", "/api/v1/grants", body); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("grant %d without a key: %d %v %s", i, r.Status, r.Header, r.Body)
		}
	}
	if n := grantCount(t, h, "jo"); n != 3 {
		t.Errorf("jo has %d grants after two requests without a key, want 3", n)
	}
}

// TestGrantIdempotencyKeyOtherBody: a key sent again with another body is
// 422 naming the problem, and the grant the key made is left as it was.
func TestGrantIdempotencyKeyOtherBody(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	tok := h.AdminToken(t)
	end := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	first := keyedGrant(t, h, tok, "k-1", map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": end, "reason": "cover"})
	if first.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	r := keyedGrant(t, h, tok, "k-1", map[string]any{"user": "jo", "role": "Supervisor", "site": "north", "end": end, "reason": "cover"})
	if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "Idempotency-Key") || !strings.Contains(msg, "another body") {
		t.Errorf("same key, another body: %d %s; want 422 naming the key's other body", r.Status, r.Body)
	}
	l := h.API(t, "GET", "/api/v1/users/jo/grants", nil)
	gs := l.JSON()["grants"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["role"] != "Nurse" || gs[0].(map[string]any)["revoked"] != nil {
		t.Errorf("jo's grants = %s; want the first, untouched", l.Body)
	}
}

// TestGrantIdempotencyKeyPerCaller: a key is its caller's: another token
// sending the same key and body makes its own grant.
func TestGrantIdempotencyKeyPerCaller(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	body := map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second), "reason": "cover"}
	a := keyedGrant(t, h, h.AdminToken(t), "shared", body)
	b := keyedGrant(t, h, h.Token(t, "other-admin", "admin"), "shared", body)
	if a.Status != http.StatusCreated || b.Status != http.StatusCreated || b.Header.Get("Idempotent-Replayed") != "" || a.JSON()["id"] == b.JSON()["id"] {
		t.Errorf("two tokens, one key: %d %s and %d %v %s; want two grants", a.Status, a.Body, b.Status, b.Header, b.Body)
	}
	if n := grantCount(t, h, "jo"); n != 2 {
		t.Errorf("jo has %d grants, want 2", n)
	}
}

// TestGrantIdempotencyKeyInvalid: a key that is no key is 400 saying what
// one is, and makes no grant; a request refused for its body stores no
// key, so the key works for the request that corrects it.
func TestGrantIdempotencyKeyInvalid(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	tok := h.AdminToken(t)
	body := map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second), "reason": "cover"}
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"too long", strings.Repeat("k", 256)},
		{"not ASCII", "schlüssel"},
		{"a tab", "k\t1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := keyedGrant(t, h, tok, tc.key, body)
			if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusBadRequest || !strings.Contains(msg, "Idempotency-Key") {
				t.Errorf("key %q: %d %s; want 400 naming the header", tc.key, r.Status, r.Body)
			}
		})
	}
	// Two headers: which one is the key?
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", h.URL+"/api/v1/grants", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Add("Idempotency-Key", "k-1")
	req.Header.Add("Idempotency-Key", "k-2")
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two keys: %d, want 400", resp.StatusCode)
	}
	if n := grantCount(t, h, "jo"); n != 0 {
		t.Fatalf("jo has %d grants after refused keys, want none", n)
	}

	wrong := map[string]any{"user": "jo", "role": "Nurse", "site": "atlantis", "end": body["end"], "reason": "cover"}
	if r := keyedGrant(t, h, tok, "k-1", wrong); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown site: %d %s, want 400", r.Status, r.Body)
	}
	if r := keyedGrant(t, h, tok, strings.Repeat("k", 255), body); r.Status != http.StatusCreated {
		t.Errorf("a key of 255 characters: %d %s, want 201", r.Status, r.Body)
	}
	if r := keyedGrant(t, h, tok, "k-1", body); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the key of a refused request, with the corrected body: %d %v %s; want a new grant", r.Status, r.Header, r.Body)
	}
}

// TestGrantIdempotencyKeyConcurrent: requests with one key sent at once
// make one grant, whichever commits first; the others get it replayed.
func TestGrantIdempotencyKeyConcurrent(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	tok := h.AdminToken(t)
	b, _ := json.Marshal(map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second), "reason": "cover"})

	const n = 8
	type answer struct {
		status   int
		id       string
		replayed bool
		err      error
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest("POST", h.URL+"/api/v1/grants", bytes.NewReader(b))
			if err != nil {
				answers[i].err = err
				return
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Idempotency-Key", "once")
			resp, err := h.Client.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			var g struct {
				ID string `json:"id"`
			}
			answers[i].err = json.NewDecoder(resp.Body).Decode(&g)
			answers[i].status, answers[i].id, answers[i].replayed = resp.StatusCode, g.ID, resp.Header.Get("Idempotent-Replayed") == "true"
		}()
	}
	close(start)
	wg.Wait()
	replays := 0
	for i, a := range answers {
		if a.err != nil || a.status != http.StatusCreated || a.id == "" || a.id != answers[0].id {
			t.Errorf("request %d: %d grant %q (%v); want 201 with grant %q", i, a.status, a.id, a.err, answers[0].id)
		}
		if a.replayed {
			replays++
		}
	}
	if replays != n-1 {
		t.Errorf("%d answers replayed, want %d", replays, n-1)
	}
	if got := grantCount(t, h, "jo"); got != 1 {
		t.Errorf("jo has %d grants, want 1", got)
	}
	if got := numberOf(actions(t, h, "user:"+uid), "grant.create"); got != 1 {
		t.Errorf("%d grant.create records, want 1", got)
	}
}

// TestGrantIdempotencyKeyForgotten: a key is remembered for 24 hours:
// until then a retry gets the grant back even when its end has passed
// (the request would be refused now); after them the key makes a new
// grant.
func TestGrantIdempotencyKeyForgotten(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["south"]}`)
	h.EnrollKiosk(t, "north-1", "north")
	tok := h.AdminToken(t)
	short := map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": now.Add(2 * time.Hour), "reason": "cover"}
	long := map[string]any{"user": "jo", "role": "Nurse", "site": "north", "end": now.Add(48 * time.Hour), "reason": "cover"}
	s := keyedGrant(t, h, tok, "short", short)
	l := keyedGrant(t, h, tok, "long", long)
	if s.Status != http.StatusCreated || l.Status != http.StatusCreated {
		t.Fatalf("grants: %d %s, %d %s", s.Status, s.Body, l.Status, l.Body)
	}

	clock.Advance(3 * time.Hour)
	if r := keyedGrant(t, h, tok, "short", short); r.Status != http.StatusCreated || r.JSON()["id"] != s.JSON()["id"] || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after the grant's end: %d %v %s; want the grant replayed", r.Status, r.Header, r.Body)
	}

	clock.Advance(21*time.Hour + time.Second)
	r := keyedGrant(t, h, tok, "long", long)
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" || r.JSON()["id"] == l.JSON()["id"] {
		t.Errorf("key sent again after 24 hours: %d %v %s; want a new grant", r.Status, r.Header, r.Body)
	}
	if n := grantCount(t, h, "jo"); n != 3 {
		t.Errorf("jo has %d grants, want 3", n)
	}
}
