package cli

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// shown is a stored name as the text tables print it (device list, site
// list, review list and show, token list's makers): as it is when it is
// plain text, and quoted with Go escapes otherwise. Names stored before
// the names people give were checked (store.Hidden) may hold anything,
// and a tab, a line break, a right-to-left override or an escape sequence
// printed raw would shift the columns, make a row read as another, or
// make the terminal rewrite or hide rows of the list.
func shown(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, store.Hidden) {
		return strconv.Quote(s)
	}
	return s
}
