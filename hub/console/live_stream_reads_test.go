package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// readCounter is the hub's store counting the users read by ID and the
// live-session listings, for a test of what a console request reads.
type readCounter struct {
	store.Store
	mu       sync.Mutex
	users    int // GetUser calls
	listings int // ListSessions and ListSiteSessions calls
}

func (s *readCounter) GetUser(ctx context.Context, id string) (store.User, error) {
	s.mu.Lock()
	s.users++
	s.mu.Unlock()
	return s.Store.GetUser(ctx, id)
}

func (s *readCounter) ListSessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	s.mu.Lock()
	s.listings++
	s.mu.Unlock()
	return s.Store.ListSessions(ctx, q)
}

// ListSiteSessions is the listing of a supervisor's live sessions, by
// site.
func (s *readCounter) ListSiteSessions(ctx context.Context, sites []string) ([]store.Session, error) {
	s.mu.Lock()
	s.listings++
	s.mu.Unlock()
	return s.Store.ListSiteSessions(ctx, sites)
}

func (s *readCounter) counts() (users, listings int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users, s.listings
}

// TestLiveStreamReadsNoUsers: the live-update stream of an open site page
// (/console/site/events) checks the live sessions every poll by their IDs
// and reads none of their users: with hundreds of workers signed in, a
// user read per session per second for every open page would keep the
// hub's store busy with nothing to show. The names are read when the
// block is fetched (/console/site/live), once per user.
func TestLiveStreamReadsNoUsers(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	rc := &readCounter{Store: r.st.Store}
	r.c.st = rc
	r.c.cfg.LivePoll = 10 * time.Millisecond
	now := time.Now().UTC()
	if _, err := rc.CreateDevice(ctx, store.Device{ID: "dev-north", Name: "north-1", Site: "north", Profile: "generic-x86",
		State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	const workers = 40
	for i := range workers {
		u, err := r.eng.CreateUser(ctx, scimActor, store.User{ID: fmt.Sprintf("u-%d", i), UserName: fmt.Sprintf("worker%d", i), Active: true, Sites: []string{"north"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.CreateSession(ctx, store.Session{ID: fmt.Sprintf("s-%d", i), UserID: u.ID, DeviceID: "dev-north", Role: "Picker",
			Started: now, Expires: now.Add(8 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
	secret := make([]byte, secretBytes)
	if err := rc.CreateConsoleSession(ctx, store.ConsoleSession{Hash: hashSecret(secret), AccountID: sam.account.ID, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sam.hash, sam.csrf = hashSecret(secret), csrfToken(secret)

	sctx, cancel := context.WithCancel(ctx)
	req := httptest.NewRequestWithContext(sctx, "GET", "/console/site/events", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: base64.RawURLEncoding.EncodeToString(secret)})
	users0, listings0 := rc.counts()
	done := make(chan error, 1)
	rec := httptest.NewRecorder()
	go func() { done <- r.c.siteEvents(rec, req, sam) }()
	// Let the stream poll a few times, then close it.
	for {
		if _, l := rc.counts(); l-listings0 >= 5 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the stream ended before polling: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	users, listings := rc.counts()
	if n := users - users0; n != 0 {
		t.Errorf("the stream read users %d times in %d polls with %d workers signed in, want none", n, listings-listings0, workers)
	}

	// The block itself names them, reading each user once.
	users0, _ = rc.counts()
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), sam); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.Body.String(), "worker39") {
		t.Errorf("live block without the workers' names: %s", w.Body)
	}
	if users, _ := rc.counts(); users-users0 != workers {
		t.Errorf("the live block read users %d times, want %d: once each", users-users0, workers)
	}
}
