package hub_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestNotFoundClipsPathIDs: a 404 about an ID from the path (a campaign,
// a review item, a finding) repeats it cut, as a grant revoke's does, not
// whole: a path may carry tens of kilobytes. A grant's "user" is checked
// like its other names (at most 500 bytes, no control character) before
// it is looked up, so that the 404 for a user nobody is does not repeat
// a body's worth of text either.
func TestNotFoundClipsPathIDs(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	long := strings.Repeat("x", 20000)
	const maxMessage = 400
	for _, tc := range []struct{ name, method, path string }{
		{"campaign", "GET", "/api/v1/reviews/" + long},
		{"item", "POST", "/api/v1/reviews/c1/items/" + long},
		{"finding", "POST", "/api/v1/findings/" + long + "/remediate"},
	} {
		var body any
		if tc.method == "POST" && tc.name == "item" {
			body = map[string]any{"decision": "keep"}
		}
		r := h.API(t, tc.method, tc.path, body)
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusNotFound || len(msg) > maxMessage || !strings.Contains(msg, "xxxx") {
			t.Errorf("%s: %d, a message of %d bytes (%.120s); want 404 naming the ID cut, in at most %d bytes", tc.name, r.Status, len(msg), msg, maxMessage)
		}
	}

	end := time.Now().Add(2 * time.Hour).UTC()
	for _, tc := range []struct{ name, user string }{
		{"too long", strings.Repeat("u", 20000)},
		{"a control character", "jo\x07"},
	} {
		r := h.API(t, "POST", "/api/v1/grants", map[string]any{"user": tc.user, "role": "Nurse", "site": "north", "end": end, "reason": "cover"})
		msg, _ := r.JSON()["error"].(string)
		if r.Status != http.StatusBadRequest || len(msg) > maxMessage || !strings.Contains(msg, "user") {
			t.Errorf("grant to a user name %s: %d, a message of %d bytes (%.120s); want 400 about the user field", tc.name, r.Status, len(msg), msg)
		}
	}
}
