package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// Operation is one PATCH operation (RFC 7644 §3.5.2).
type Operation struct {
	// Op is "add", "remove" or "replace", lower-cased (Entra sends "Add").
	Op string
	// Path is the target as sent; "" targets the resource itself.
	Path string
	// Value is the decoded JSON value (numbers as json.Number), nil if absent.
	Value any

	path *filter.Path
}

// ParsePatch decodes and checks a PATCH request body. Errors are *Error:
// invalidSyntax for a malformed message (schemas must be the PatchOp URN,
// Operations must be a non-empty array, op must be add, remove or replace
// in any case, add needs a non-null value, replace a value: null only with
// a path, where it unassigns), invalidPath for a path that does not parse,
// noTarget for a remove without a path.
func ParsePatch(body []byte) ([]Operation, error) {
	var msg struct {
		Schemas    []string
		Operations []struct {
			Op    string
			Path  *string
			Value json.RawMessage
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&msg); err != nil || !atEnd(d) {
		return nil, ErrInvalidSyntax("the body must be a JSON PatchOp message: {\"schemas\":[%q],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":false}]}", PatchOpURN)
	}
	if !slices.ContainsFunc(msg.Schemas, func(s string) bool { return strings.EqualFold(s, PatchOpURN) }) {
		return nil, ErrInvalidSyntax("schemas must be [%q]", PatchOpURN)
	}
	if len(msg.Operations) == 0 {
		return nil, ErrInvalidSyntax("Operations must hold at least one operation")
	}
	ops := make([]Operation, 0, len(msg.Operations))
	for i, o := range msg.Operations {
		op := Operation{Op: strings.ToLower(o.Op)}
		if op.Op != "add" && op.Op != "remove" && op.Op != "replace" {
			return nil, ErrInvalidSyntax("operation %d: op must be add, remove or replace", i+1)
		}
		if o.Path != nil && strings.TrimSpace(*o.Path) != "" {
			op.Path = strings.TrimSpace(*o.Path)
			p, err := parsePathText(op.Path)
			if errors.Is(err, errPathTooDeep) {
				return nil, ErrInvalidPath("operation %d: path nests parentheses and brackets more than %d deep", i+1, maxFilterDepth)
			}
			if err != nil {
				return nil, ErrInvalidPath("operation %d: path is not a valid SCIM path; write it like name.givenName, emails[type eq \"work\"].value or members[value eq \"<id>\"]", i+1)
			}
			op.path = &p
		}
		if len(o.Value) > 0 {
			vd := json.NewDecoder(bytes.NewReader(o.Value))
			vd.UseNumber()
			if err := vd.Decode(&op.Value); err != nil {
				return nil, ErrInvalidSyntax("operation %d: value is not valid JSON", i+1)
			}
		}
		switch {
		case op.Op == "add" && op.Value == nil:
			return nil, ErrInvalidSyntax("operation %d: add needs a non-null value", i+1)
		case op.Op == "replace" && len(o.Value) == 0:
			return nil, ErrInvalidSyntax("operation %d: replace needs a value (null, with a path, unassigns the attribute)", i+1)
		case op.Op == "replace" && op.Value == nil && op.path == nil:
			return nil, ErrInvalidSyntax("operation %d: a replace without a path needs a JSON object of attributes, not null", i+1)
		}
		if op.Op == "remove" && op.path == nil {
			return nil, ErrNoTarget("operation %d: remove needs a path naming what to remove", i+1)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// errPathTooDeep is parsePathText's error for a path nested deeper than
// maxFilterDepth.
var errPathTooDeep = errors.New("path nested too deep")

func parsePathText(s string) (filter.Path, error) {
	if len(s) > maxFilterLen {
		return filter.Path{}, fmt.Errorf("path too long")
	}
	if nestingDepth(s) > maxFilterDepth {
		return filter.Path{}, errPathTooDeep
	}
	if p, ok := simplePath(s); ok {
		return p, nil
	}
	if p, ok := simpleValuePath(s); ok {
		return p, nil
	}
	p, err := parseSafely("path", filter.ParsePathNumber, s)
	if err != nil {
		if bp, ok := bracketPath(s); ok {
			return bp, nil
		}
	}
	return p, err
}

// bracketPath parses `attr[filter]` and `attr[filter].sub` where the
// parser refuses the filter only because it joins more than two
// expressions, which RFC 7644's valFilter allows: an identity provider
// removing members with members[value eq "a" or value eq "b" or value eq
// "c"] got 400 and the members kept their role. The filter between the
// brackets is parsed as a top-level filter, which has no such limit.
func bracketPath(s string) (filter.Path, bool) {
	open := strings.IndexByte(s, '[')
	if open <= 0 {
		return filter.Path{}, false
	}
	closing, inString := -1, false
	for i := open + 1; i < len(s) && closing < 0; i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++ // the escaped character
		case c == '"':
			inString = !inString
		case !inString && c == '[':
			return filter.Path{}, false // nested brackets
		case !inString && c == ']':
			closing = i
		}
	}
	if closing < 0 {
		return filter.Path{}, false
	}
	var p filter.Path
	if rest := s[closing+1:]; rest != "" {
		sub, ok := strings.CutPrefix(rest, ".")
		if !ok || !plainAttrName(sub) {
			return filter.Path{}, false
		}
		p.SubAttribute = &sub
	}
	ap, err := parseSafely("attribute path", filter.ParseAttrPath, s[:open])
	if err != nil || ap.SubAttribute != nil {
		return filter.Path{}, false
	}
	inner := strings.TrimSpace(s[open+1 : closing])
	if inner == "" {
		return filter.Path{}, false
	}
	expr, err := parseFilterText(inner)
	if err != nil {
		return filter.Path{}, false
	}
	p.AttributePath, p.ValueExpression = ap, expr
	return p, true
}

