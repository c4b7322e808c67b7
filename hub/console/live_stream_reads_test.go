package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// pollCounter is the hub's store counting the times a live-update
// stream read the live sessions (siteReads for a site's page, adminReads
// for an admin's page of every site).
type pollCounter interface {
	store.Store
	polls() int
}

// streamSite signs v in with a console session of its own, stored in
// rc, and runs the live-update stream of the site page for v until the
// stream has read the live sessions polls times more (rc.polls), then
// closes the stream as a browser leaving the page does and waits for it to
// end.
func streamSite(t *testing.T, r *selfRace, rc pollCounter, v *viewer, polls int) {
	t.Helper()
	ctx := t.Context()
	secret := make([]byte, secretBytes)
	now := time.Now().UTC()
	if err := rc.CreateConsoleSession(ctx, store.ConsoleSession{Hash: hashSecret(secret), AccountID: v.account.ID, Created: now, LastSeen: now,
		Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	v.hash, v.csrf = hashSecret(secret), csrfToken(secret)

	start := rc.polls()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := httptest.NewRequestWithContext(sctx, "GET", "/console/site/events", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: base64.RawURLEncoding.EncodeToString(secret)})
	done := make(chan error, 1)
	go func() { done <- r.c.siteEvents(httptest.NewRecorder(), req, v) }()
	for rc.polls()-start < polls {
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
	rc := &siteReads{Store: r.st.Store}
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

	// Let the stream poll a few times, then close it.
	rc.reset()
	streamSite(t, r, rc, sam, 5)
	rc.mu.Lock()
	users, polls := rc.users, rc.allLive+rc.bySite
	rc.mu.Unlock()
	if users != 0 {
		t.Errorf("the stream read users %d times in %d polls with %d workers signed in, want none", users, polls, workers)
	}

	// The block itself names them, reading each user once.
	rc.reset()
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), sam); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.Body.String(), "worker39") {
		t.Errorf("live block without the workers' names: %s", w.Body)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.users != workers {
		t.Errorf("the live block read users %d times, want %d: once each", rc.users, workers)
	}
}
