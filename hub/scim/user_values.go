package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/shift"
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

// maxValues is the most values a new or changed list of a User may hold:
// each multi-valued attribute of its schema and extensions (userLists),
// unless listLimits gives it another limit. A worker has a few emails,
// phone numbers, roles or certifications; each value is kept in the user's
// document, which every GET, PATCH and list reads and writes again whole,
// compared by every PATCH that adds or removes one inside the write
// transaction, and a certification is read by every login's policy check.
// A 1 MiB body holds 20,000 of them, and only emails and certifications
// were bounded: tens of thousands of phoneNumbers or roles were kept.
const maxValues = 100

// listLimits are the lists of a User bounded otherwise than by maxValues,
// by their names in userLists:
//   - sites by maxSites (checkSites, which counts them as the hub holds
//     them, one for the spellings that differ only in case or spaces);
//   - shifts by shift.MaxShifts, the limit of every way shifts arrive (the
//     shift API, the HR/WFM import), which shift.Normalize enforces: a
//     week of a worker's shifts is a few, but a schedule published a
//     quarter or a year ahead, of split shifts, is hundreds.
//
// A Group's members are not a User's and are not bounded by these.
var listLimits = map[string]int{
	ShiftgateUserURN + ":sites":  maxSites,
	ShiftgateUserURN + ":shifts": shift.MaxShifts,
}

// userLists are the multi-valued attributes of a User that a client may
// set, built once from UserResourceType: groups, which the hub derives,
// are not among them.
var userLists = multiValued(UserResourceType())

// listAttr names a multi-valued attribute: ext is its extension's URN, or
// "" for the core schema.
type listAttr struct{ ext, name string }

func (l listAttr) String() string {
	if l.ext == "" {
		return l.name
	}
	return l.ext + ":" + l.name
}

// values returns the values res lists for l.
func (l listAttr) values(res map[string]any) []any {
	if l.ext == "" {
		return list(res[l.name])
	}
	ext, _ := res[l.ext].(map[string]any)
	return list(ext[l.name])
}

// multiValued returns the multi-valued attributes of rt's schema and
// extensions that are not read-only.
func multiValued(rt *ResourceType) []listAttr {
	var out []listAttr
	add := func(ext string, s *Schema) {
		for _, a := range s.Attributes {
			if a.MultiValued && a.Mutability != ReadOnly {
				out = append(out, listAttr{ext: ext, name: a.Name})
			}
		}
	}
	add("", rt.Schema)
	for _, e := range rt.Extensions {
		add(e.Schema.ID, e.Schema)
	}
	return out
}

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
//   - a site that holds such a character or is longer than maxShownText
//     characters, or more sites than maxSites (checkSites);
//   - more values of a multi-valued attribute (userLists) than maxValues,
//     or than its limit in listLimits;
//   - a displayName that the hub makes of name.givenName and
//     name.familyName, none being sent, longer than maxShownText
//     characters (checkBuiltName).
//
// As for userNames and group names (checkUserName, checkRename), only a
// value that is new or changed is checked, and a list over its limit only
// when it holds a value the one stored does not (checkCount): a user
// given one before these rules keeps it, and can still be deactivated,
// renamed or lose values.
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
	if err := checkBuiltName(res, nu, old); err != nil {
		return err
	}
	if err := checkSites(nu.Sites, old.Sites); err != nil {
		return err
	}
	for _, l := range userLists {
		name := l.String()
		if name == ShiftgateUserURN+":sites" {
			continue // checkSites counts them as the hub holds them
		}
		limit, ok := listLimits[name]
		if !ok {
			limit = maxValues
		}
		if err := checkCount(name, l.values(res), l.values(prev), limit); err != nil {
			return err
		}
	}
	return nil
}

// checkBuiltName refuses the displayName that userFromResource makes of
// name.givenName and name.familyName for a user sent without one, when it
// is new or changed and longer than maxShownText characters: each part
// may have as many, so the two made 513. It is refused, as a displayName
// sent that long is, rather than cut: a name cut short may read as
// another worker's, and the identity provider would not learn that the
// kiosks greet its user by a name it never sent. The answer says to send
// a displayName. (name.formatted, which comes first, is checked itself.)
func checkBuiltName(res map[string]any, nu, old store.User) error {
	if str(res["displayName"]) != "" || nu.DisplayName == old.DisplayName {
		return nil
	}
	if n := utf8.RuneCountInString(nu.DisplayName); n > maxShownText {
		return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
			Detail: fmt.Sprintf("displayName is not sent, and the one made of the name (name.formatted, or name.givenName and name.familyName) is %d characters long; at most %d: send a displayName", n, maxShownText)}
	}
	return nil
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

// checkCount refuses vals, the values of the multi-valued attribute name,
// when they are more than limit, unless each is one of was, the values
// stored before: a list stored over the limit is kept as it is, in any
// order (an identity provider sends every value with each PUT), and may
// lose values, but a list that holds one value it did not, even of the
// same length, is a new list and held to the limit.
func checkCount(name string, vals, was []any, limit int) error {
	if len(vals) <= limit || within(vals, was, canonicalValue) {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
		Detail: fmt.Sprintf("%s lists %d values; at most %d", name, len(vals), limit)}
}

// within reports whether each of vals is one of was, as many times as
// was holds it at most, values being the same when key gives the same.
func within[T any](vals, was []T, key func(T) string) bool {
	if len(vals) > len(was) {
		return false
	}
	left := make(map[string]int, len(was))
	for _, v := range was {
		left[key(v)]++
	}
	for _, v := range vals {
		k := key(v)
		if left[k] == 0 {
			return false
		}
		left[k]--
	}
	return true
}

// canonicalValue is a key of a value of a resource's list: its JSON, whose
// objects encoding/json writes with their members sorted.
func canonicalValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T %v", v, v) // not from JSON; never equal to a JSON text
	}
	return string(b)
}