// simplePath recognises the paths PATCH requests carry most, `attr` and
// `attr.sub` with plain names, qualified or not by the URN of one of the
// hub's schemas (an extension's sites), and builds what filter-parser
// would build; value filters go to simpleValuePath, and other paths to the
// parser. Held to the parser's result by TestSimplePathMatchesParser and
// FuzzSimplePath.
func simplePath(s string) (filter.Path, bool) {
	urn, s, ok := cutSchemaURN(s)
	if !ok {
		return filter.Path{}, false
	}
	name, sub, dotted := strings.Cut(s, ".")
	if !plainAttrName(name) || dotted && !plainAttrName(sub) {
		return filter.Path{}, false
	}
	p := filter.Path{AttributePath: filter.AttributePath{URIPrefix: urn, AttributeName: name}}
	if dotted {
		p.AttributePath.SubAttribute = &sub
	}
	return p, true
}

// cutSchemaURN cuts the URN of one of the hub's schemas, and the colon
// after it, off the front of the attribute path s; urn is nil when s has
// no colon. ok is false for any other URN, which the parser reads (the
// fast paths take only what they are sure the parser reads the same way).
func cutSchemaURN(s string) (urn *string, rest string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return nil, s, true
	}
	switch u := s[:i]; u {
	case UserURN, GroupURN, EnterpriseUserURN, ShiftgateUserURN:
		return &u, s[i+1:], true
	}
	return nil, s, false
}

// simpleValuePath recognises the filtered paths identity providers send
// one operation per value with, `attr[sub eq "value"]` and
// `attr[sub eq "value"].sub` (Okta's members[value eq "<id>"], Entra's
// emails[type eq "work"].value), attr plain or qualified by the URN of one
// of the hub's schemas and the filter as simpleEquality takes it, and
// builds what filter-parser would build. The parser takes about 2 µs a
// byte: a 1 MiB PATCH of such operations took 2 s of CPU to parse, in the
// handler of a request whose write the hub's other writes wait for. Held
// to the parser's result by TestSimpleValuePathMatchesParser and
// FuzzSimpleValuePath.
func simpleValuePath(s string) (filter.Path, bool) {
	open, closing := strings.IndexByte(s, '['), strings.LastIndex(s, `"]`)
	if open <= 0 || closing < open {
		return filter.Path{}, false
	}
	expr, ok := simpleEquality(s[open+1 : closing+1])
	if !ok {
		return filter.Path{}, false
	}
	p := filter.Path{ValueExpression: expr}
	if rest := s[closing+2:]; rest != "" {
		sub, ok := strings.CutPrefix(rest, ".")
		if !ok || !plainAttrName(sub) {
			return filter.Path{}, false
		}
		p.SubAttribute = &sub
	}
	urn, name, ok := cutSchemaURN(s[:open])
	if !ok || !plainAttrName(name) {
		return filter.Path{}, false
	}
	p.AttributePath.URIPrefix, p.AttributePath.AttributeName = urn, name
	return p, true
}

// plainAttrName reports whether s is an RFC 7644 ATTRNAME:
// ALPHA *(ALPHA / DIGIT / "-" / "_").
func plainAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

