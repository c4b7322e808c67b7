package scim

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	filter "github.com/scim2/filter-parser/v2"
)

// Normalize validates a client's resource body (POST or PUT) against rt and
// returns it in canonical form (see the package comment). The input is not
// modified and shares nothing with the result.
//
//   - Attribute names match case-insensitively, sub-attributes and extension
//     URN keys included. A key may also be URN-qualified
//     ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
//     lands under the enterprise extension) or dotted ("name.givenName").
//   - "schemas" must list rt's core schema (invalidSyntax otherwise); an
//     extension URN listed there that rt does not have is ignored, like its
//     data (see normalizeResource). The result's "schemas" is the core URN
//     plus each extension that has data, whether or not the client listed
//     it.
//   - Unknown attributes are ignored (RFC 7644 §3.3). readOnly attributes
//     (id, meta, groups, manager.displayName) are dropped: the server owns
//     them. writeOnly attributes (password) are dropped too: Shiftgate
//     stores no secrets it does not use.
//   - null, [] and {} mean unassigned and are left out. So does a blank
//     string for a dateTime or for an attribute limited to its canonical
//     values (employmentType): it can be neither, and identity providers
//     and HR connectors send "" for an unset source attribute ("endDate":
//     "" is an open-ended contract); it was invalidValue, which refused
//     the joiner's whole create.
//   - Type errors are invalidValue. Booleans may be strings "true"/"false"
//     in any case (Microsoft Entra sends "True"). A plain string for a
//     single-valued complex attribute with a "value" sub-attribute is read
//     as {"value": s} (Entra sends the enterprise manager that way). A
//     single value for a multi-valued attribute is read as a list of one.
//   - dateTimes are RFC 3339 / xsd:dateTime (no offset means UTC) and are
//     stored in UTC. Attributes with a DateOnly rule (Shiftgate startDate,
//     endDate) also take a bare date ("2026-12-01"), which is kept as the
//     date it is: a calendar day means that day where the user works, so
//     no instant can stand for it here; see DateOnly.
//   - Values that are equal after normalisation are stored once; more than
//     one "primary": true in a multi-valued attribute is invalidValue.
//   - Required attributes (userName, Group displayName, and required
//     sub-attributes of values present) must be present and not blank.
func Normalize(rt *ResourceType, in map[string]any) (map[string]any, error) {
	return normalizeResource(rt, in, false)
}

// attrRef is a resolved attribute path: an attribute of the core schema
// (ext == "") or of an extension, optionally one of its sub-attributes. A
// nil attr means the extension object as a whole.
type attrRef struct {
	ext  string
	attr *Attribute
	sub  *Attribute
}

// name is the canonical spelling of r, for error details.
func (r attrRef) name() string {
	s := r.ext
	if r.attr != nil {
		if s != "" {
			s += ":"
		}
		s += r.attr.Name
	}
	if r.sub != nil {
		s += "." + r.sub.Name
	}
	return s
}

// lookup returns attribute name of the core schema (ext "") or of the
// extension ext, or nil.
func (rt *ResourceType) lookup(ext, name string) *Attribute {
	if ext == "" {
		return rt.Attribute(name)
	}
	if s := rt.Extension(ext); s != nil {
		return s.Attribute(name)
	}
	return nil
}

// resolvePath resolves a parsed attribute path against rt. Unprefixed
// names are core (or common) attributes, as RFC 7644 §3.10 requires.
func resolvePath(rt *ResourceType, p filter.AttributePath) (attrRef, bool) {
	uri, name, sub := p.URI(), p.AttributeName, p.SubAttributeName()
	var r attrRef
	switch {
	case uri == "" || strings.EqualFold(uri, rt.Schema.ID):
		r.attr = rt.Attribute(name)
	case rt.Extension(uri) != nil:
		r.ext = rt.Extension(uri).ID
		r.attr = rt.lookup(r.ext, name)
	case rt.Extension(uri+":"+name) != nil && sub == "":
		return attrRef{ext: rt.Extension(uri + ":" + name).ID}, true
	}
	if r.attr == nil {
		return attrRef{}, false
	}
	if sub != "" {
		if r.sub = r.attr.SubAttribute(sub); r.sub == nil {
			return attrRef{}, false
		}
	}
	return r, true
}

