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
//   - adds holds the valueIndex of each multi-valued attribute values
//     were added to, for as long as the operations after them only add
//     values to multi-valued attributes: apply takes them, and only an
//     add of values gives them back.
//   - removes is a run of filtered removes on one list that apply has not
//     made yet (removeRun); anything else apply does settles it first.
type patchRuns struct {
	adds    map[*Attribute]*valueIndex
	removes *removeRun
}

// takeAdds returns the held indexes and holds none until they are given
// back.
func (r *patchRuns) takeAdds() map[*Attribute]*valueIndex {
	if r == nil {
		return nil
	}
	m := r.adds
	r.adds = nil
	return m
}

// giveBack holds the indexes held, with ix as a's.
func (r *patchRuns) giveBack(held map[*Attribute]*valueIndex, a *Attribute, ix *valueIndex) {
	if r == nil {
		return
	}
	if held == nil {
		held = map[*Attribute]*valueIndex{}
	}
	held[a] = ix
	r.adds = held
}

// removeRun is a run of operations each removing the values of one
// multi-valued attribute that a filter of one clause, `sub eq "string"`
// (or `value eq "string"` on a list of strings), matches. Removing the
// values one filter matches does not change which values another
// matches, so the operations of a run remove, in one pass over the list
// when the run ends, every value that one of them matches: the result of
// making them one by one.
type removeRun struct {
	container map[string]any
	attr      *Attribute
	leaf      *Attribute // compared: a sub-attribute, or attr itself (self)
	self      bool
	want      map[string]bool // the literals, folded unless leaf is caseExact (cmpNode.str)
}

// pendRemove adds the remove of the values of a in container that f
// matches to the run, and reports whether it did: f must be one clause
// comparing a string with eq (for cmpNode.test, a string equal to
// cmpNode.str once folded as the clause folds). A run on another list, or
// another sub-attribute, is settled first.
func (r *patchRuns) pendRemove(container map[string]any, a *Attribute, f fnode) bool {
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
	run := r.removes
	if run == nil || run.attr != a || run.leaf != n.leaf || run.self != n.self ||
		reflect.ValueOf(run.container).UnsafePointer() != reflect.ValueOf(container).UnsafePointer() {
		r.settle()
		run = &removeRun{container: container, attr: a, leaf: n.leaf, self: n.self, want: map[string]bool{}}
		r.removes = run
	}
	run.want[n.str] = true
	return true
}

// settle makes the removes of the run, if there is one: what
// applyFiltered does for each of them, keeping the values none matches.
func (r *patchRuns) settle() {
	if r == nil || r.removes == nil {
		return
	}
	run := r.removes
	r.removes = nil
	list := asList(run.container[run.attr.Name])
	kept := make([]any, 0, len(list))
	for _, el := range list {
		if !run.matches(el) {
			kept = append(kept, el)
		}
	}
	if len(kept) == 0 {
		delete(run.container, run.attr.Name)
	} else {
		run.container[run.attr.Name] = kept
	}
}

// matches reports whether one of the run's filters matches el, as
// cmpNode.eval does.
func (run *removeRun) matches(el any) bool {
	test := func(x any) bool {
		s, ok := x.(string)
		if !ok {
			return false
		}
		if !run.leaf.CaseExact {
			s = store.FoldName(s)
		}
		return run.want[s]
	}
	if run.self {
		return el != nil && test(el)
	}
	m, _ := el.(map[string]any)
	return someValue(m[run.leaf.Name], func(x any) bool { return x != nil && test(x) })
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
type valueIndex struct {
	a         *Attribute
	container map[string]any
	values    []any
	groups    map[string][]any // nil when not keyed
	primaries []int            // the values with "primary": true
}

const indexAbove = 16

// newValueIndex indexes list, a's values in container, to which adding
// values are to be added. The index appends to list.
func newValueIndex(a *Attribute, container map[string]any, list []any, adding int) *valueIndex {
	ix := &valueIndex{a: a, container: container, values: list}
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
		len(l) == len(ix.values) && (len(l) == 0 || &l[0] == &ix.values[0])
}

// key groups the values by sameKey.
func (ix *valueIndex) key() {
	ix.groups = make(map[string][]any, len(ix.values))
	for _, v := range ix.values {
		ix.group(v)
	}
}

func (ix *valueIndex) group(v any) {
	if k, ok := sameKey(ix.a, v); ok {
		ix.groups[k] = append(ix.groups[k], v)
	}
}

// has reports whether a value the same as x is in the list. A value
// without a sameKey is compared with each; one with a key can only be the
// same as values with that key (see sameKey), never as one without.
func (ix *valueIndex) has(x any) bool {
	same := func(y any) bool { return sameValue(ix.a, x, y) }
	if ix.groups != nil {
		if k, ok := sameKey(ix.a, x); ok {
			return slices.ContainsFunc(ix.groups[k], same)
		}
	}
	return slices.ContainsFunc(ix.values, same)
}

// add appends x to the list.
func (ix *valueIndex) add(x any) {
	if isPrimary(x) {
		ix.primaries = append(ix.primaries, len(ix.values))
	}
	ix.values = append(ix.values, x)
	if ix.groups != nil {
		ix.group(x)
	}
}

// fixPrimary is fixPrimary(ix.values, keep), through the values known to
// be primary rather than all of them. A value it changes is grouped again
// under its new key; its entry under the old one stays, and is compared
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
		if i == winner {
			continue
		}
		m := ix.values[i].(map[string]any)
		delete(m, "primary")
		if ix.groups != nil {
			ix.group(m)
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
// value's "value", or else the encoding of the value (appendKey). ok is
// false for a value appendKey cannot encode. Two values with one key need
// not be the same: sameValue decides.
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
	}
	b, ok := appendKey([]byte("j"), v)
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
