package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// TestPutSiteRefusesHiddenNewName: a new site whose name holds a
// character that shows as nothing (a variation selector after a letter)
// is refused wherever a site is registered, the CLI's site set included,
// which goes straight to the engine; the console and the API refused it
// already.
func TestPutSiteRefusesHiddenNewName(t *testing.T) {
	w := newSiteWorld(t, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), nil, nil)
	e := w.eng
	for _, name := range []string{"North\ufe0f", "No\u200brth"} {
		_, err := e.PutSite(t.Context(), lifecycle.Actor{Name: "cli", System: "cli"}, lifecycle.SiteZone{Name: name, TimeZone: "Europe/Berlin"})
		if !errors.Is(err, lifecycle.ErrInvalid) {
			t.Errorf("site %q: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := e.PutSite(t.Context(), lifecycle.Actor{Name: "cli", System: "cli"}, lifecycle.SiteZone{Name: "North", TimeZone: "Europe/Berlin"}); err != nil {
		t.Errorf("site North: %v", err)
	}
}