// resolveName resolves an attribute name as written in a body key or an
// attributes= list: plain, dotted, URN-qualified, or an extension URN. It
// reads the name itself, as filter.ParseAttrPath and resolvePath would:
// the parser took some 100 µs a name, and projections resolve their
// names for every resource of a list (a page of 1,000 users asked for with
// a few dozen dotted names took seconds).
func resolveName(rt *ResourceType, key string) (attrRef, bool) {
	if !strings.ContainsAny(key, ":.") {
		a := rt.Attribute(key)
		return attrRef{attr: a}, a != nil
	}
	if s := rt.Extension(key); s != nil {
		return attrRef{ext: s.ID}, true
	}
	ext, rest := "", key
	if strings.Contains(key, ":") {
		urn := ""
		for _, id := range rt.schemaIDs() {
			if len(id) > len(urn) && len(key) > len(id)+1 && key[len(id)] == ':' && strings.EqualFold(key[:len(id)], id) {
				urn = id
			}
		}
		if urn == "" {
			return attrRef{}, false
		}
		if urn != rt.Schema.ID {
			ext = urn
		}
		rest = key[len(urn)+1:]
	}
	name, sub, dotted := strings.Cut(rest, ".")
	if !plainAttrName(name) || dotted && !plainAttrName(sub) && !strings.EqualFold(sub, "$ref") {
		return attrRef{}, false
	}
	r := attrRef{ext: ext, attr: rt.lookup(ext, name)}
	if r.attr == nil {
		return attrRef{}, false
	}
	if dotted {
		if r.sub = r.attr.SubAttribute(sub); r.sub == nil {
			return attrRef{}, false
		}
	}
	return r, true
}

// schemaIDs returns the URNs of rt's core schema and of its extensions.
func (rt *ResourceType) schemaIDs() []string {
	ids := make([]string, 0, 1+len(rt.Extensions))
	ids = append(ids, rt.Schema.ID)
	for _, e := range rt.Extensions {
		ids = append(ids, e.Schema.ID)
	}
	return ids
}

func normalizeResource(rt *ResourceType, in map[string]any, keepReadOnly bool) (map[string]any, error) {
	var listed []string
	keys := sortedKeys(in)
	for _, k := range keys {
		if !strings.EqualFold(k, "schemas") {
			continue
		}
		l, ok := anyList(in[k])
		if !ok {
			return nil, ErrInvalidSyntax("schemas must be an array of schema URNs, including %q", rt.Schema.ID)
		}
		for _, u := range l {
			s, ok := u.(string)
			if !ok {
				return nil, ErrInvalidSyntax("schemas must be an array of schema URNs, including %q", rt.Schema.ID)
			}
			listed = append(listed, s)
		}
	}
	if !slices.ContainsFunc(listed, func(s string) bool { return strings.EqualFold(s, rt.Schema.ID) }) {
		return nil, ErrInvalidSyntax("schemas must include %q for a %s resource", rt.Schema.ID, rt.Name)
	}
	// Extension URNs this server does not know are ignored like unknown
	// attributes (RFC 7644 §3.3): Microsoft Entra lists
	// "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
	// on every group it creates.
	out := map[string]any{}
	// Plain keys and extension objects first, so that a qualified or dotted
	// key ("name.givenName") refines what the plain key set.
	for pass := range 2 {
		for _, k := range keys {
			if strings.EqualFold(k, "schemas") {
				continue
			}
			isExt := rt.Extension(k) != nil
			qualified := !isExt && strings.ContainsAny(k, ":.")
			if qualified != (pass == 1) {
				continue
			}
			ref, ok := resolveName(rt, k)
			if !ok {
				continue
			}
			if err := setRef(rt, out, ref, in[k], keepReadOnly); err != nil {
				return nil, err
			}
		}
	}
	return finishResource(rt, out)
}

// finishResource checks required attributes and computes "schemas".
func finishResource(rt *ResourceType, out map[string]any) (map[string]any, error) {
	if err := checkRequired(rt.Schema, out, ""); err != nil {
		return nil, err
	}
	schemas := []any{rt.Schema.ID}
	for _, e := range rt.Extensions {
		m, _ := out[e.Schema.ID].(map[string]any)
		if len(m) == 0 {
			delete(out, e.Schema.ID)
			if e.Required {
				return nil, ErrInvalidValue("the %s extension is required for %s", e.Schema.ID, rt.Name)
			}
			continue
		}
		if err := checkRequired(e.Schema, m, e.Schema.ID+":"); err != nil {
			return nil, err
		}
		schemas = append(schemas, e.Schema.ID)
	}
	out["schemas"] = schemas
	return out, nil
}

func checkRequired(s *Schema, m map[string]any, prefix string) error {
	for _, a := range s.Attributes {
		if a.Required && blank(m[a.Name]) {
			return ErrInvalidValue("%s%s is required and must not be empty", prefix, a.Name)
		}
	}
	return nil
}

func blank(v any) bool {
	s, isStr := v.(string)
	return v == nil || isStr && strings.TrimSpace(s) == ""
}

