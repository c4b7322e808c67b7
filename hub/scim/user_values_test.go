package scim_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// emailList returns n email values as a JSON array, and
// certificationList n certifications.
func emailList(n int) string {
	var els []string
	for i := range n {
		els = append(els, fmt.Sprintf(`{"value":"e%d@x.com","type":"work"}`, i))
	}
	return "[" + strings.Join(els, ",") + "]"
}

func certificationList(n int) string {
	var els []string
	for i := range n {
		els = append(els, fmt.Sprintf(`{"name":"cert%d"}`, i))
	}
	return "[" + strings.Join(els, ",") + "]"
}

// wantInvalidValue checks for a 400 invalidValue without quoting the
// answer, which may be long.
func wantInvalidValue(t *testing.T, what string, r hubtest.Response) {
	t.Helper()
	if m := r.JSON(); r.Status != 400 || m["scimType"] != "invalidValue" {
		t.Errorf("%s: status %d, scimType %v; want 400 invalidValue", what, r.Status, m["scimType"])
	}
}

// The strings kiosks and the console show of a user (displayName,
// nickName, title, name.*) had no limit: a 300 KB displayName was taken
// and shown on kiosks, and one with a right-to-left override or a
// zero-width space read there as another worker's. A new or changed one
// longer than 256 characters or with a hidden character is 400
// invalidValue on POST, PUT and PATCH, as is a new site with a hidden
// character; a user stored with one before keeps it, and can still be
// changed otherwise and deactivated.
func TestUserShownText(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	user := func(name, attrs string) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `"` + attrs + `}`
	}
	long := strings.Repeat("é", 257)
	for i, tc := range []struct{ name, attrs string }{
		{"300 KB displayName", `,"displayName":"` + strings.Repeat("d", 300_000) + `"`},
		{"257-character displayName", `,"displayName":"` + long + `"`},
		{"displayName with a zero-width space", `,"displayName":"Ann\u200bRuiz"`},
		{"displayName with a right-to-left override", `,"displayName":"\u202eziuR nnA"`},
		{"title with a control character", `,"title":"Lead\u0007"`},
		{"long nickName", `,"nickName":"` + long + `"`},
		{"name.givenName with a hidden character", `,"name":{"givenName":"A\u2066nn","familyName":"Ruiz"}`},
		{"long name.formatted", `,"name":{"formatted":"` + long + `"}`},
		{"site with a zero-width space", `,"` + shiftgateUser + `":{"sites":["north\u200b"]}`},
	} {
		// Each under a name of its own, so that one taken is not hidden
		// behind the uniqueness of the next.
		wantInvalidValue(t, "POST with a "+tc.name, h.Do(t, "POST", "/scim/v2/Users", user(fmt.Sprintf("refused%d", i), tc.attrs)))
	}
	// 256 characters of two bytes each are not too long.
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("shown", `,"displayName":"`+strings.Repeat("é", 256)+`","title":"Lead"`)), 201)["id"].(string)

	wantInvalidValue(t, "PATCH of a long displayName", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"replace","path":"displayName","value":"`+long+`"}`)))
	wantInvalidValue(t, "PATCH of a hidden character in name.familyName", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"replace","value":{"name.familyName":"Ru\u200diz"}}`)))
	wantInvalidValue(t, "PATCH adding a site with a hidden character", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"`+shiftgateUser+`:sites","value":["south\u00ad"]}`)))
	wantInvalidValue(t, "PUT of a title with a hidden character", h.Do(t, "PUT", "/scim/v2/Users/"+id, user("shown", `,"title":"\u200bLead"`)))
	if u := getUser(t, h, id); u.DisplayName != strings.Repeat("é", 256) || len(u.Sites) != 0 {
		t.Errorf("after the refused changes: displayName of %d bytes, sites %q", len(u.DisplayName), u.Sites)
	}

	// A user stored with such values before the rule.
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		var doc map[string]any
		if err := json.Unmarshal(u.Document, &doc); err != nil {
			return u, err
		}
		doc["displayName"], doc["title"] = "Ann\u200bRuiz", strings.Repeat("t", 300)
		doc[shiftgateUser] = map[string]any{"sites": []any{"north\u200b"}}
		b, err := json.Marshal(doc)
		u.Document, u.DisplayName, u.Sites = b, "Ann\u200bRuiz", []string{"north\u200b"}
		return u, err
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"Annie"}`)), 200)
	wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user("shown", `,"displayName":"Ann\u200bRuiz","title":"`+strings.Repeat("t", 300)+
		`","nickName":"Annie","`+shiftgateUser+`":{"sites":["north\u200b","south"]}`)), 200)
	wantInvalidValue(t, "PATCH changing the long title to another", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"replace","path":"title","value":"`+strings.Repeat("u", 300)+`"}`)))
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	u := getUser(t, h, id)
	if u.Active || u.DisplayName != "Ann\u200bRuiz" || len(u.Sites) != 2 {
		t.Errorf("user stored with hidden characters: active %v, displayName %q, sites %q; want inactive, kept, two sites", u.Active, u.DisplayName, u.Sites)
	}
}

// A user's emails and certifications had no limit: a 1 MiB body holds
// 20,000 of either, kept in the document and compared by each PATCH that
// adds or removes one. More than 100 is 400 invalidValue on POST, PUT and
// PATCH; a user stored with more before keeps them, can lose some, and can
// still be deactivated.
func TestUserEmailAndCertificationLimits(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	user := func(name, emails, certs string) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `","emails":` + emails +
			`,"` + shiftgateUser + `":{"certifications":` + certs + `}}`
	}
	wantInvalidValue(t, "POST with 101 emails", h.Do(t, "POST", "/scim/v2/Users", user("many", emailList(101), "[]")))
	wantInvalidValue(t, "POST with 101 certifications", h.Do(t, "POST", "/scim/v2/Users", user("many.certs", "[]", certificationList(101))))
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("limit", emailList(100), certificationList(100))), 201)["id"].(string)
	wantInvalidValue(t, "PATCH adding a 101st email", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"emails","value":[{"value":"extra@x.com"}]}`)))
	wantInvalidValue(t, "PATCH adding a 101st certification", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"`+shiftgateUser+`:certifications","value":[{"name":"extra"}]}`)))
	wantInvalidValue(t, "PUT with 101 emails", h.Do(t, "PUT", "/scim/v2/Users/"+id, user("limit", emailList(101), certificationList(100))))
	if u := getUser(t, h, id); len(u.Certifications) != 100 {
		t.Errorf("after the refused changes: %d certifications, want 100", len(u.Certifications))
	}

	// A user given 150 of each before the limit.
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		var doc map[string]any
		if err := json.Unmarshal(u.Document, &doc); err != nil {
			return u, err
		}
		var emails, certs []any
		if err := json.Unmarshal([]byte(emailList(150)), &emails); err != nil {
			return u, err
		}
		if err := json.Unmarshal([]byte(certificationList(150)), &certs); err != nil {
			return u, err
		}
		doc["emails"], doc[shiftgateUser] = emails, map[string]any{"certifications": certs}
		u.Certifications = nil
		for i := range 150 {
			u.Certifications = append(u.Certifications, store.Certification{Name: fmt.Sprintf("cert%d", i)})
		}
		b, err := json.Marshal(doc)
		u.Document = b
		return u, err
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"Kept"}`)), 200)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"remove","path":"emails[value eq \"e149@x.com\"]"},`+
		`{"op":"remove","path":"`+shiftgateUser+`:certifications[name eq \"cert149\"]"}`)), 200)
	wantInvalidValue(t, "PATCH growing the emails over the limit", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"add","path":"emails","value":[{"value":"x1@x.com"},{"value":"x2@x.com"}]}`)))
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	u := getUser(t, h, id)
	var doc map[string]any
	if err := json.Unmarshal(u.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if emails, _ := doc["emails"].([]any); u.Active || len(emails) != 149 || len(u.Certifications) != 149 || u.DisplayName != "Kept" {
		t.Errorf("user stored with 150 of each: active %v, %d emails, %d certifications, displayName %q; want inactive, 149, 149, Kept",
			u.Active, len(emails), len(u.Certifications), u.DisplayName)
	}
}
