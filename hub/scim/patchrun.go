package scim

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/shiftgate/shiftgate/hub/store"
)

// patchRuns is what the operations of one ApplyPatch hand on to the next,
// so that a PATCH of n operations on one list does not go over the whole
// list n times. Identity providers send a change to many values as one
// operation per value: Okta removes each member with its own
// members[value eq "<id>"], and adds are sent one value each too. Each
// operation went over the whole list (to find duplicates, or to evaluate
// its filter on every value and copy the rest): 4,000 removals from a
// group of 8,000 took 6 s.
//
// lists holds, for each multi-valued attribute that operations added
// values to or removed values from with a filter of one `sub eq "string"`
// clause, its valueIndex: the adds and removes are made on the index, in
// their order, and the list is written back to the resource once, when an
// operation of another kind comes (settle) or the PATCH ends. Adds and
// removes used to hand over to each other by writing the list back and
// indexing it again: a 1 MiB PATCH alternately adding and removing a
// member of a group of 10,000 went over the group for each of its 11,000
// operations, and held the hub's one writer for 87 s.
type patchRuns struct {
	lists map[*Attribute]*valueIndex
}

// index returns the index of a's values in container, cur, for an
// operation adding adding values or removing some: the one earlier
// operations left when it still holds cur (reused), or else a new one,
// which later operations will get. With r nil (runs off), it returns a new
// index each time and keeps none.
func (r *patchRuns) index(container map[string]any, a *Attribute, cur any, adding int) (ix *valueIndex, reused bool) {
	if r != nil {
		if ix := r.lists[a]; ix != nil && ix.holds(container, cur) {
			return ix, true
		}
	}
	// An index left for a in another container (an extension object
	// unassigned and assigned again since) writes to a container the
	// resource no longer holds: dropped, it loses nothing.
	ix = newValueIndex(a, container, asList(cur), adding)
	if r != nil {
		if r.lists == nil {
			r.lists = map[*Attribute]*valueIndex{}
		}
		r.lists[a] = ix
	}
	return ix, false
}

// remove makes the remove of the values of a in container that f matches
// on a's index, and reports whether it did: f must be one clause
// comparing a string with eq (for cmpNode.test, a string equal to
// cmpNode.str once folded as the clause folds). Removing the values one
// such filter matches does not depend on how the list came to be, so the
// index finds them by the compared sub-attribute (leafIndex), not by
// evaluating f on every value. With r nil it does nothing.
func (r *patchRuns) remove(container map[string]any, a *Attribute, f fnode) bool {
	if r == nil {
		return false
	}
	n, ok := f.(*cmpNode)
	if !ok || !n.inBracket || n.op != filter.EQ {
		return false
	}
	switch n.leaf.Type {
	case TypeBoolean, TypeInteger, TypeDecimal, TypeDateTime, TypeComplex:
		return false
	}
	if _, isStr := n.raw.(string); !isStr {
		return false
	}
	ix, _ := r.index(container, a, container[a.Name], 0)
	ix.remove(leafKey{n.leaf, n.self}, n.str)
	return true
}

// settle writes the lists of the indexes back to the resource and drops
// the indexes: whatever an operation does but add values to a
// multi-valued attribute or remove some with one `eq` clause may read a
// list, or change one in place (a filtered replace, a primary set), which
// the indexes would not know.
func (r *patchRuns) settle() {
	if r == nil {
		return
	}
	for _, ix := range r.lists {
		ix.flush()
	}
	r.lists = nil
}

// valueIndex is the list of values of a multi-valued attribute a in a
// resource's container (the resource, or an extension's object), indexed
// to tell whether it holds a value the same (sameValue) as another. An
// add compared each new value with every value of the list: one add of
// 8,000 sites took a second, one of the 80,000 that fit in a 1 MiB body
// would have taken over a minute. The index groups the values by sameKey,
// which is the same for any two values that sameValue holds the same, and
// compares a value only with its group. Keying a list (an encoding of each
// value) costs more than comparing a few new values with each value: a
// first add of at most indexAbove values to a list that is not
// members-like compares. It also knows which values are primary, for
// fixPrimary.
//
// Values removed (remove) stay in values, marked dead, so that the
// positions the groups hold stay right; the container keeps the list as
// it was (written) until flush writes the live values. Until a value is
// removed, adds write the list to the container as they go.
type valueIndex struct {
	a         *Attribute
	container map[string]any
	values    []any
	written   []any            // the list the container holds
	dead      []bool           // values removed; nil until one is
	ndead     int              // how many are
	groups    map[string][]int // positions in values by sameKey; nil when not keyed
	leaves    map[leafKey]map[string][]int
	primaries []int // the values with "primary": true
}

