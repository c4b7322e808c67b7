package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var campaignOnceField = regexp.MustCompile(`<form method="post" action="/console/reviews" id="campaign-form">\s*<input type="hidden" name="csrf" value="[^"]*">\s*<input type="hidden" name="once" value="([^"]+)"`)

// TestCampaignFormSentTwice: the campaign form sent twice (a double
// click on Start, the form sent again when its answer did not arrive,
// two requests racing) starts one campaign, not two that list every
// reviewer's items twice; the repeat lands on that campaign and says the
// form was sent more than once. Each load of the page gives the form a
// key of its own, so the next campaign is a campaign; the key sent again
// with other values is refused (409) and starts nothing.
func TestCampaignFormSentTwice(t *testing.T) {
	ctx := t.Context()
	h, _, admin := adminWorld(t)
	formKey := func() string { t.Helper(); return admin.formKey("/console/reviews", campaignOnceField) }
	campaigns := func() int {
		t.Helper()
		cs, err := h.Store().ListCampaigns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	form := func(key, name string) url.Values {
		return url.Values{"name": {name}, "due": {due}, "sites": {"north"}, "once": {key}}
	}

	key := formKey()
	if key2 := formKey(); key2 == key {
		t.Fatalf("two loads of the page gave the campaign form the same key %q", key)
	}
	first := admin.post("/console/reviews", form(key, "Q4 north"))
	again := admin.post("/console/reviews", form(key, "Q4 north"))
	at := func(r resp) string { return strings.SplitN(r.location(), "?", 2)[0] }
	if first.Status != http.StatusSeeOther || again.Status != http.StatusSeeOther || at(first) != at(again) || !strings.HasPrefix(at(first), "/console/reviews/") {
		t.Fatalf("sent twice: %d %s, %d %s; want 303 to one campaign's page", first.Status, first.location(), again.Status, again.location())
	}
	if !strings.Contains(again.location(), "ok=campaign-repeated") {
		t.Errorf("the repeat went to %s, want it to say the form was sent more than once", again.location())
	}
	if page := admin.get(again.location()); !strings.Contains(page.Body, "sent more than once") {
		t.Errorf("the campaign page after the repeat does not say the form was sent more than once")
	}
	if n := campaigns(); n != 1 {
		t.Errorf("the form sent twice started %d campaigns, want 1", n)
	}

	// Two requests racing: one campaign.
	key = formKey()
	atOnce(func() {
		if r := admin.post("/console/reviews", form(key, "Q1 north")); r.Status != http.StatusSeeOther {
			t.Errorf("racing send: %d %s, want 303", r.Status, r.Body)
		}
	})
	if n := campaigns(); n != 2 {
		t.Errorf("%d campaigns after the race, want 2", n)
	}

	if r := admin.post("/console/reviews", form(key, "Q2 north")); r.Status != http.StatusConflict || !strings.Contains(r.Body, "other values") {
		t.Errorf("the key with another name: %d %.300s, want 409 saying it was sent with other values", r.Status, r.Body)
	}
	if r := admin.post("/console/reviews", url.Values{"name": {"no key"}, "due": {due}}); r.Status != http.StatusSeeOther {
		t.Errorf("a form without a key: %d %.300s, want 303", r.Status, r.Body)
	}
	if n := campaigns(); n != 3 {
		t.Errorf("%d campaigns, want 3", n)
	}
}
