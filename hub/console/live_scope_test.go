package console_test

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestLiveStreamSeesLaterEnd: the live-update stream says "sessions" when
// a live session's end moves (a shift extended, a policy change), not
// only when sessions start or end: the block shows each session's
// "until", which was left stale.
func TestLiveStreamSeesLaterEnd(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	s := sup.events()
	if got := s.expect("sessions"); got != "1" {
		t.Fatalf("first event: %s sessions, want north's 1", got)
	}
	if _, err := h.Store().SetSessionExpiry(t.Context(), w.northSession.ID, w.northSession.Expires.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := s.expect("sessions"); got != "1" {
		t.Errorf("after the later end: %s sessions, want north's 1", got)
	}
	// Another site's later end is not north's change.
	if _, err := h.Store().SetSessionExpiry(t.Context(), w.southSession.ID, w.southSession.Expires.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().EndSessionForced(t.Context(), lifecycleActor, w.northSession.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.expect("sessions"); got != "0" {
		t.Errorf("after north's sign-out: %s sessions, want 0 (and no event for south's change before it)", got)
	}
}