// leafKey names what a remove's `eq` clause compares in each value: the
// sub-attribute leaf, or the value itself (self, a list of strings).
type leafKey struct {
	leaf *Attribute
	self bool
}

const indexAbove = 16

// newValueIndex indexes list, a's values in container, to which adding
// values are to be added. The index appends to list.
func newValueIndex(a *Attribute, container map[string]any, list []any, adding int) *valueIndex {
	ix := &valueIndex{a: a, container: container, values: list, written: list}
	for i, v := range list {
		if isPrimary(v) {
			ix.primaries = append(ix.primaries, i)
		}
	}
	if adding > indexAbove || membersLike(a) {
		ix.key()
	}
	return ix
}

// holds reports whether ix is the index of cur, the value of its
// attribute in container: the same container and the same list, which the
// last operation left.
func (ix *valueIndex) holds(container map[string]any, cur any) bool {
	l, ok := cur.([]any)
	return ok && reflect.ValueOf(container).UnsafePointer() == reflect.ValueOf(ix.container).UnsafePointer() &&
		len(l) == len(ix.written) && (len(l) == 0 || &l[0] == &ix.written[0])
}

// key groups the values by sameKey.
func (ix *valueIndex) key() {
	ix.groups = make(map[string][]int, len(ix.values))
	for i := range ix.values {
		ix.group(i)
	}
}

func (ix *valueIndex) group(i int) {
	if k, ok := sameKey(ix.a, ix.values[i]); ok {
		ix.groups[k] = append(ix.groups[k], i)
	}
}

func (ix *valueIndex) live(i int) bool { return ix.dead == nil || !ix.dead[i] }

// has reports whether a value the same as x is in the list. A value
// without a sameKey is compared with each; one with a key can only be the
// same as values with that key (see sameKey), never as one without.
func (ix *valueIndex) has(x any) bool {
	same := func(i int) bool { return ix.live(i) && sameValue(ix.a, x, ix.values[i]) }
	if ix.groups != nil {
		if k, ok := sameKey(ix.a, x); ok {
			return slices.ContainsFunc(ix.groups[k], same)
		}
	}
	for i := range ix.values {
		if same(i) {
			return true
		}
	}
	return false
}

// add appends x to the list.
func (ix *valueIndex) add(x any) {
	i := len(ix.values)
	if isPrimary(x) {
		ix.primaries = append(ix.primaries, i)
	}
	ix.values = append(ix.values, x)
	if ix.dead != nil {
		ix.dead = append(ix.dead, false)
	}
	if ix.groups != nil {
		ix.group(i)
	}
	for k, by := range ix.leaves {
		leafStrings(k, x, func(s string) { by[s] = append(by[s], i) })
	}
}

// write gives the container the list after an add: at once while no
// value was removed (values is the list), else at flush.
func (ix *valueIndex) write() {
	if ix.ndead == 0 {
		ix.container[ix.a.Name] = ix.values
		ix.written = ix.values
	}
}

// remove removes the values in which k's sub-attribute (or the value
// itself) is a string that, folded unless the sub-attribute is caseExact,
// is want: those a filter `sub eq "…"` matches (cmpNode.eval).
func (ix *valueIndex) remove(k leafKey, want string) {
	by := ix.leaves[k]
	if by == nil {
		if ix.leaves == nil {
			ix.leaves = map[leafKey]map[string][]int{}
		}
		by = make(map[string][]int, len(ix.values))
		for i, v := range ix.values {
			if ix.live(i) {
				leafStrings(k, v, func(s string) { by[s] = append(by[s], i) })
			}
		}
		ix.leaves[k] = by
	}
	for _, i := range by[want] {
		if !ix.live(i) {
			continue
		}
		if ix.dead == nil {
			ix.dead = make([]bool, len(ix.values), cap(ix.values))
		}
		ix.dead[i] = true
		ix.ndead++
	}
	delete(by, want)
}

// leafStrings calls f with each string a filter `sub eq "…"` on k compares
// in v, folded as cmpNode.test folds it: v itself for self, else each
// string of v's sub-attribute (someValue).
func leafStrings(k leafKey, v any, f func(string)) {
	each := func(x any) bool {
		if s, ok := x.(string); ok {
			if !k.leaf.CaseExact {
				s = store.FoldName(s)
			}
			f(s)
		}
		return false
	}
	if k.self {
		each(v)
		return
	}
	m, _ := v.(map[string]any)
	someValue(m[k.leaf.Name], each)
}

