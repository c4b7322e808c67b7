package scim

import (
	"testing"
)

func TestFilterMatch(t *testing.T) {
	user := sampleUser(t)
	tests := []struct {
		filter string
		want   bool
	}{
		// Okta and Entra lookups.
		{`userName eq "barbara.jensen@example.com"`, true}, // caseExact false
		{`userName eq "Barbara.Jensen@example.com"`, true},
		{`externalId eq "E-1001"`, true},
		{`externalId eq "e-1001"`, false}, // caseExact
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`USERNAME EQ "barbara.jensen@example.com"`, true},
		// every operator
		{`displayName ne "Babs Jensen"`, false},
		{`displayName ne "Someone"`, true},
		{`userName co "jensen@"`, true},
		{`userName sw "barbara"`, true},
		{`userName ew "@EXAMPLE.COM"`, true},
		{`userName gt "a"`, true},
		{`userName ge "barbara.jensen@example.com"`, true},
		{`userName lt "barbara"`, false},
		{`userName le "c"`, true},
		{`title pr`, false},
		{`name pr`, true},
		{`emails pr`, true},
		{`userName eq "x" or displayName eq "Babs Jensen"`, true},
		{`userName eq "x" and displayName eq "Babs Jensen"`, false},
		{`not (userName eq "x")`, true},
		{`(userName eq "x" or active eq true) and not (title pr)`, true},
		{`title eq null`, true},
		{`displayName ne null`, true},
		// sub-attributes and multi-valued attributes
		{`name.familyName eq "jensen"`, true},
		{`emails.value eq "BABS@jensen.org"`, true},
		{`emails co "jensen.org"`, true}, // complex without sub-attribute: value
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails[type eq "work" or type eq "other"]`, true},
		{`emails[not (type eq "work")]`, true},
		{`emails[type eq "pager"]`, false},
		{`phoneNumbers[type eq "work"] and emails[primary eq true]`, true},
		// booleans, including Entra's string form
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active ne true`, false},
		// meta and dateTime
		{`meta.created gt "2026-01-01T00:00:00Z"`, true},
		{`meta.created eq "2026-01-02T04:04:05+01:00"`, true},
		{`meta.lastModified lt "2026-01-31T23:59:59Z"`, false},
		{`meta.lastModified ge "2026-02-01T00:00:00Z"`, true},
		{`meta.resourceType eq "User"`, true},
		// URN-qualified paths and extensions
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "Bar"`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites eq "hamburg-02"`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites[value eq "berlin-01"]`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate le "2026-12-31"`, true}, // a bare date covers the whole day
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:endDate lt "2026-12-31T00:00:00Z"`, false},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:startDate ge "2026-01-05"`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:certifications[name eq "forklift" and expires gt "2026-06-01T00:00:00Z"]`, true},
		{`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:employmentType eq "CONTRACTOR"`, true},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, true},
		// unknown attributes are unassigned
		{`favouriteColour eq "blue"`, false},
		{`favouriteColour ne "blue"`, false},
		{`not (favouriteColour eq "blue")`, true},
		{`urn:acme:ext:2.0:User:badge eq "1"`, false},
		{`emails[label eq "x"]`, false},
		{`favouriteColour eq null`, true}, // eq null is not pr: true of an attribute nobody has
		{`favouriteColour ne null`, false},
		{`emails[label eq null]`, true},
		{`urn:acme:ext:2.0:User:badge eq null`, true},
		// escapes in strings
		{`displayName eq "Babs \u004Aensen"`, true},
		{`displayName eq "Babs \u004aensen"`, true}, // JSON's hex digits take either case (upperEscapes)
		{`emails[type eq "wor\u006b"]`, true},
		{`displayName eq "Babs \\u004aensen"`, false}, // an escaped backslash, then text
		{`displayName eq "Babs \"B\" Jensen"`, false},
	}
	users := UserResourceType()
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseFilter(users, tt.filter)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got := f.Match(user); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	users := UserResourceType()
	for _, s := range []string{
		``,
		`userName`,
		`userName eq`,
		`userName eq bjensen`,
		`userName xx "a"`,
		`(userName eq "a"`,
		`active gt true`,
		`active co "t"`,
		`active eq 1`,
		`userName eq 5`,
		`userName eq true`,
		`meta.created gt "yesterday"`,
		`meta.created eq 5`,
		`x509Certificates.value gt "AAAA"`,
		`name eq "x"`,
		`title lt null`,
		`emails[type eq "a" and value eq "b" and primary eq true]`,
		string(make([]byte, maxFilterLen+1)),
	} {
		t.Run(s, func(t *testing.T) {
			f, err := ParseFilter(users, s)
			if got := scimTypeOf(err); got != "invalidFilter" {
				t.Errorf("ParseFilter = %v, %v; want invalidFilter", f, err)
			}
		})
	}
}

func TestFilterEquality(t *testing.T) {
	users := UserResourceType()
	tests := []struct {
		filter    string
		attr, val string
		ok        bool
	}{
		{`userName eq "bjensen"`, "userName", "bjensen", true},
		{`USERNAME eq "bjensen"`, "userName", "bjensen", true},
		{`externalId eq "E-1"`, "externalId", "E-1", true},
		{`id eq "abc"`, "id", "abc", true},
		{`displayName eq "Nurses"`, "displayName", "Nurses", true},
		{`active eq true and userName eq "b"`, "userName", "b", true},
		{`(userName eq "b" and active eq true) and title pr`, "userName", "b", true},
		{`userName eq "b" or userName eq "c"`, "", "", false},
		{`not (userName eq "b")`, "", "", false},
		{`userName ne "b"`, "", "", false},
		{`userName sw "b"`, "", "", false},
		{`title eq "b"`, "", "", false},
		{`emails[value eq "b"]`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseFilter(users, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			attr, val, ok := f.Equality()
			if attr != tt.attr || val != tt.val || ok != tt.ok {
				t.Errorf("Equality = %q, %q, %v; want %q, %q, %v", attr, val, ok, tt.attr, tt.val, tt.ok)
			}
		})
	}
	var nilFilter *Filter
	if !nilFilter.Match(map[string]any{}) {
		t.Error("a nil filter must match everything")
	}
}

// EqualityOn picks the first clause on an indexed attribute, wherever it
// stands among the AND-ed clauses: for users displayName has no index,
// and a userName clause after it was not used.
func TestFilterEqualityOn(t *testing.T) {
	users := UserResourceType()
	indexed := []string{"userName", "externalId", "id"}
	for _, tt := range []struct {
		filter    string
		attr, val string
		ok        bool
	}{
		{`displayName eq "Babs" and userName eq "b"`, "userName", "b", true},
		{`displayName eq "Babs" and (title pr and externalId eq "E-1")`, "externalId", "E-1", true},
		{`displayName eq "Babs" and active eq true and id eq "abc"`, "id", "abc", true},
		{`userName eq "b" and externalId eq "E-1"`, "userName", "b", true},
		{`displayName eq "Babs"`, "", "", false},
		{`displayName eq "Babs" or userName eq "b"`, "", "", false},
		{`displayName eq "Babs" and not (userName eq "b")`, "", "", false},
		{`displayName eq "Babs" and emails[value eq "b"]`, "", "", false},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseFilter(users, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			attr, val, ok := f.EqualityOn(indexed...)
			if attr != tt.attr || val != tt.val || ok != tt.ok {
				t.Errorf("EqualityOn = %q, %q, %v; want %q, %q, %v", attr, val, ok, tt.attr, tt.val, tt.ok)
			}
		})
	}
	var nilFilter *Filter
	if _, _, ok := nilFilter.EqualityOn(indexed...); ok {
		t.Error("a nil filter has no equality")
	}
}

func TestFilterGroupDisplayName(t *testing.T) {
	groups := GroupResourceType()
	g := map[string]any{"schemas": []any{GroupURN}, "id": "g1", "displayName": "Nurses", "members": []any{map[string]any{"value": "u1"}}}
	for filter, want := range map[string]bool{
		`displayName eq "nurses"`:      true,
		`members[value eq "u1"]`:       true,
		`members.value eq "U1"`:        true, // RFC 7643 §8.7.1: caseExact false
		`members eq "u1"`:              true,
		`userName eq "Nurses"`:         false,
		`displayName sw "N" and id pr`: true,
	} {
		f, err := ParseFilter(groups, filter)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if got := f.Match(g); got != want {
			t.Errorf("%s: Match = %v, want %v", filter, got, want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`,
		`emails[type eq "work" and value co "@example.com"] or not (active eq false)`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`,
		`meta.lastModified gt "2011-05-13T04:42:34Z" and name.familyName sw "J"`,
		`urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:shifts[start ge "2026-01-01T00:00:00Z"]`,
		`title pr and userType eq "Employee" and x eq 1.5e3`,
	} {
		f.Add(s)
	}
	users := UserResourceType()
	user := sampleUser(f)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(users, s)
		if err != nil {
			if scimTypeOf(err) != "invalidFilter" {
				t.Fatalf("error is not invalidFilter: %v", err)
			}
			return
		}
		flt.Match(user)
		flt.Match(map[string]any{})
		flt.Equality()
	})
}
