package scim

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// maxShownText is the longest value, in characters, of a user's attribute
// that kiosks and the console show (shownUserAttrs): Entra's limit for a
// displayName, and the hub's for a group's (maxGroupName). A 300 KB
// displayName was taken and sent to every kiosk the user signed in at.
const maxShownText = 256

// shownUserAttrs are the string attributes of a User that the hub shows
// people, as paths in the resource: the displayName a kiosk greets the
// worker with (or the name it is made of when there is none), and what the
// console lists beside it.
var shownUserAttrs = [][]string{
	{"displayName"}, {"nickName"}, {"title"},
	{"name", "formatted"}, {"name", "familyName"}, {"name", "givenName"}, {"name", "middleName"},
	{"name", "honorificPrefix"}, {"name", "honorificSuffix"},
}

// maxEmails and maxCertifications are the most emails and certifications a
// new or changed user may list. A worker has a few of each; each is kept
// in the user's document, compared by every PATCH that adds or removes one
// inside the write transaction, and a certification is read by every
// login's policy check. A 1 MiB body holds 20,000 of either.
const (
	maxEmails         = 100
	maxCertifications = 100
)

// shownText returns the values of res's shownUserAttrs, by path.
func shownText(res map[string]any) map[string]string {
	out := map[string]string{}
	for _, p := range shownUserAttrs {
		var v any = res
		for _, k := range p {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if s, ok := v.(string); ok {
			out[strings.Join(p, ".")] = s
		}
	}
	return out
}

// checkUserValues refuses, with 400 invalidValue, what the new or changed
// user nu (whose resource is res) may not hold that old (the user stored
// before, whose resource is prev; both zero for a user created) may:
//   - a value shown on screens (shownUserAttrs) that is not valid UTF-8,
//     longer than maxShownText characters, or that holds a control or
//     invisible formatting character (store.Hidden: a right-to-left
//     override, a zero-width space), with which a kiosk greeted one worker
//     by another's name;
//   - a site that holds such a character, or more sites than maxSites
//     (checkSites);
//   - more emails than maxEmails, more certifications than
//     maxCertifications.
//
// As for userNames and group names (checkUserName, checkRename), only a
// value that is new or changed is checked, and a list only when it is
// longer than the one stored: a user given one before these rules keeps
// it, and can still be deactivated, renamed or lose values.
func checkUserValues(res, prev map[string]any, nu, old store.User) error {
	now, was := shownText(res), shownText(prev)
	for _, p := range shownUserAttrs {
		name := strings.Join(p, ".")
		if s, ok := now[name]; ok && s != was[name] {
			if err := checkShown(name, s); err != nil {
				return err
			}
		}
	}
	if err := checkSites(nu.Sites, old.Sites); err != nil {
		return err
	}
	if err := checkCount("emails", len(list(res["emails"])), len(list(prev["emails"])), maxEmails); err != nil {
		return err
	}
	return checkCount(ShiftgateUserURN+":certifications", len(nu.Certifications), len(old.Certifications), maxCertifications)
}

// checkShown refuses s as the value of name, an attribute shown on
// screens, when it is not valid UTF-8, too long, or holds a hidden
// character.
func checkShown(name, s string) error {
	bad := func(why string) error {
		return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue, Detail: name + " " + why}
	}
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		return bad("is not valid UTF-8")
	case n > maxShownText:
		return bad(fmt.Sprintf("is %d characters long; at most %d", n, maxShownText))
	case strings.ContainsFunc(s, store.Hidden):
		return bad("holds a control or invisible formatting character (such as a right-to-left override or a zero-width space)")
	}
	return nil
}

// checkCount refuses n values of the multi-valued attribute name when n is
// more than limit and more than was, the number stored before.
func checkCount(name string, n, was, limit int) error {
	if n <= max(limit, was) {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
		Detail: fmt.Sprintf("%s lists %d values; at most %d", name, n, limit)}
}