// setRef normalises v for ref and stores it in the resource out (setting,
// not merging, except that a sub-attribute is set inside its parent).
func setRef(rt *ResourceType, out map[string]any, ref attrRef, v any, keepReadOnly bool) error {
	if ref.attr == nil { // a whole extension object
		if v == nil {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return ErrInvalidValue("%s must be a JSON object of extension attributes", ref.ext)
		}
		for _, k := range sortedKeys(m) {
			name, sub, _ := strings.Cut(k, ".")
			a := rt.lookup(ref.ext, name)
			if a == nil {
				continue
			}
			r := attrRef{ext: ref.ext, attr: a}
			if sub != "" {
				if r.sub = a.SubAttribute(sub); r.sub == nil {
					continue
				}
			}
			if err := setRef(rt, out, r, m[k], keepReadOnly); err != nil {
				return err
			}
		}
		return nil
	}
	if !writable(ref.attr, keepReadOnly) || ref.sub != nil && !writable(ref.sub, keepReadOnly) {
		return nil
	}
	container := out
	if ref.ext != "" {
		m, _ := out[ref.ext].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[ref.ext] = m
		}
		container = m
	}
	a := ref.attr
	if ref.sub == nil {
		nv, ok, err := normalizeValue(a, v, ref.name(), keepReadOnly)
		if err != nil {
			return err
		}
		if ok {
			container[a.Name] = nv
		} else {
			delete(container, a.Name)
		}
		return nil
	}
	if a.MultiValued {
		return nil // "emails.value" as a key is ambiguous; PATCH paths with a filter say which
	}
	sv, ok, err := normalizeValue(ref.sub, v, ref.name(), keepReadOnly)
	if err != nil {
		return err
	}
	parent, _ := container[a.Name].(map[string]any)
	if parent == nil {
		parent = map[string]any{}
	}
	if ok {
		parent[ref.sub.Name] = sv
	} else {
		delete(parent, ref.sub.Name)
	}
	if len(parent) == 0 {
		delete(container, a.Name)
		return nil
	}
	container[a.Name] = parent
	return checkSubRequired(a, parent, ref.name())
}

func writable(a *Attribute, keepReadOnly bool) bool {
	return a.Mutability != WriteOnly && (keepReadOnly || a.Mutability != ReadOnly)
}

// normalizeValue normalises v for attribute a; ok is false when the result
// is unassigned.
func normalizeValue(a *Attribute, v any, name string, keepReadOnly bool) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	if !a.MultiValued {
		return normalizeSingle(a, v, name, keepReadOnly)
	}
	items, isList := anyList(v)
	if !isList {
		items = []any{v}
	}
	out := make([]any, 0, len(items))
	primaries := 0
	// Duplicates are found by their JSON encoding (canonical for decoded
	// JSON values: json.Marshal sorts map keys), not by comparing each
	// value with every earlier one: a group of 10,000 members took 50
	// million reflect.DeepEqual calls, seconds of CPU per request.
	var seen map[string]bool
	if len(items) > 1 {
		seen = make(map[string]bool, len(items))
	}
	for _, it := range items {
		nv, ok, err := normalizeSingle(a, it, name, keepReadOnly)
		if err != nil || !ok {
			if err != nil {
				return nil, false, err
			}
			continue
		}
		if seen != nil {
			key, err := json.Marshal(nv)
			if err != nil {
				// Not JSON-encodable (not from a request body): compare.
				if slices.ContainsFunc(out, func(x any) bool { return reflect.DeepEqual(x, nv) }) {
					continue
				}
			} else if seen[string(key)] {
				continue
			} else {
				seen[string(key)] = true
			}
		}
		if m, _ := nv.(map[string]any); m["primary"] == true {
			primaries++
		}
		out = append(out, nv)
	}
	if primaries > 1 {
		return nil, false, ErrInvalidValue("%s has more than one value with primary true; mark at most one value primary", name)
	}
	return out, len(out) > 0, nil
}