// ApplyPatch applies ops to the canonical resource res and returns the
// new, re-normalised resource; res itself is never modified, and on error
// nothing is applied (all or nothing). Semantics are RFC 7644 §3.5.2:
//
//   - add: sets an unassigned or single-valued attribute, merges
//     sub-attributes into a complex one, appends to a multi-valued one
//     (values already present are not added twice; members are the same
//     when their value is). Entra's add with a filter that matches nothing,
//     emails[type eq "work"].value, creates the value {type: work, value};
//     a value that names no sub-attribute ({}) changes nothing.
//   - replace: sets; a complex attribute gets the given sub-attributes and
//     keeps the others; a multi-valued attribute without a filter gets
//     exactly the given values; with a filter, the matching values (or
//     their sub-attribute) are replaced. No match creates the value when
//     the filter says which (as add does; Entra sends Replace for values
//     the target lacks, see createFiltered), except for members; else it
//     is noTarget.
//   - remove: unassigns; with a filter, removes the matching values (none
//     matching is not an error, so retries are harmless); with a value
//     list and no filter (Entra: path "members", value [{"value": id}])
//     removes only the listed values. Removing a required attribute, or
//     a required or immutable sub-attribute of a multi-valued one where
//     a value has it (members[value eq "u1"].value, shifts.start), is
//     mutability; removing the whole value (members[value eq "u1"]) is
//     not.
//   - Without a path, value is an object whose keys are paths: plain,
//     dotted ("name.givenName"), URN-qualified, or with a filter; a key
//     that is the core schema's or an extension's URN holds an object of
//     that schema's attributes. Unknown keys are ignored, but an object
//     with no key that names an attribute is invalidPath; readOnly keys
//     (Okta sends "id") are ignored when equal to the current value. In a
//     replace, a key whose value is null unassigns the attribute, as a
//     remove of that path does (RFC 7643 §2.5: null is unassigned).
//   - A replace with a path and a null value unassigns, as a remove of
//     that path does (RFC 7643 §2.5), with the same rules as null in a
//     value object (keyPatcher).
//   - Targeting a readOnly attribute (id, meta, groups, schemas) or changing
//     an immutable value that is set is mutability; an unknown attribute is
//     invalidPath.
//   - Setting "primary": true on a value clears it on the others.
//   - Values are normalised as Normalize does (Entra's "False" included).
func ApplyPatch(rt *ResourceType, res map[string]any, ops []Operation) (map[string]any, error) {
	return applyPatch(rt, res, ops, true)
}

