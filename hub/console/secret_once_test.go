package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

var onceField = regexp.MustCompile(`<input type="hidden" name="once" value="([^"]+)"`)

// tokenCount is how many tokens the hub has, revoked or not.
func tokenCount(t *testing.T, h *hubtest.Hub) int {
	t.Helper()
	ts, err := h.Store().ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(ts)
}

// TestTokenFormSentTwice: the create form of the Tokens page sent twice
// (a double click, the form sent again when its answer did not arrive,
// two requests racing) makes one token, not two: the browser shows the
// last answer, and a second token would be a working secret nobody saw.
// The second answer shows no secret; it names the token made, says its
// secret was shown once, and to revoke it and create another if nobody
// copied it. Each load of the page gives the form a key of its own; the
// key sent again with other values is a 409 and makes nothing.
func TestTokenFormSentTwice(t *testing.T) {
	h, _, admin := adminWorld(t)
	formKey := func() string { t.Helper(); return admin.formKey("/console/tokens", onceField) }
	form := func(key, name string) url.Values {
		return url.Values{"name": {name}, "scope": {"scim"}, "expires": {"90d"}, "once": {key}}
	}
	before, audits := tokenCount(t, h), actionCount(t, h, "token.create")

	key := formKey()
	if key2 := formKey(); key2 == key {
		t.Fatalf("two loads of the page gave the create form the same key %q", key)
	}
	first := admin.post("/console/tokens", form(key, "okta"))
	if first.Status != http.StatusCreated || !strings.Contains(first.Body, `id="new-token"`) {
		t.Fatalf("first send: %d %s, want 201 with the new token", first.Status, first.Body)
	}
	again := admin.post("/console/tokens", form(key, "okta"))
	if again.Status != http.StatusOK || strings.Contains(again.Body, "sgt_") || strings.Contains(again.Body, `id="new-token"`) {
		t.Errorf("second send: %d, want 200 without a secret:\n%s", again.Status, again.Body)
	}
	ts, err := h.Store().ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ts) - before; n != 1 {
		t.Fatalf("the form sent twice made %d tokens, want 1", n)
	}
	made := ts[len(ts)-1]
	for _, want := range []string{`id="token-repeated"`, "created already", "okta", made.ID, "shown once", "revoke token <code>" + made.ID + "</code>", "create another"} {
		if !strings.Contains(again.Body, want) {
			t.Errorf("the second answer does not say %q:\n%s", want, again.Body)
		}
	}

	// Two requests racing: one token.
	key = formKey()
	atOnce(func() {
		if r := admin.post("/console/tokens", form(key, "metrics")); r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Errorf("racing send: %d %s, want 201 or 200", r.Status, r.Body)
		}
	})
	if n := tokenCount(t, h) - before; n != 2 {
		t.Errorf("after a second form sent twice at once: %d tokens, want 2", n)
	}

	// The key with other values: 409, nothing made.
	if r := admin.post("/console/tokens", form(key, "other")); r.Status != http.StatusConflict || !strings.Contains(r.Body, "reload") {
		t.Errorf("key sent again with another name: %d %s, want 409 asking for a reload", r.Status, r.Body)
	}
	if n := tokenCount(t, h) - before; n != 2 {
		t.Errorf("after the key sent with other values: %d tokens, want 2", n)
	}
	if n := actionCount(t, h, "token.create") - audits; n != 2 {
		t.Errorf("%d token.create records, want 2", n)
	}

	// Without a key (a script, an older page) each send is a token; a
	// key that is no key is a 400.
	admin.post("/console/tokens", url.Values{"name": {"cli"}, "scope": {"admin"}})
	admin.post("/console/tokens", url.Values{"name": {"cli"}, "scope": {"admin"}})
	if n := tokenCount(t, h) - before; n != 4 {
		t.Errorf("two sends without a key: %d tokens in all, want 4", n)
	}
	if r := admin.post("/console/tokens", form(strings.Repeat("k", 300), "long")); r.Status != http.StatusBadRequest {
		t.Errorf("a 300-byte key: %d, want 400", r.Status)
	}
}

// TestCodeFormSentTwice: the enrollment code form of the Kiosks page
// sent twice makes one code, not two (one device.code record, in the
// transaction that stores each code): the second answer shows no code,
// says which kiosk the code made is for, until when it works, that it
// was shown once, and to make another. The key with other values is a
// 409 and makes nothing; one load's key is not another's.
func TestCodeFormSentTwice(t *testing.T) {
	h, _, admin := adminWorld(t)
	formKey := func() string { t.Helper(); return admin.formKey("/console/devices", onceField) }
	form := func(key, name string) url.Values {
		return url.Values{"name": {name}, "site": {"north"}, "once": {key}}
	}
	codes := func() int { t.Helper(); return actionCount(t, h, "device.code") }
	before := codes()

	key := formKey()
	if key2 := formKey(); key2 == key {
		t.Fatalf("two loads of the page gave the code form the same key %q", key)
	}
	first := admin.post("/console/devices/codes", form(key, "till-7"))
	if first.Status != http.StatusCreated || enrollmentCode.FindStringSubmatch(first.Body) == nil {
		t.Fatalf("first send: %d %s, want 201 with the code", first.Status, first.Body)
	}
	again := admin.post("/console/devices/codes", form(key, "till-7"))
	if again.Status != http.StatusOK || enrollmentCode.FindStringSubmatch(again.Body) != nil {
		t.Errorf("second send: %d, want 200 without a code:\n%s", again.Status, again.Body)
	}
	for _, want := range []string{`id="code-repeated"`, "made already", "till-7", "north", "shown once", "make another code"} {
		if !strings.Contains(again.Body, want) {
			t.Errorf("the second answer does not say %q:\n%s", want, again.Body)
		}
	}
	if n := codes() - before; n != 1 {
		t.Errorf("the form sent twice made %d codes, want 1", n)
	}

	// Two requests racing: one code.
	key = formKey()
	atOnce(func() {
		if r := admin.post("/console/devices/codes", form(key, "till-8")); r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Errorf("racing send: %d %s, want 201 or 200", r.Status, r.Body)
		}
	})
	if n := codes() - before; n != 2 {
		t.Errorf("after a second form sent twice at once: %d codes, want 2", n)
	}
	if r := admin.post("/console/devices/codes", form(key, "till-9")); r.Status != http.StatusConflict || !strings.Contains(r.Body, "reload") {
		t.Errorf("key sent again with another name: %d %s, want 409 asking for a reload", r.Status, r.Body)
	}
	if n := codes() - before; n != 2 {
		t.Errorf("after the key sent with other values: %d codes, want 2", n)
	}
}
