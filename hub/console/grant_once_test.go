package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var grantOnceField = regexp.MustCompile(`<input type="hidden" name="once" value="([^"]+)"`)

// TestGrantFormSentTwice: the grant form sent twice (a double click on
// Grant, the form sent again when its answer did not arrive, two requests
// racing) makes one grant and one grant.create record, not two: revoking
// the grant the page lists would otherwise leave its twin giving the
// access. Each load of the page gives the form a key of its own, so the
// next grant is a grant; the key sent again with other values is refused
// (409) and makes nothing.
func TestGrantFormSentTwice(t *testing.T) {
	h, w, admin := adminWorld(t, "Nurse")
	sup := admin.supervisor("sam", "north")
	formKey := func() string { t.Helper(); return sup.formKey("/console/site/", grantOnceField) }
	grants := func() int { t.Helper(); return grantCount(t, h, w.northUser.ID) }
	form := func(key, reason string) url.Values {
		return url.Values{"user": {w.northUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"}, "reason": {reason}, "once": {key}}
	}
	before := actionCount(t, h, "grant.create")

	key := formKey()
	if key2 := formKey(); key2 == key {
		t.Fatalf("two loads of the page gave the grant form the same key %q", key)
	}
	for i := range 2 {
		if r := sup.post("/console/site/grants", form(key, "cover")); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/site/") {
			t.Fatalf("send %d: %d %s, want 303 to the site page", i+1, r.Status, r.Body)
		}
	}
	if n := grants(); n != 1 {
		t.Errorf("the form sent twice made %d grants, want 1", n)
	}

	// Two requests racing: one grant.
	key = formKey()
	atOnce(func() {
		if r := sup.post("/console/site/grants", form(key, "night cover")); r.Status != http.StatusSeeOther {
			t.Errorf("racing send: %d %s, want 303", r.Status, r.Body)
		}
	})
	if n := grants(); n != 2 {
		t.Errorf("after a second form sent twice at once: %d grants, want 2", n)
	}

	// The key of a form that made a grant, sent with other values: 409,
	// nothing made.
	if r := sup.post("/console/site/grants", form(key, "something else")); r.Status != http.StatusConflict || !strings.Contains(r.Body, "reload") {
		t.Errorf("key sent again with another reason: %d %s, want 409 asking for a reload", r.Status, r.Body)
	}
	if n := grants(); n != 2 {
		t.Errorf("after the key sent with other values: %d grants, want 2", n)
	}
	if n := actionCount(t, h, "grant.create") - before; n != 2 {
		t.Errorf("%d grant.create records, want 2", n)
	}

	// A key that is no key is a 400.
	if r := sup.post("/console/site/grants", form(strings.Repeat("k", 300), "cover")); r.Status != http.StatusBadRequest {
		t.Errorf("a 300-byte key: %d %s, want 400", r.Status, r.Body)
	}
}

// TestGrantFormKeyKeepsScope: a grant form's key does not loosen the
// supervisor's scope: another site's worker is still 403, and nothing is
// made.
func TestGrantFormKeyKeepsScope(t *testing.T) {
	h, w, admin := adminWorld(t, "Nurse")
	sup := admin.supervisor("sam", "north")
	r := sup.post("/console/site/grants", url.Values{"user": {w.southUser.UserName}, "role": {"Nurse"}, "site": {"north"}, "until": {"4h"},
		"reason": {"cover"}, "once": {"k1"}})
	if r.Status != http.StatusForbidden {
		t.Errorf("another site's worker with a form key: %d %s, want 403", r.Status, r.Body)
	}
	if n := grantCount(t, h, w.southUser.ID); n != 1 { // makeWorld's
		t.Errorf("south's worker has %d grants, want 1", n)
	}
}