// flush writes the live values to the container, and unassigns the
// attribute when none is left (as a remove that empties a list does).
func (ix *valueIndex) flush() {
	if ix.ndead == 0 {
		return // the container holds values
	}
	kept := make([]any, 0, len(ix.values)-ix.ndead)
	for i, v := range ix.values {
		if !ix.dead[i] {
			kept = append(kept, v)
		}
	}
	if len(kept) == 0 {
		delete(ix.container, ix.a.Name)
	} else {
		ix.container[ix.a.Name] = kept
	}
}

// fixPrimary is fixPrimary(ix.values, keep), through the values known to
// be primary rather than all of them (a removed value is no longer in the
// list: it is left as it is). A value it changes is grouped again under
// its new key; its entry under the old one stays, and is compared
// (sameValue) and found different like any other.
func (ix *valueIndex) fixPrimary(keep []int) {
	winner := -1
	for _, i := range keep {
		if isPrimary(ix.values[i]) {
			winner = i
		}
	}
	if winner < 0 {
		return
	}
	for _, i := range ix.primaries {
		if i == winner || !ix.live(i) {
			continue
		}
		m := ix.values[i].(map[string]any)
		delete(m, "primary")
		if ix.groups != nil {
			ix.group(i)
		}
	}
	ix.primaries = append(ix.primaries[:0], winner)
}

func isPrimary(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["primary"] == true
}

// sameKey is a key of v such that sameValue(a, x, y) implies
// sameKey(a, x) == sameKey(a, y): a string's case-folded form (as
// strings.EqualFold compares) unless a is caseExact, a members-like
// value's "value", or else the encoding of the value (appendKey), with
// the strings of a complex value's sub-attributes that are not caseExact
// folded (appendSubKey). ok is false for a value appendKey cannot encode.
// Two values with one key need not be the same: sameValue decides.
func sameKey(a *Attribute, v any) (string, bool) {
	switch x := v.(type) {
	case string:
		if a.CaseExact {
			return "s" + x, true
		}
		return "s" + store.FoldName(x), true
	case map[string]any:
		if k, ok := valueKey(a, x); ok {
			return "v" + k, true
		}
		if membersLike(a) && x["value"] != nil {
			b, ok := appendKey([]byte("w"), x["value"])
			return string(b), ok
		}
		b := []byte("j{")
		for _, k := range sortedKeys(x) {
			var ok bool
			if b, ok = appendSubKey(strconv.AppendQuote(b, k), a, k, x[k]); !ok {
				return "", false
			}
		}
		return string(append(b, '}')), true
	}
	b, ok := appendKey([]byte("j"), v)
	return string(b), ok
}

// appendSubKey is appendKey for v, the value of sub-attribute k of a
// complex attribute a, the same for values subEqual holds equal: a string
// of a sub-attribute that is not caseExact (foldsSub) is encoded folded.
func appendSubKey(b []byte, a *Attribute, k string, v any) ([]byte, bool) {
	if s, ok := v.(string); ok && foldsSub(a, k) {
		return strconv.AppendQuote(append(b, 's'), store.FoldName(s)), true
	}
	return appendKey(b, v)
}

