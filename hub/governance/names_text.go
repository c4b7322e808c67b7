package governance

import (
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// JoinNames joins names (sites, roles) with ", " for text a person reads
// (a campaign's scope, a message), each as NameText writes it. SCIM allows
// any text in a site's or a group's name, so "north, south" is one site:
// joined bare with "east" it would read as three, so a name that could be
// read as more than one, or as part of the text around it, is quoted.
func JoinNames(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = NameText(n)
	}
	return strings.Join(out, ", ")
}

// NameText is name as a list of names shows it: as it is when it is plain
// text, else in double quotes, with '"' and '\' escaped by a backslash and
// a character that does not show as itself written as its escape
// (quoteHidden), as Go's %q would. A name is quoted when it holds a
// separator of such lists (',' between names, ';' between the parts of a
// campaign's scope), a quote (which would read as the start of a quoted
// name), a character that does not show as itself (store.Hidden), or
// white space at either end (which the list would hide), or when it is
// empty. So a plain name reads as before, and every other one reads as
// exactly one name.
func NameText(name string) string {
	plain := name != "" && name == strings.TrimSpace(name) && !strings.ContainsFunc(name, func(r rune) bool {
		return r == ',' || r == ';' || r == '"' || store.Hidden(r)
	})
	if plain {
		return name
	}
	return quoteHidden(name)
}