func normalizeSingle(a *Attribute, v any, name string, keepReadOnly bool) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	switch a.Type {
	case TypeComplex:
		m, ok := v.(map[string]any)
		if s, isStr := v.(string); isStr && !a.MultiValued && a.SubAttribute("value") != nil {
			m, ok = map[string]any{"value": s}, true
		}
		if !ok {
			return nil, false, ErrInvalidValue("%s must be a JSON object with sub-attributes such as %q", name, a.SubAttributes[0].Name)
		}
		out := map[string]any{}
		for _, k := range sortedKeys(m) {
			sub := a.SubAttribute(k)
			if sub == nil || !writable(sub, keepReadOnly) {
				continue
			}
			sv, ok, err := normalizeValue(sub, m[k], name+"."+sub.Name, keepReadOnly)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out[sub.Name] = sv
			}
		}
		if len(out) == 0 {
			return nil, false, nil
		}
		return out, true, checkSubRequired(a, out, name)
	case TypeString, TypeReference:
		s, ok := v.(string)
		if !ok {
			return nil, false, ErrInvalidValue("%s must be a string", name)
		}
		if a.StrictCanonical {
			if strings.TrimSpace(s) == "" {
				return nil, false, nil // no value (see Normalize)
			}
			i := slices.IndexFunc(a.CanonicalValues, func(c string) bool { return strings.EqualFold(c, s) })
			if i < 0 {
				return nil, false, ErrInvalidValue("%s must be one of: %s", name, strings.Join(a.CanonicalValues, ", "))
			}
			s = a.CanonicalValues[i]
		}
		if a.FoldUUID {
			s = foldUUID(s)
		}
		return s, true, nil
	case TypeBinary:
		s, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(s); !ok || err != nil {
			return nil, false, ErrInvalidValue("%s must be a base64-encoded string", name)
		}
		return s, true, nil
	case TypeBoolean:
		switch b := v.(type) {
		case bool:
			return b, true, nil
		case string:
			if strings.EqualFold(b, "true") || strings.EqualFold(b, "false") {
				return strings.EqualFold(b, "true"), true, nil
			}
		}
		return nil, false, ErrInvalidValue("%s must be true or false", name)
	case TypeInteger:
		f, ok := toFloat(v)
		if n, isNum := v.(json.Number); isNum {
			if i, err := n.Int64(); err == nil {
				return i, true, nil
			}
		}
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, false, ErrInvalidValue("%s must be an integer", name)
		}
		return int64(f), true, nil
	case TypeDecimal:
		f, ok := toFloat(v)
		if !ok {
			return nil, false, ErrInvalidValue("%s must be a number", name)
		}
		return f, true, nil
	case TypeDateTime:
		s, isStr := v.(string)
		if isStr && strings.TrimSpace(s) == "" {
			return nil, false, nil // no date (see Normalize)
		}
		if a.DateOnly != DateOnlyReject {
			if _, err := time.Parse(time.DateOnly, s); err == nil {
				return s, true, nil // a calendar day, kept as sent
			}
		}
		t, ok := parseDateTime(s, a.DateOnly)
		if !ok {
			hint := ""
			if a.DateOnly != DateOnlyReject {
				hint = " or a date like 2026-12-01"
			}
			return nil, false, ErrInvalidValue("%s must be a date-time like 2026-12-01T06:00:00Z%s", name, hint)
		}
		return t.UTC().Format(time.RFC3339Nano), true, nil
	}
	return nil, false, ErrInvalidValue("%s has an unsupported type", name)
}

func checkSubRequired(a *Attribute, m map[string]any, name string) error {
	for _, s := range a.SubAttributes {
		if s.Required && blank(m[s.Name]) {
			return ErrInvalidValue("%s.%s is required in every %s value", name, s.Name, a.Name)
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsInf(n, 0) && !math.IsNaN(n)
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

// parseDateTime parses an xsd:dateTime: RFC 3339, or without an offset
// (read as UTC); and, where the attribute allows it, a bare date, read as
// that day in UTC (filters compare a stored bare date that way: which day
// it is where the user works is the hub's business, not the filter's).
//
// The instant must be writable in RFC 3339 in UTC (years 0000 to 9999),
// since canonical resources hold it that way and read it back: a later
// one is the last instant of 9999 (the end of the day "9999-12-31", which
// HR systems send for an open-ended contract, is in year 10000), an
// earlier one is invalid.
func parseDateTime(s string, mode DateOnly) (time.Time, bool) {
	t, ok := parseDateTimeText(s, mode)
	if !ok {
		return time.Time{}, false
	}
	switch u := t.UTC(); {
	case u.Year() > 9999:
		return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), true
	case u.Year() < 0:
		return time.Time{}, false
	}
	return t, true
}

func parseDateTimeText(s string, mode DateOnly) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	if mode == DateOnlyReject {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, false
	}
	if mode == DateOnlyEndOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

// anyList returns v as a []any when it is a slice of JSON-like values, so
// resources built in Go with []string or []map[string]any work too.
func anyList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// deepCopy copies the JSON-like value v so that no map or slice is shared.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	case []string, []map[string]any:
		l, _ := anyList(x)
		return deepCopy(l)
	}
	return v
}

// foldUUID returns s in lower case when it is a UUID in the standard
// 8-4-4-4-12 form, and s as it is otherwise: only that form is how the hub
// writes ids, and another string is no id of the hub's in any case.
func foldUUID(s string) string {
	if len(s) != 36 {
		return s
	}
	if _, err := uuid.Parse(s); err != nil {
		return s
	}
	return strings.ToLower(s)
}