// matchListed reports, for each of els, the values of a multi-valued
// attribute a, whether one of listed, the values a remove lists
// (removeListed), names it: is the same value (sameValue) or, listed as
// an object, has each of its sub-attributes with the same value
// (subsetOf). A listed value is compared only with the elements that hold
// one of its sub-attribute values (the one fewest elements hold) or, not
// an object, that have its sameKey, found through an index of els.
// Compared with every element, a PATCH listing 5,000 emails to remove
// from a user with 5,000 took 12 s, and one of 1 MiB minutes, inside the
// write transaction that every other change of the hub waits for.
func matchListed(a *Attribute, els, listed []any) []bool {
	named := make([]bool, len(els))
	// index maps the key of a sub-attribute and its value (subKey, folded
	// where subEqual compares without case), or an element's sameKey, to
	// the elements that have it; others holds the elements neither
	// encodes, compared with every listed value. An element that is no
	// object (normalised, a complex attribute holds none) is named by no
	// listed object with a sub-attribute that is not null; one whose
	// sub-attributes are all null is compared with every element
	// (candidates).
	index := map[string][]int{}
	var others []int
	for i, el := range els {
		m, isObject := el.(map[string]any)
		if !isObject {
			if key, ok := sameKey(a, el); ok {
				index[key] = append(index[key], i)
			} else {
				others = append(others, i)
			}
			continue
		}
		indexed := true
		for k, v := range m {
			key, ok := subKey(a, k, v)
			if !ok {
				indexed = false
				continue
			}
			index[key] = append(index[key], i)
		}
		if !indexed {
			others = append(others, i)
		}
	}
	// candidates are the elements x can name, besides others; ok is false
	// when it can name any (an object without a sub-attribute that is not
	// null).
	candidates := func(x any) (cands []int, ok bool) {
		m, isObject := x.(map[string]any)
		if !isObject {
			key, ok := sameKey(a, x)
			return index[key], ok
		}
		if membersLike(a) && m["value"] != nil {
			// The same value whatever else either holds (sameValue).
			key, ok := subKey(a, "value", m["value"])
			return index[key], ok
		}
		narrowed := false
		for k, v := range m {
			if v == nil {
				continue // an element without k has it null too (subsetOf)
			}
			key, ok := subKey(a, k, v)
			if !ok {
				return nil, false
			}
			c := index[key]
			if len(c) == 0 {
				return nil, true // no element holds this one
			}
			if !narrowed || len(c) < len(cands) {
				cands, narrowed = c, true
			}
		}
		return cands, narrowed
	}
	check := func(x any, i int) {
		if !named[i] && (sameValue(a, x, els[i]) || subsetOf(a, x, els[i])) {
			named[i] = true
		}
	}
	for _, x := range listed {
		cands, ok := candidates(x)
		if !ok {
			for i := range els {
				check(x, i)
			}
			continue
		}
		for _, i := range cands {
			check(x, i)
		}
		for _, i := range others {
			check(x, i)
		}
	}
	return named
}

// subKey is the index key of sub-attribute k of a complex value of a
// holding v, for matchListed: the same for values that subEqual holds
// equal (strings folded where k is not caseExact), and apart from every
// sameKey (which starts with a letter).
func subKey(a *Attribute, k string, v any) (string, bool) {
	b, ok := appendSubKey(strconv.AppendQuote(nil, k), a, k, v)
	return string(b), ok
}

// appendKey appends an encoding of v to b that is the same for values
// jsonEqual holds equal: the types jsonEqual compares itself, map keys
// sorted, 0 and -0 alike. ok is false for a value holding another type.
func appendKey(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, 'z'), true
	case string:
		return strconv.AppendQuote(append(b, 's'), x), true
	case bool:
		return strconv.AppendBool(append(b, 'b'), x), true
	case int64:
		return strconv.AppendInt(append(b, 'i'), x, 10), true
	case float64:
		if x == 0 {
			x = 0 // -0 == 0
		}
		return strconv.AppendFloat(append(b, 'f'), x, 'g', -1, 64), true
	case json.Number:
		return strconv.AppendQuote(append(b, 'n'), string(x)), true
	case map[string]any:
		b = append(b, '{')
		for _, k := range sortedKeys(x) {
			var ok bool
			if b, ok = appendKey(strconv.AppendQuote(b, k), x[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case []any:
		b = append(b, '[')
		for _, e := range x {
			var ok bool
			if b, ok = appendKey(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// jsonEqual is reflect.DeepEqual for the values JSON decodes to and
// normalisation makes (map[string]any, []any, string, bool, int64,
// float64, json.Number, nil), without reflect's allocations, which made
// comparing the values of a multi-valued attribute most of a PATCH's
// cost. Other types are compared by reflect.DeepEqual.
func jsonEqual(x, y any) bool {
	switch a := x.(type) {
	case nil:
		return y == nil
	case string:
		b, ok := y.(string)
		return ok && a == b
	case bool:
		b, ok := y.(bool)
		return ok && a == b
	case int64:
		b, ok := y.(int64)
		return ok && a == b
	case float64:
		b, ok := y.(float64)
		return ok && a == b
	case json.Number:
		b, ok := y.(json.Number)
		return ok && a == b
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
			return true // the same map, as reflect.DeepEqual has it
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		if len(a) > 0 && &a[0] == &b[0] {
			return true // the same elements, as reflect.DeepEqual has it
		}
		for i := range a {
			if !jsonEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(x, y)
}
