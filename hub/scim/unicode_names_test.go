package scim_test

import (
	"net/url"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
)

const (
	coreUser  = "urn:ietf:params:scim:schemas:core:2.0:User"
	coreGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

func wantStatus(t *testing.T, r hubtest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r.JSON()
}

func wantUniqueness(t *testing.T, what string, r hubtest.Response) {
	t.Helper()
	if r.Status != 409 {
		t.Errorf("%s: status %d, want 409 uniqueness; body %s", what, r.Status, r.Body)
		return
	}
	if m := r.JSON(); m["scimType"] != "uniqueness" {
		t.Errorf("%s: scimType %v, want uniqueness", what, m["scimType"])
	}
}

func filterQuery(f string) string { return "filter=" + url.QueryEscape(f) }

// userName is caseExact false (RFC 7643 §4.1.1): a variant in case,
// non-ASCII letters included, is the same userName for lookups and for
// uniqueness.
func TestUnicodeUserNameCaseVariant(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"élodie.durand@example.com"}`), 201)
	id := m["id"]
	for _, f := range []string{
		`userName eq "Élodie.Durand@example.com"`,
		`userName eq "ÉLODIE.DURAND@EXAMPLE.COM" and active eq true`, // not the fast path
		`userName sw "ÉLODIE"`,                                       // no index: the filter alone
	} {
		m = wantStatus(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(f), nil), 200)
		res, _ := m["Resources"].([]any)
		if m["totalResults"] != 1.0 || len(res) != 1 || res[0].(map[string]any)["id"] != id {
			t.Errorf("%s: totalResults %v, Resources %v; want the user", f, m["totalResults"], res)
		}
	}
	wantUniqueness(t, "POST of a case variant", h.Do(t, "POST", "/scim/v2/Users",
		`{"schemas":["`+coreUser+`"],"userName":"Élodie.Durand@example.com"}`))

	other := wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"zoë@example.com"}`), 201)["id"].(string)
	wantUniqueness(t, "PUT onto a case variant", h.Do(t, "PUT", "/scim/v2/Users/"+other,
		`{"schemas":["`+coreUser+`"],"userName":"ÉLODIE.durand@example.com"}`))

	// Deleted, the name is free again, in any case.
	wantStatus(t, h.Do(t, "DELETE", "/scim/v2/Users/"+id.(string), nil), 204)
	wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"Élodie.Durand@example.com"}`), 201)
}

// Group displayNames name roles and are unique case-insensitively.
func TestUnicodeGroupNameCaseVariant(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	m := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Ärztin","members":[]}`), 201)
	wantUniqueness(t, "POST of a case variant", h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"ärztin"}`))
	m = wantStatus(t, h.Do(t, "GET", "/scim/v2/Groups?"+filterQuery(`displayName eq "ÄRZTIN"`), nil), 200)
	if m["totalResults"] != 1.0 {
		t.Errorf("lookup of a case variant: totalResults %v, want 1", m["totalResults"])
	}
	other := wantStatus(t, h.Do(t, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Pfleger"}`), 201)["id"].(string)
	wantUniqueness(t, "PUT onto a case variant", h.Do(t, "PUT", "/scim/v2/Groups/"+other, `{"schemas":["`+coreGroup+`"],"displayName":"ÄRZTIN"}`))
}

// A filter on a caseExact-false attribute folds case as the store's lookup
// does (store.FoldName, strings.EqualFold), or the lookup's candidates and
// the filter's matches would disagree.
func TestFilterUnicodeCase(t *testing.T) {
	tests := []struct {
		userName, filter string
		want             bool
	}{
		{"élodie.durand@example.com", `userName eq "Élodie.Durand@example.com"`, true},
		{"élodie.durand@example.com", `userName sw "ÉLODIE"`, true},
		{"élodie.durand@example.com", `userName ne "ÉLODIE.DURAND@EXAMPLE.COM"`, false},
		{"Σίσυφος", `userName eq "σίσυφος"`, true},  // final sigma
		{"\u212Aim", `userName eq "kim"`, true},     // KELVIN SIGN
		{"\u0130nci", `userName eq "inci"`, false},  // U+0130 folds with nothing
		{"straße", `userName eq "STRASSE"`, false},  // simple folding only
		{"Ärztin", `externalId eq "ärztin"`, false}, // caseExact: unchanged
		{"a", `externalId eq "Ärztin"`, false},      // caseExact: unchanged
	}
	users := scim.UserResourceType()
	for _, tt := range tests {
		f, err := scim.ParseFilter(users, tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		res := map[string]any{"userName": tt.userName, "externalId": tt.userName}
		if got := f.Match(res); got != tt.want {
			t.Errorf("%q on userName %q: Match = %v, want %v", tt.filter, tt.userName, got, tt.want)
		}
	}
}
