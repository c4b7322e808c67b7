package scim_test

import (
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// GET /Users answers Entra's emails[type eq "work"].value eq "x" joined
// with other clauses; it was 400 invalidFilter unless it was the whole
// filter.
func TestEntraCompoundFilterList(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, u := range []string{
		`{"schemas":["` + coreUser + `"],"userName":"ann","emails":[{"type":"work","value":"ann@example.com"}]}`,
		`{"schemas":["` + coreUser + `"],"userName":"bob","emails":[{"type":"home","value":"ann@example.com"}]}`,
	} {
		wantStatus(t, h.Do(t, "POST", "/scim/v2/Users", u), 201)
	}
	tests := []struct {
		filter string
		want   float64
	}{
		{`userName eq "ann" and emails[type eq "work"].value eq "ann@example.com"`, 1},
		{`userName eq "bob" and emails[type eq "work"].value eq "ann@example.com"`, 0},
		{`emails[type eq "work"].value eq "ann@example.com" or userName eq "bob"`, 2},
		{`emails[type eq "home"].value eq "nobody@example.com" or userName eq "ann"`, 1},
	}
	for _, tt := range tests {
		m := wantStatus(t, h.Do(t, "GET", "/scim/v2/Users?"+filterQuery(tt.filter), nil), 200)
		if m["totalResults"] != tt.want {
			t.Errorf("GET /Users?filter=%s: totalResults %v, want %v", tt.filter, m["totalResults"], tt.want)
		}
	}
}