// applyPatch is ApplyPatch; runs says whether operations hand on to the
// next what saves it going over a list again (patchRuns): tests compare
// that with making each operation alone.
func applyPatch(rt *ResourceType, res map[string]any, ops []Operation, runs bool) (map[string]any, error) {
	work, _ := deepCopy(res).(map[string]any)
	if work == nil {
		work = map[string]any{}
	}
	if _, ok := work["schemas"]; !ok {
		work["schemas"] = []any{rt.Schema.ID}
	}
	var pr *patchRuns
	if runs {
		pr = &patchRuns{}
	}
	for i, op := range ops {
		p := op.path
		if p == nil && op.Path != "" {
			pp, err := parsePathText(op.Path)
			if err != nil {
				return nil, ErrInvalidPath("operation %d: path is not a valid SCIM path", i+1)
			}
			p = &pp
		}
		pa := patcher{rt: rt, res: work, op: strings.ToLower(op.Op), where: fmt.Sprintf("operation %d", i+1), runs: pr}
		if pa.op != "add" && pa.op != "remove" && pa.op != "replace" {
			return nil, ErrInvalidSyntax("%s: op must be add, remove or replace", pa.where)
		}
		var err error
		switch {
		case p != nil:
			err = pa.keyPatcher(op.Value).apply(*p, op.Value, false)
		case pa.op == "remove":
			err = ErrNoTarget("%s: remove needs a path naming what to remove", pa.where)
		default:
			pr.settle() // applyObject may change the resource before it calls apply
			err = pa.applyObject("", op.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	pr.settle()
	return normalizeResource(rt, work, true)
}

type patcher struct {
	rt    *ResourceType
	res   map[string]any
	op    string
	where string
	runs  *patchRuns // shared by the operations of one ApplyPatch; nil: none
}

// applyObject applies a path-less value object; prefix qualifies its keys
// (a schema URN plus ":" for a value given for a whole schema).
//
// A key naming the resource's core schema (Okta and some HR connectors
// send {"urn:ietf:params:scim:schemas:core:2.0:User":{"active":false}})
// holds core attributes, as an extension URN key holds the extension's.
// It used to be ignored: a leaver's deactivation answered 200 and did
// nothing.
//
// Unknown keys, plain or URN-qualified, are ignored next to known ones:
// an identity provider sends every mapped attribute in one operation, and
// refusing it for an attribute the hub does not keep (a custom extension)
// would refuse the deactivation that came with it. An object none of
// whose keys is an attribute is invalidPath: a 200 for an operation that
// changed nothing the client asked for hides a failed deprovisioning.
func (pa *patcher) applyObject(prefix string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return ErrInvalidSyntax("%s: without a path, value must be a JSON object of attributes", pa.where)
	}
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { // plain keys first, then refinements
		return cmp3(float64(strings.Count(a, ".")+strings.Count(a, "[")), float64(strings.Count(b, ".")+strings.Count(b, "[")))
	})
	whole := prefix == "" || strings.EqualFold(prefix, pa.rt.Schema.ID+":") // keys are the resource's
	known, unknown := 0, ""
	for _, k := range keys {
		if whole && strings.EqualFold(k, "schemas") {
			continue
		}
		var err error
		if prefix == "" && strings.EqualFold(k, pa.rt.Schema.ID) {
			err = pa.applyObject(pa.rt.Schema.ID+":", m[k])
		} else if s := pa.rt.Extension(k); s != nil && prefix == "" {
			if m[k] == nil && pa.op == "replace" {
				delete(pa.res, s.ID) // the whole extension unassigned
			} else {
				err = pa.applyObject(s.ID+":", m[k])
			}
		} else if p, perr := parsePathText(prefix + k); perr == nil && pa.known(p) {
			err = pa.keyPatcher(m[k]).apply(p, m[k], true)
		} else {
			// Not an attribute: ignored like any unknown attribute.
			if unknown == "" {
				unknown = k
			}
			continue
		}
		if err != nil {
			return err
		}
		known++
	}
	if known == 0 && unknown != "" {
		return ErrInvalidPath("%s: %q is not an attribute of %s (schemas %s), and the value names no attribute that is; nothing would change", pa.where, clip(prefix+unknown), pa.rt.Name, pa.schemaList())
	}
	return nil
}

// keyPatcher is the patcher for a value v at one path: a key of a value
// object, or an operation's path. In a replace, null unassigns the
// attribute (RFC 7643 §2.5), which is a remove of that path.
// {"op":"replace","value":{"urn:…:endDate":null}} (a contract made
// open-ended) answered 200 and kept the end date, on which the scheduler
// would deprovision the worker; {"op":"replace","path":"title",
// "value":null} was invalidSyntax. Removing a required attribute, an
// immutable value or a readOnly one stays mutability; a removed active
// keeps the user's state (the handler's rule for remove).
func (pa *patcher) keyPatcher(v any) *patcher {
	if v != nil || pa.op != "replace" {
		return pa
	}
	rm := *pa
	rm.op = "remove"
	return &rm
}

// known reports whether p names an attribute, or an extension, of the
// resource type.
func (pa *patcher) known(p filter.Path) bool {
	_, ok := resolvePath(pa.rt, p.AttributePath)
	return ok
}

// clip shortens a client's key for an error detail.
func clip(k string) string {
	const n = 120
	if len(k) <= n {
		return k
	}
	i := n
	for i > 0 && !utf8.RuneStart(k[i]) {
		i--
	}
	return k[:i] + "…"
}

// schemaList names the resource type's schemas, for error details.
func (pa *patcher) schemaList() string {
	l := pa.rt.Schema.ID
	for _, e := range pa.rt.Extensions {
		l += ", " + e.Schema.ID
	}
	return l
}

// apply applies one operation at path p. lenient (inside a value object)
// ignores unknown attributes and readOnly ones left unchanged.
func (pa *patcher) apply(p filter.Path, v any, lenient bool) error {
	ref, ok := resolvePath(pa.rt, p.AttributePath)
	// An add of values to a multi-valued attribute, and a remove of whole
	// values with a filter, may be made on the index earlier operations
	// left for the list (patchRuns; applyFiltered decides for the remove).
	// Whatever else this call does may read a list or change one in
	// place: the indexes write their lists back and go first.
	adding := ok && pa.op == "add" && ref.attr != nil && ref.attr.MultiValued && ref.sub == nil &&
		p.ValueExpression == nil && ref.attr.Mutability != ReadOnly
	removing := pa.op == "remove" && p.ValueExpression != nil && p.SubAttribute == nil
	if !adding && !removing {
		pa.runs.settle()
	}
	if !ok {
		if lenient {
			return nil
		}
		return ErrInvalidPath("%s: %s is not an attribute of %s", pa.where, p.AttributePath.String(), pa.rt.Name)
	}
	if ref.attr == nil { // a whole extension
		if p.ValueExpression != nil || p.SubAttribute != nil {
			return ErrInvalidPath("%s: %s is a schema, not an attribute", pa.where, ref.ext)
		}
		if pa.op == "remove" {
			delete(pa.res, ref.ext)
			return nil
		}
		return pa.applyObject(ref.ext+":", v)
	}
	name := ref.name()
	if ref.attr.Mutability == ReadOnly || ref.sub != nil && ref.sub.Mutability == ReadOnly {
		if lenient && pa.unchanged(ref, v) {
			return nil
		}
		return ErrMutability("%s: %s is readOnly; the server sets it", pa.where, name)
	}
	container := pa.res
	if ref.ext != "" {
		m, _ := pa.res[ref.ext].(map[string]any)
		if m == nil {
			m = map[string]any{}
			pa.res[ref.ext] = m
		}
		container = m
	}
	if p.ValueExpression != nil {
		if ref.sub != nil || !ref.attr.MultiValued {
			return ErrInvalidPath("%s: brackets apply only to a multi-valued attribute, as in emails[type eq \"work\"]", pa.where)
		}
		return pa.applyFiltered(container, ref.attr, p, v, name)
	}
	a := ref.attr
	if ref.sub != nil {
		return pa.applySub(container, a, ref.sub, v, name)
	}
	if pa.op == "remove" {
		if a.Required {
			return ErrMutability("%s: %s is required and cannot be removed; replace it instead", pa.where, name)
		}
		if v != nil && a.MultiValued {
			return pa.removeListed(container, a, v, name)
		}
		return pa.checkImmutable(a, container[a.Name], nil, name, func() { delete(container, a.Name) })
	}
	nv, ok, err := normalizeValue(a, v, name, false)
	if err != nil || !ok {
		if err == nil && pa.op == "replace" && (a.MultiValued || a.Type != TypeComplex) {
			// A replace with [] or with a value that means none (a blank
			// endDate) unassigns; with {} it names no sub-attribute to
			// change.
			return pa.checkImmutable(a, container[a.Name], nil, name, func() { delete(container, a.Name) })
		}
		return err
	}
	cur := container[a.Name]
	switch {
	case a.MultiValued && pa.op == "add":
		vals := nv.([]any)
		list, reused := pa.runs.index(container, a, cur, len(vals))
		if reused && list.groups == nil {
			list.key() // a run of operations: key the list once, not compare with it each time
		}
		var added []int
		for _, x := range vals {
			if list.has(x) {
				continue
			}
			added = append(added, len(list.values))
			list.add(x)
		}
		list.fixPrimary(added)
		list.write()
	case a.Type == TypeComplex && !a.MultiValued:
		merged, _ := deepCopy(cur).(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		for k, x := range nv.(map[string]any) {
			merged[k] = x
		}
		return pa.checkImmutable(a, cur, merged, name, func() { container[a.Name] = merged })
	default:
		return pa.checkImmutable(a, cur, nv, name, func() { container[a.Name] = nv })
	}
	return nil
}

// applySub handles name.givenName-style paths without a filter.
func (pa *patcher) applySub(container map[string]any, a, sub *Attribute, v any, name string) error {
	if a.MultiValued {
		if pa.op != "remove" {
			return ErrInvalidPath("%s: say which values of %s to change with a filter, as in %s[type eq \"work\"].%s", pa.where, a.Name, a.Name, sub.Name)
		}
		if err := pa.checkSubRemovable(a, sub, asList(container[a.Name]), name, false); err != nil {
			return err
		}
		for _, el := range asList(container[a.Name]) {
			if m, ok := el.(map[string]any); ok {
				delete(m, sub.Name)
			}
		}
		return nil
	}
	parent, _ := container[a.Name].(map[string]any)
	if parent == nil {
		parent = map[string]any{}
	}
	set := func(x any) {
		if x == nil {
			delete(parent, sub.Name)
		} else {
			parent[sub.Name] = x
		}
		if len(parent) == 0 {
			delete(container, a.Name)
		} else {
			container[a.Name] = parent
		}
	}
	if pa.op == "remove" {
		if sub.Required {
			return ErrMutability("%s: %s is required and cannot be removed", pa.where, name)
		}
		return pa.checkImmutable(sub, parent[sub.Name], nil, name, func() { set(nil) })
	}
	sv, ok, err := normalizeValue(sub, v, name, false)
	if err != nil || !ok {
		return err
	}
	return pa.checkImmutable(sub, parent[sub.Name], sv, name, func() { set(sv) })
}

// applyFiltered handles attr[filter] and attr[filter].sub paths.
func (pa *patcher) applyFiltered(container map[string]any, a *Attribute, p filter.Path, v any, name string) error {
	f, err := compileFilter(pa.rt, a, p.ValueExpression)
	if err != nil {
		return err
	}
	var sub *Attribute
	if s := p.SubAttributeName(); s != "" {
		if sub = a.SubAttribute(s); sub == nil {
			return ErrInvalidPath("%s: %s has no sub-attribute %s", pa.where, a.Name, s)
		}
		if sub.Mutability == ReadOnly {
			return ErrMutability("%s: %s.%s is readOnly; the server sets it", pa.where, a.Name, sub.Name)
		}
		name += "." + sub.Name
	}
	if pa.op == "remove" && sub == nil && pa.runs.remove(container, a, f) {
		return nil // made on the list's index (patchRuns)
	}
	pa.runs.settle()
	list := asList(container[a.Name])
	var matched []int
	for i, el := range list {
		if f.eval(el) {
			matched = append(matched, i)
		}
	}
	var nv any
	unassign := pa.op == "remove"
	if !unassign {
		var ok bool
		if sub != nil {
			nv, ok, err = normalizeValue(sub, v, name, false)
		} else {
			nv, ok, err = normalizeSingle(a, v, name, false)
		}
		if err != nil {
			return err
		}
		switch {
		case !ok && sub != nil && pa.op == "replace" && sub.Type != TypeComplex:
			// A value that means none (a blank dateTime, as in
			// certifications[name eq "x"].expires = ""; see
			// normalizeSingle) unassigns, as a remove of the path does.
			// It was dropped, and the old expiry kept.
			unassign = true
		case !ok:
			// The value names nothing to write (an object of unknown
			// sub-attributes, or {}): nothing changes, whether or not a
			// value matches.
			return nil
		}
	}
	if unassign {
		if sub == nil {
			kept := make([]any, 0, len(list)-len(matched))
			for i, el := range list {
				if len(matched) > 0 && matched[0] == i {
					matched = matched[1:]
					continue
				}
				kept = append(kept, el)
			}
			list = kept
		} else {
			els := make([]any, len(matched))
			for j, i := range matched {
				els[j] = list[i]
			}
			if err := pa.checkSubRemovable(a, sub, els, name, true); err != nil {
				return err
			}
			for _, i := range matched {
				if m, ok := list[i].(map[string]any); ok {
					delete(m, sub.Name)
				}
			}
		}
		if len(list) == 0 {
			delete(container, a.Name)
		} else {
			container[a.Name] = list
		}
		return nil
	}
	if len(matched) == 0 {
		return pa.createFiltered(container, a, p, list, sub, nv)
	}
	for _, i := range matched {
		if sub == nil {
			if err := pa.checkSameIdentity(a, list[i], nv, name); err != nil {
				return err
			}
		}
		switch {
		case sub != nil:
			m, _ := list[i].(map[string]any)
			if m == nil {
				continue
			}
			if err := pa.checkImmutable(sub, m[sub.Name], nv, name, func() { m[sub.Name] = nv }); err != nil {
				return err
			}
		case pa.op == "replace" || a.Type != TypeComplex:
			list[i] = deepCopy(nv)
		default: // add with a filter: merge the given sub-attributes
			m, _ := list[i].(map[string]any)
			for k, x := range nv.(map[string]any) {
				m[k] = deepCopy(x)
			}
		}
	}
	container[a.Name] = fixPrimary(list, matched)
	return nil
}

// createFiltered handles an add or replace whose filter matches no value
// of the multi-valued complex attribute a: when the filter is made only of
// AND-ed "sub eq literal" clauses, it creates the value they describe with
// the operation's value in it (emails[type eq "work"].value creates
// {type: work, value}); otherwise it is noTarget.
//
// RFC 7644 §3.5.2.3 makes a replace that matches nothing noTarget, but
// Microsoft Entra sends Replace as often as Add for a value the target does
// not have yet (its provisioning service decides from its own previous
// state, not the target's), and puts every changed attribute in one PATCH:
// the 400 refused the whole request, a deactivation in it included, and
// Entra only logs and retries it. A replace that
// says which value it means creates it, as an add does. Members-like
// attributes (an immutable "value", a group's members) are the exception:
// a replace never adds a member, so it never grants a role.
func (pa *patcher) createFiltered(container map[string]any, a *Attribute, p filter.Path, list []any, sub *Attribute, nv any) error {
	el, canCreate := eqClauses(a, p.ValueExpression)
	switch {
	case pa.op == "replace" && (!canCreate || a.Type != TypeComplex || valueSet(a, nil) != nil):
		return ErrNoTarget("%s: no value of %s matches the filter in the path", pa.where, a.Name)
	case !canCreate || a.Type != TypeComplex:
		return ErrNoTarget("%s: no value of %s matches the filter in the path, and it does not say which value to create", pa.where, a.Name)
	}
	if sub != nil {
		el[sub.Name] = nv
	} else if m, isMap := nv.(map[string]any); isMap {
		for k, x := range m {
			el[k] = deepCopy(x)
		}
	}
	list = append(list, el)
	container[a.Name] = fixPrimary(list, []int{len(list) - 1})
	return nil
}

// removeListed removes the listed values of a multi-valued attribute. A
// listed value matches an element that is the same value (sameValue: for
// members, the same "value", whatever else either carries), or, for other
// complex values, one whose sub-attributes include all those listed.
func (pa *patcher) removeListed(container map[string]any, a *Attribute, v any, name string) error {
	nv, ok, err := normalizeValue(a, v, name, true)
	if err != nil || !ok {
		return err
	}
	// Listed values with a "value" of a members-like attribute match by
	// it, through a set; the others through matchListed's index.
	listed := valueSet(a, nil)
	var rest []any
	for _, x := range nv.([]any) {
		if k, ok := valueKey(a, x); ok && listed != nil {
			listed[k] = true
		} else {
			rest = append(rest, x)
		}
	}
	cur := asList(container[a.Name])
	var named []bool // the elements rest names
	if len(rest) > 0 {
		named = matchListed(a, cur, rest)
	}
	list := make([]any, 0, len(cur))
	for i, el := range cur {
		if k, ok := valueKey(a, el); ok && listed[k] || named != nil && named[i] {
			continue
		}
		list = append(list, el)
	}
	if len(list) == 0 {
		delete(container, a.Name)
	} else {
		container[a.Name] = list
	}
	return nil
}

// unchanged reports whether v, normalised, equals the current value at ref.
func (pa *patcher) unchanged(ref attrRef, v any) bool {
	c := pa.res
	if ref.ext != "" {
		c, _ = pa.res[ref.ext].(map[string]any)
	}
	cur := c[ref.attr.Name]
	t := ref.attr
	if ref.sub != nil {
		m, _ := cur.(map[string]any)
		cur, t = m[ref.sub.Name], ref.sub
	}
	nv, ok, err := normalizeValue(t, v, "", true)
	return err == nil && (reflect.DeepEqual(cur, nv) || !ok && cur == nil)
}

// checkImmutable runs set unless it would change an immutable value that
// is already assigned.
func (pa *patcher) checkImmutable(a *Attribute, cur, nv any, name string, set func()) error {
	if a.Mutability == Immutable && cur != nil && !reflect.DeepEqual(cur, nv) {
		return ErrMutability("%s: %s is immutable once set", pa.where, name)
	}
	set()
	return nil
}

// checkSameIdentity refuses a replace (or a merging add) of the whole
// matched value el of a members-like attribute a (an immutable "value":
// a group's members) with nv when that would change or drop el's value:
// members[value eq "u1"] replaced by {"value":"u5"} made u5 a member, and
// so gave u5 the group's role, through a replace; replaced by
// {"display":"x"} it left a member without its id. A member is added
// and removed, never rewritten into another.
func (pa *patcher) checkSameIdentity(a *Attribute, el, nv any, name string) error {
	v := a.SubAttribute("value")
	if a.Type != TypeComplex || v == nil || v.Mutability != Immutable {
		return nil
	}
	old, _ := el.(map[string]any)
	nm, _ := nv.(map[string]any)
	if old == nil || old["value"] == nil {
		return nil
	}
	x, given := nm["value"]
	if pa.op == "replace" && !given || given && !reflect.DeepEqual(x, old["value"]) {
		return ErrMutability("%s: %s.value is immutable: a %s cannot change which %s a value is; remove it and add the other", pa.where, name, pa.op, a.Name)
	}
	return nil
}

// checkSubRemovable refuses to unassign sub, a required or immutable
// sub-attribute of the multi-valued complex attribute a, in any of els,
// the values a remove (or a null or blank replace) targets: RFC 7644
// §3.5.2 makes that mutability. A group member without its "value" (the
// user's id) or a shift without its start is no value at all;
// members[value eq "u1"].value was applied, and the hub then refused the
// group as invalidValue ("each member needs a value"). Values that lack
// sub lose nothing and pass, so a path that matches nothing stays a
// no-op. filtered says whether a filter chose els (attr[filter].sub, not
// attr.sub), for the hint.
func (pa *patcher) checkSubRemovable(a, sub *Attribute, els []any, name string, filtered bool) error {
	if !sub.Required && sub.Mutability != Immutable {
		return nil
	}
	for _, el := range els {
		if m, _ := el.(map[string]any); m[sub.Name] == nil {
			continue
		}
		switch {
		case sub.Required:
			return ErrMutability("%s: %s is required in every %s value and cannot be removed; remove the value, or replace it", pa.where, name, a.Name)
		case filtered:
			return ErrMutability("%s: %s is immutable once set and cannot be removed; to remove the whole %s value, leave .%s off the path", pa.where, name, a.Name, sub.Name)
		default:
			return ErrMutability("%s: %s is immutable once set and cannot be removed; to remove whole %s values, name them with a filter, as in %s[%s eq \"…\"]", pa.where, name, a.Name, a.Name, sub.Name)
		}
	}
	return nil
}

// sameValue reports whether two normalised values of a multi-valued
// attribute are the same value: equal, strings compared as a's caseExact
// says and the sub-attributes of complex values as each one's does
// (subEqual), or (for members-like attributes with an immutable "value")
// equal in "value".
func sameValue(a *Attribute, x, y any) bool {
	if jsonEqual(x, y) {
		return true
	}
	if s, ok := x.(string); ok && !a.CaseExact {
		t, ok := y.(string)
		return ok && strings.EqualFold(s, t)
	}
	mx, isObject := x.(map[string]any)
	my, _ := y.(map[string]any)
	if membersLike(a) && mx["value"] != nil {
		return jsonEqual(mx["value"], my["value"])
	}
	if !isObject || my == nil || len(mx) != len(my) {
		return false
	}
	for k, v := range mx {
		w, ok := my[k]
		if !ok || !subEqual(a, k, v, w) {
			return false
		}
	}
	return true
}

// subEqual reports whether v and w are the same value of sub-attribute k
// of a complex attribute a: strings of a sub-attribute that is not
// caseExact (foldsSub) compared as strings.EqualFold does (RFC 7643
// §2.4: emails.value is caseExact false, so "SOLO@x.com" names the
// address stored as "solo@x.com"), others by jsonEqual.
func subEqual(a *Attribute, k string, v, w any) bool {
	if s, ok := v.(string); ok && foldsSub(a, k) {
		t, ok := w.(string)
		return ok && strings.EqualFold(s, t)
	}
	return jsonEqual(v, w)
}

// foldsSub reports whether the string values of sub-attribute k of a are
// compared without case: k is a string sub-attribute that is not
// caseExact. A members-like attribute's "value" is not: it is the
// member's id, which normalisation folds already (FoldUUID) and which
// valueKey, and so every set of members, compares exactly.
func foldsSub(a *Attribute, k string) bool {
	if k == "value" && membersLike(a) {
		return false
	}
	sub := a.SubAttribute(k)
	return sub != nil && sub.Type == TypeString && !sub.CaseExact
}

// membersLike reports whether a's values are told apart by an immutable
// "value" (a group's members): two values with the same one are the same
// value (sameValue).
func membersLike(a *Attribute) bool {
	v := a.SubAttribute("value")
	return v != nil && v.Mutability == Immutable
}

// valueKey is the "value" of x when a is a members-like attribute (an
// immutable "value": two elements with the same one are the same value,
// see sameValue) and x has a string one.
func valueKey(a *Attribute, x any) (string, bool) {
	if !membersLike(a) {
		return "", false
	}
	m, _ := x.(map[string]any)
	s, ok := m["value"].(string)
	return s, ok
}

// valueSet is the set of the valueKeys of list, or nil when a is not
// members-like: a group of thousands is compared in linear time, not
// each new member against every member.
func valueSet(a *Attribute, list []any) map[string]bool {
	if !membersLike(a) {
		return nil
	}
	set := make(map[string]bool, len(list))
	for _, el := range list {
		if k, ok := valueKey(a, el); ok {
			set[k] = true
		}
	}
	return set
}

// subsetOf reports whether x, a value a remove lists, names el: x is an
// object each of whose sub-attributes el has with the same value
// (subEqual: without case where the sub-attribute is not caseExact), or
// not an object and the same value as el (sameValue).
func subsetOf(a *Attribute, x, el any) bool {
	mx, ok := x.(map[string]any)
	if !ok {
		return sameValue(a, x, el)
	}
	me, _ := el.(map[string]any)
	for k, v := range mx {
		if !subEqual(a, k, v, me[k]) {
			return false
		}
	}
	return true
}

// fixPrimary clears "primary" on every element but the last of keep that
// has it (RFC 7644 §3.5.2: setting primary on one value unsets the others).
func fixPrimary(list []any, keep []int) []any {
	winner := -1
	for _, i := range keep {
		if m, ok := list[i].(map[string]any); ok && m["primary"] == true {
			winner = i
		}
	}
	if winner < 0 {
		return list
	}
	for i, el := range list {
		if m, ok := el.(map[string]any); ok && i != winner && m["primary"] == true {
			delete(m, "primary")
		}
	}
	return list
}

// eqClauses turns a filter made only of AND-ed "sub eq literal" clauses
// into the value they describe, e.g. [type eq "work"] into {type: work}.
func eqClauses(a *Attribute, e filter.Expression) (map[string]any, bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		sub := a.SubAttribute(e.AttributePath.AttributeName)
		if sub == nil || e.AttributePath.URIPrefix != nil || e.AttributePath.SubAttribute != nil ||
			!strings.EqualFold(string(e.Operator), string(filter.EQ)) || e.CompareValue == nil {
			return nil, false
		}
		v := e.CompareValue
		if s, ok := v.(string); ok {
			if json.Unmarshal([]byte(`"`+s+`"`), &s) != nil {
				return nil, false
			}
			v = s
		}
		return map[string]any{sub.Name: v}, true
	case *filter.LogicalExpression:
		if !strings.EqualFold(string(e.Operator), string(filter.AND)) {
			return nil, false
		}
		l, ok := eqClauses(a, e.Left)
		if !ok {
			return nil, false
		}
		r, ok := eqClauses(a, e.Right)
		for k, v := range r {
			l[k] = v
		}
		return l, ok
	}
	return nil, false
}
