package scim

import "testing"

// Spaces, tabs and line ends around a whole filter are dropped, as Ping
// Identity's SCIM 2 SDK drops them: `filter= userName eq "x" ` (a "+" left
// at either end of the query parameter) was 400 invalidFilter, which
// stopped the client's matching of the user. What is inside the filter,
// quoted strings included, is left as it is.
func TestFilterOuterWhitespace(t *testing.T) {
	user := sampleUser(t)
	users := UserResourceType()
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{` userName eq "barbara.jensen@example.com" `, true},
		{"\tuserName eq \"barbara.jensen@example.com\"\r\n", true},
		{`  userName eq "barbara.jensen@example.com" and active eq true  `, true},
		{` emails[type eq "work"].value eq "bjensen@example.com" `, true},
		{` (userName eq "someone") `, false},
		// The space inside the quotes is part of the value.
		{` userName eq "barbara.jensen@example.com " `, false},
	} {
		f, err := ParseFilter(users, tc.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.filter, err)
			continue
		}
		if got := f.Match(user); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.filter, got, tc.want)
		}
	}
	// Blank is still empty, and a space inside still counts.
	for _, s := range []string{" \t\r\n ", ` userName eq`, `userName  eq "a" x`} {
		if _, err := ParseFilter(users, s); err == nil {
			t.Errorf("ParseFilter(%q) accepted, want invalidFilter", s)
		}
	}
}
