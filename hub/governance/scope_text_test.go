package governance_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// splitNames reads back a list JoinNames wrote: names separated by ", ",
// each either plain (no ',', ';' or '"') or quoted. ok is false when the
// text is not such a list.
func splitNames(s string) (names []string, ok bool) {
	for s != "" {
		var name string
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, false
			}
			if name, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			s = s[len(q):]
		} else {
			i := strings.IndexAny(s, `,;"`)
			if i < 0 {
				i = len(s)
			}
			name, s = s[:i], s[i:]
		}
		names = append(names, name)
		if s == "" {
			break
		}
		if !strings.HasPrefix(s, ", ") || len(s) == 2 {
			return nil, false
		}
		s = s[2:]
	}
	return names, true
}

// TestScopeTextNamesWithSeparators: SCIM allows any text in a site's or a
// group's name, so "north, south" is one site and "Nurse; ICU" one role.
// The scope text (the Reviews pages, the evidence export) reads as one
// name each: such a name is quoted, while a plain one reads as before.
func TestScopeTextNamesWithSeparators(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scope store.ReviewScope
		want  string
	}{
		{"everything", store.ReviewScope{}, "everything"},
		{"plain names as before", store.ReviewScope{Sites: []string{"north", "south wing"}, Roles: []string{"Nurse"}, Privileged: true, External: true},
			"sites north, south wing; roles Nurse; privileged roles; external identities"},
		{"a comma", store.ReviewScope{Sites: []string{"north, south", "east"}}, `sites "north, south", east`},
		{"a semicolon", store.ReviewScope{Sites: []string{"north"}, Roles: []string{"Nurse; roles Porter"}}, `sites north; roles "Nurse; roles Porter"`},
		{"a quote", store.ReviewScope{Roles: []string{`"Lead" nurse`, `Café`}}, `roles "\"Lead\" nurse", Café`},
		{"a hidden character", store.ReviewScope{Sites: []string{"north\u200b"}}, `sites "north\u200b"`},
		{"spaces at an end", store.ReviewScope{Sites: []string{" north"}}, `sites " north"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := governance.ScopeText(tc.scope); got != tc.want {
				t.Errorf("ScopeText(%+v) = %s, want %s", tc.scope, got, tc.want)
			}
		})
	}
}

// TestJoinNamesReadsBack: whatever the names, the joined text reads back
// as exactly those names.
func TestJoinNamesReadsBack(t *testing.T) {
	for _, names := range [][]string{
		{"north, south", "east"},
		{"north", "south"},
		{`a\b`, `"`, `\"`, ", ", ";", ""},
		{"line\nbreak", "tab\there", "zero\u200bwidth", "Nurse, ICU; Picker"},
	} {
		text := governance.JoinNames(names)
		if got, ok := splitNames(text); !ok || !slices.Equal(got, names) {
			t.Errorf("JoinNames(%q) = %s, which reads as %q (ok %v)", names, text, got, ok)
		}
	}
}
