package scim_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// valueList returns n values of a multi-valued User attribute as a JSON
// array, each made by one(i).
func valueList(n int, one func(i int) string) string {
	els := make([]string, n)
	for i := range els {
		els[i] = one(i)
	}
	return "[" + strings.Join(els, ",") + "]"
}

// The User's lists other than sites, emails and certifications had no
// limit: a 1 MiB body held tens of thousands of phoneNumbers or roles,
// kept in the user's document and read and written again whole by every
// GET, PATCH and list. Every one of them is now bounded as emails are:
// more than 100 is 400 invalidValue on POST, PUT and PATCH; a user stored
// with more before keeps them, can lose some, and can still be
// deactivated.
func TestUserListLimits(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, tc := range []struct {
		attr string
		one  func(i int) string
	}{
		{"phoneNumbers", func(i int) string { return fmt.Sprintf(`{"value":"+1 555 %04d","type":"work"}`, i) }},
		{"addresses", func(i int) string { return fmt.Sprintf(`{"streetAddress":"%d Main St","type":"work"}`, i) }},
		{"ims", func(i int) string { return fmt.Sprintf(`{"value":"im%d","type":"xmpp"}`, i) }},
		{"photos", func(i int) string { return fmt.Sprintf(`{"value":"https://photos.example/%d.png"}`, i) }},
		{"entitlements", func(i int) string { return fmt.Sprintf(`{"value":"ent%d"}`, i) }},
		{"roles", func(i int) string { return fmt.Sprintf(`{"value":"role%d"}`, i) }},
		{"x509Certificates", func(i int) string {
			return `{"value":"` + base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "cert%d", i)) + `"}`
		}},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			user := func(name string, n int) string {
				return `{"schemas":["` + coreUser + `"],"userName":"` + name + `","` + tc.attr + `":` + valueList(n, tc.one) + `}`
			}
			wantInvalidValue(t, "POST with 101", h.Do(t, "POST", "/scim/v2/Users", user(tc.attr+".many", 101)))
			// Tens of thousands were taken.
			wantInvalidValue(t, "POST with 20,000", h.Do(t, "POST", "/scim/v2/Users", user(tc.attr+".huge", 20_000)))
			name := tc.attr + ".limit"
			id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user(name, 100)), 201)["id"].(string)
			wantInvalidValue(t, "PATCH adding a 101st", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
				patchBody(`{"op":"add","path":"`+tc.attr+`","value":[`+tc.one(100)+`]}`)))
			wantInvalidValue(t, "PUT with 101", h.Do(t, "PUT", "/scim/v2/Users/"+id, user(name, 101)))
			if n := len(storedList(t, h, id, tc.attr)); n != 100 {
				t.Errorf("after the refused changes: %d values, want 100", n)
			}

			// A user given 150 before the limit.
			if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
				var doc map[string]any
				if err := json.Unmarshal(u.Document, &doc); err != nil {
					return u, err
				}
				var vals []any
				if err := json.Unmarshal([]byte(valueList(150, tc.one)), &vals); err != nil {
					return u, err
				}
				doc[tc.attr] = vals
				b, err := json.Marshal(doc)
				u.Document = b
				return u, err
			}); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"displayName","value":"Kept"}`)), 200)
			wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, user(name, 149)), 200)
			wantInvalidValue(t, "PATCH growing the list over the limit", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
				patchBody(`{"op":"add","path":"`+tc.attr+`","value":[`+tc.one(200)+`,`+tc.one(201)+`]}`)))
			wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
			if u, n := getUser(t, h, id), len(storedList(t, h, id, tc.attr)); u.Active || n != 149 {
				t.Errorf("user stored with 150: active %v, %d values; want inactive, 149", u.Active, n)
			}
		})
	}
}

// storedList returns the values of attr in the user's stored document.
func storedList(t *testing.T, h *hubtest.Hub, id, attr string) []any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(getUser(t, h, id).Document, &doc); err != nil {
		t.Fatal(err)
	}
	l, _ := doc[attr].([]any)
	return l
}

// The frontline extension's shifts are bounded by the limit of every way
// shifts arrive (500, hub/shift), not by the 100 of other lists: a
// schedule published months ahead holds more than 100.
func TestUserShiftsLimit(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	day := time.Date(2030, 1, 1, 6, 0, 0, 0, time.UTC)
	shifts := func(n int) string {
		return valueList(n, func(i int) string {
			s := day.AddDate(0, 0, i)
			return `{"start":"` + s.Format(time.RFC3339) + `","end":"` + s.Add(8*time.Hour).Format(time.RFC3339) + `"}`
		})
	}
	user := func(name string, n int) string {
		return `{"schemas":["` + coreUser + `","` + shiftgateUser + `"],"userName":"` + name + `","` + shiftgateUser + `":{"shifts":` + shifts(n) + `}}`
	}
	wantInvalidValue(t, "POST with 501 shifts", h.Do(t, "POST", "/scim/v2/Users", user("many", 501)))
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("limit", 500)), 201)["id"].(string)
	if u := getUser(t, h, id); len(u.Shifts) != 500 {
		t.Errorf("after POST: %d shifts, want 500", len(u.Shifts))
	}
}

// The document kept the sites list as sent, though the hub holds (and
// checkSites bounds) one site for the spellings that differ only in case
// or spaces: 5,000 spellings of one site were all kept in the document
// and read by every GET. It keeps the sites as the hub holds them.
func TestUserSitesDocumentAsHeld(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sites := []string{`"north"`}
	for i := 1; i < 5_000; i++ {
		sites = append(sites, `"`+strings.Repeat(" ", i%50)+"north"+strings.Repeat(" ", i/50)+`"`)
	}
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`","`+shiftgateUser+`"],"userName":"spellings","`+
		shiftgateUser+`":{"sites":[`+strings.Join(sites, ",")+`]}}`), 201)["id"].(string)
	u := getUser(t, h, id)
	var doc map[string]any
	if err := json.Unmarshal(u.Document, &doc); err != nil {
		t.Fatal(err)
	}
	ext, _ := doc[shiftgateUser].(map[string]any)
	if got, _ := ext["sites"].([]any); len(u.Sites) != 1 || len(got) != 1 || got[0] != "north" {
		t.Errorf("sites held %q; the document lists %d, want the one held", u.Sites, len(got))
	}
	// Another change keeps them so, and GET shows them.
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"add","path":"`+shiftgateUser+`:sites","value":["South"," south "]}`)), 200)
	m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users/"+id, nil), 200)
	if ext, _ := m[shiftgateUser].(map[string]any); fmt.Sprint(ext["sites"]) != "[north South]" {
		t.Errorf("GET shows sites %v, want [north South]", ext["sites"])
	}
}

// With no displayName the hub makes one of name.givenName and
// name.familyName, which may each have 256 characters: it made 513, shown
// on kiosks, where a displayName sent that long is refused. A new or
// changed one that long is refused too, saying to send a displayName; a
// user stored with one before can still be changed otherwise and
// deactivated.
func TestUserBuiltDisplayName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	user := func(name, given, family string) string {
		return `{"schemas":["` + coreUser + `"],"userName":"` + name + `","name":{"givenName":"` + given + `","familyName":"` + family + `"}}`
	}
	r := h.Do(t, "POST", "/scim/v2/Users", user("long", strings.Repeat("g", 256), strings.Repeat("f", 256)))
	wantInvalidValue(t, "POST of a made displayName of 513 characters", r)
	if d, _ := r.JSON()["detail"].(string); !strings.Contains(d, "send a displayName") {
		t.Errorf("detail %q does not say to send a displayName", d)
	}
	// 128 + 1 + 127 characters, of two bytes each, fit.
	fits := strings.Repeat("é", 128) + " " + strings.Repeat("é", 127)
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", user("fits", strings.Repeat("é", 128), strings.Repeat("é", 127))), 201)["id"].(string)
	if u := getUser(t, h, id); u.DisplayName != fits {
		t.Fatalf("displayName made of %d bytes, want the 256 characters of the two names", len(u.DisplayName))
	}
	wantInvalidValue(t, "PATCH of a familyName that makes it 257 characters", h.Do(t, "PATCH", "/scim/v2/Users/"+id,
		patchBody(`{"op":"replace","path":"name.familyName","value":"`+strings.Repeat("é", 128)+`"}`)))
	wantInvalidValue(t, "PUT of names that make it 300 characters", h.Do(t, "PUT", "/scim/v2/Users/"+id,
		user("fits", strings.Repeat("g", 150), strings.Repeat("f", 149))))
	// A displayName sent makes the names' length not matter.
	wantStatus(t, h.Do(t, "PUT", "/scim/v2/Users/"+id, `{"schemas":["`+coreUser+`"],"userName":"fits","displayName":"Gee",`+
		`"name":{"givenName":"`+strings.Repeat("g", 256)+`","familyName":"`+strings.Repeat("f", 256)+`"}}`), 200)

	// A user stored with a long made displayName before the rule.
	if _, err := h.Store().UpdateUser(t.Context(), id, func(u store.User) (store.User, error) {
		var doc map[string]any
		if err := json.Unmarshal(u.Document, &doc); err != nil {
			return u, err
		}
		delete(doc, "displayName")
		b, err := json.Marshal(doc)
		u.Document, u.DisplayName = b, strings.Repeat("g", 256)+" "+strings.Repeat("f", 256)
		return u, err
	}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"title","value":"Lead"}`)), 200)
	wantStatus(t, h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"replace","path":"active","value":false}`)), 200)
	if u := getUser(t, h, id); u.Active || len(u.DisplayName) != 513 {
		t.Errorf("user stored with a long made displayName: active %v, displayName of %d bytes; want inactive, kept", u.Active, len(u.DisplayName))
	}
}

// x509Certificates.value is binary, which RFC 7643 §2.3.6 and §8.7.1
// compare exactly: the hub served caseExact false for it and compared it
// without case, so a filter for one certificate found a user with
// another ("QUJD" and "qujd" are different bytes in base64), and a PATCH
// removing one removed the other.
func TestX509CertificateValueCaseExact(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	id := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"certs",`+
		`"x509Certificates":[{"value":"QUJD"}]}`), 201)["id"].(string)
	for _, tc := range []struct {
		value string
		want  float64
	}{{"QUJD", 1}, {"qujd", 0}} {
		m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(`x509Certificates.value eq "`+tc.value+`"`), nil), 200)
		if m["totalResults"] != tc.want {
			t.Errorf("filter x509Certificates.value eq %q: totalResults %v, want %v", tc.value, m["totalResults"], tc.want)
		}
	}
	h.Do(t, "PATCH", "/scim/v2/Users/"+id, patchBody(`{"op":"remove","path":"x509Certificates[value eq \"qujd\"]"}`))
	if l := storedList(t, h, id, "x509Certificates"); len(l) != 1 {
		t.Errorf("after a PATCH removing the value qujd: %v; want QUJD kept", l)
	}

	m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Schemas/"+coreUser, nil), 200)
	for _, a := range m["attributes"].([]any) {
		if a := a.(map[string]any); a["name"] == "x509Certificates" {
			for _, s := range a["subAttributes"].([]any) {
				if s := s.(map[string]any); s["name"] == "value" && s["caseExact"] != true {
					t.Errorf("/Schemas: x509Certificates.value caseExact %v, want true", s["caseExact"])
				}
			}
		}
	}
}
