package scim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/shiftgate/shiftgate/hub/store"
)

// maxFilterLen bounds the filter text the parser is given: IdPs send short
// filters, and the parser backtracks.
const maxFilterLen = 4096

// maxFilterDepth bounds how deeply a filter or a PATCH path nests
// parentheses and brackets. The parser's time grows with the square of the
// nesting: a filter or path of 4 KiB nested parentheses took 0.2-0.4 s to
// parse, and one PATCH body holds hundreds of paths, so one request kept a
// core busy for a minute. Identity providers nest two or three levels.
const maxFilterDepth = 32

// nestingDepth returns the deepest nesting of parentheses and brackets in
// s, outside quoted strings.
func nestingDepth(s string) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++ // the escaped character
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == ')' || c == ']':
			depth--
		}
	}
	return deepest
}

// Filter is a parsed, schema-checked SCIM filter (RFC 7644 §3.4.2.2). It is
// immutable and safe for concurrent use. A nil *Filter matches everything.
type Filter struct {
	root fnode
	src  string
}

// ParseFilter parses s with github.com/scim2/filter-parser/v2 and checks it
// against rt. Every error is an *Error with scimType invalidFilter.
//
// Decisions:
//   - Attribute names, operators and URN prefixes are case-insensitive;
//     unprefixed names are core attributes (or id, externalId, meta,
//     schemas); extension attributes need their URN prefix.
//   - A name the schema does not define (or an unknown URN prefix) is an
//     unassigned attribute: the expression matches no resource. Entra
//     probes with admin-configured matching attributes and reads an empty
//     list as "create"; a 400 would stop provisioning of that user.
//   - Every comparison means "some value of the attribute satisfies it", so
//     "ne", like the rest, never matches an unassigned attribute; use
//     not (x eq "v") to include those.
//   - "attr eq null" means "not attr pr", "attr ne null" means "attr pr";
//     so "attr eq null" holds for an unassigned attribute.
//   - Types follow the schema: dateTime compares as instants, integer and
//     decimal numerically, strings by caseExact; booleans take only eq/ne;
//     gt/ge/lt/le on boolean or binary, co/sw/ew on numbers, and a value of
//     the wrong JSON type are invalidFilter.
//   - A complex attribute compared without a sub-attribute compares its
//     "value" sub-attribute. Inside brackets, "value" of a simple
//     multi-valued attribute is the element itself: sites[value eq "x"].
//   - The parser allows at most two expressions joined inside brackets
//     (emails[type eq "work" and value co "@x"]); for more, repeat the
//     bracket: emails[type eq "work"] and emails[value co "@x"].
//   - Spaces, tabs and line ends around the whole filter are dropped.
//     RFC 7644's grammar has none there, but clients send them (a "+" or
//     a newline left at either end of the query parameter), and other
//     SCIM servers take them: Ping Identity's SCIM 2 SDK trims the filter
//     before parsing it. A 400 invalidFilter stopped the IdP's matching
//     of a user, and with it the user's provisioning. Spaces inside the
//     filter, and inside its quoted strings, are left as they are.
func ParseFilter(rt *ResourceType, s string) (*Filter, error) {
	s = strings.Trim(s, " \t\r\n")
	if len(s) > maxFilterLen {
		return nil, ErrInvalidFilter("the filter is longer than %d bytes; narrow it", maxFilterLen)
	}
	if strings.TrimSpace(s) == "" {
		return nil, ErrInvalidFilter("the filter is empty; write an expression like userName eq \"bjensen\"")
	}
	if nestingDepth(s) > maxFilterDepth {
		return nil, ErrInvalidFilter("the filter nests parentheses and brackets more than %d deep; flatten it", maxFilterDepth)
	}
	expr, err := parseFilterText(s)
	if err != nil {
		if alt, ok := entraValuePath(s); ok {
			expr, err = parseFilterText(alt)
		}
	}
	if err != nil {
		return nil, ErrInvalidFilter("the filter is not valid RFC 7644 §3.4.2.2 syntax; write expressions like userName eq \"bjensen\", quote strings with \", and join expressions with and/or")
	}
	root, err := compileFilter(rt, nil, expr)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root, src: s}, nil
}

// parseFilterText parses a filter, the common equality without the parser.
func parseFilterText(s string) (filter.Expression, error) {
	if e, ok := simpleEquality(s); ok {
		return e, nil
	}
	return parseSafely("filter", filter.ParseFilterNumber, s)
}

// parseSafely calls one of filter-parser's functions on s, turning a panic
// inside it into an error.
func parseSafely[T any](what string, parse func([]byte) (T, error), s string) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("%s parser panic: %v", what, r)
		}
	}()
	return parse(upperEscapes(s))
}

// upperEscapes returns s with the hex digits of each \uXXXX escape inside
// a quoted string in upper case. RFC 7644's strings are JSON strings,
// whose escapes take either case (RFC 8259 §7, ABNF's HEXDIG), and
// encoders write lower case (Python's json, JavaScript's JSON.stringify
// for control characters, Go's for <, > and &); filter-parser's grammar
// takes only upper case. The digits' case does not change the character,
// which compileFilter decodes from the escape as written.
func upperEscapes(s string) []byte {
	b := []byte(s)
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			if i+5 < len(b) && b[i+1] == 'u' {
				for j := i + 2; j < i+6; j++ {
					if 'a' <= b[j] && b[j] <= 'f' {
						b[j] -= 'a' - 'A'
					}
				}
			}
			i++ // the escaped character
		case c == '"':
			inString = !inString
		}
	}
	return b
}

// simpleEquality recognises the one filter form identity providers send on
// every provisioning call, `attr eq "value"` with a plain attribute name, one
// space on either side of eq and no quote, backslash or control character in
// the value, and builds the AST filter-parser would build for it. Profiling
// showed the general parser costing more than the rest of a lookup; every
// other form still goes to the parser. TestSimpleEqualityMatchesParser and
// FuzzSimpleEquality hold the two to the same result.
func simpleEquality(s string) (filter.Expression, bool) {
	name, rest, ok := strings.Cut(s, " ")
	if !ok || len(rest) < 5 || !strings.EqualFold(rest[:3], "eq ") {
		return nil, false
	}
	if !plainAttrName(name) {
		return nil, false
	}
	quoted := rest[3:]
	if len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
		return nil, false
	}
	value := quoted[1 : len(quoted)-1]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
			return nil, false
		}
	}
	if !utf8.ValidString(value) {
		return nil, false
	}
	return &filter.AttributeExpression{
		AttributePath: filter.AttributePath{AttributeName: name},
		Operator:      filter.EQ,
		CompareValue:  value,
	}, true
}

// entraSubRe matches what follows the closing bracket in Microsoft
// Entra's `attr[filter].sub op value`, which RFC 7644's grammar does not
// allow but Entra sends when it matches users on a multi-valued attribute
// (emails[type eq "work"].value eq "a@b.c"): the sub-attribute, the
// operator and the comparison value (a quoted string, true, false, null or
// a number; none after pr), up to the end of the filter, a space or a
// closing parenthesis.
var entraSubRe = regexp.MustCompile(`(?i)^\.([a-z][\w-]*)\s+(?:(pr)|(eq|ne|co|sw|ew|gt|ge|lt|le)\s+("(?:[^"\\]|\\.)*"|true|false|null|-?[0-9][0-9.e+-]*))(?:$|[\s)])`)

// entraValuePath rewrites each of Entra's value paths in s,
// attr[filter].sub op value, into the equivalent RFC form
// attr[filter and sub op value], wherever it stands: Entra joins one with
// other clauses (userName eq "a" and emails[type eq "work"].value eq "x"),
// and a rewrite of the whole filter only refused those as invalidFilter.
// ok is false when there is none to rewrite. An inner filter with "or" is
// left alone: grouping inside brackets would change its meaning, and the
// parser takes none.
func entraValuePath(s string) (string, bool) {
	var (
		b        strings.Builder
		copied   int  // s[:copied] is in b
		open     = -1 // the index of the '[' of the bracket s[i] is in
		inString bool
		changed  bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString && c == '\\':
			i++ // the escaped character
		case c == '"':
			inString = !inString
		case inString:
		case c == '[':
			open = i
		case c == ']' && open >= 0:
			inner := s[open+1 : i]
			open = -1
			m := entraSubRe.FindStringSubmatchIndex(s[i+1:])
			if m == nil || orRe.MatchString(inner) {
				continue
			}
			// The clause ends with pr or with the value; the separator
			// after it stays where it is.
			sub, op, end := s[i+1+m[2]:i+1+m[3]], "pr", i+1+m[5]
			if m[4] < 0 {
				op, end = s[i+1+m[6]:i+1+m[7]]+" "+s[i+1+m[8]:i+1+m[9]], i+1+m[9]
			}
			b.WriteString(s[copied:i])
			b.WriteString(" and " + sub + " " + op + "]")
			copied, i, changed = end, end-1, true
		}
	}
	if !changed {
		return "", false
	}
	b.WriteString(s[copied:])
	return b.String(), true
}

var orRe = regexp.MustCompile(`(?i)\sor\s`)

// String returns the filter as given.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}

// Match reports whether the canonical resource res (as produced by
// Normalize or ApplyPatch) satisfies the filter.
func (f *Filter) Match(res map[string]any) bool {
	return f == nil || f.root.eval(res)
}

// Equality reports a clause that every match must satisfy and that an index
// can answer: `userName`, `externalId`, `id` or `displayName` eq a string,
// at the top level or AND-ed there (the first such clause from the left).
// attr is the canonical name. The handler narrows candidates with it and
// must still call Match on each. userName and displayName compare
// case-insensitively, so their index lookup must fold case; id and
// externalId are exact.
func (f *Filter) Equality() (attr, value string, ok bool) {
	return f.EqualityOn("userName", "externalId", "id", "displayName")
}

// EqualityOn is Equality restricted to the attributes indexed (canonical
// names): the first clause from the left, at the top level or AND-ed
// there, that is one of them eq a string. A store that indexes userName
// but not displayName asks for userName, so that in
// displayName eq "A" and userName eq "b" the userName clause narrows the
// candidates and the displayName one is matched on them.
func (f *Filter) EqualityOn(indexed ...string) (attr, value string, ok bool) {
	if f == nil {
		return "", "", false
	}
	return equality(f.root, indexed)
}

func equality(n fnode, indexed []string) (string, string, bool) {
	switch n := n.(type) {
	case *logicNode:
		if !n.and {
			return "", "", false
		}
		if a, v, ok := equality(n.l, indexed); ok {
			return a, v, ok
		}
		return equality(n.r, indexed)
	case *cmpNode:
		s, isStr := n.raw.(string)
		if n.op != filter.EQ || !isStr || n.ref.ext != "" || n.ref.sub != nil || n.inBracket {
			return "", "", false
		}
		if slices.Contains(indexed, n.ref.attr.Name) {
			return n.ref.attr.Name, s, true
		}
	}
	return "", "", false
}

// fnode is a compiled filter node; v is the resource, or the element of a
// multi-valued attribute inside brackets.
type fnode interface{ eval(v any) bool }

type logicNode struct {
	and  bool
	l, r fnode
}

func (n *logicNode) eval(v any) bool {
	if n.and {
		return n.l.eval(v) && n.r.eval(v)
	}
	return n.l.eval(v) || n.r.eval(v)
}

type notNode struct{ x fnode }

func (n *notNode) eval(v any) bool { return !n.x.eval(v) }

type falseNode struct{}

func (falseNode) eval(any) bool { return false }

// valuePathNode matches when some element of the attribute satisfies inner.
type valuePathNode struct {
	ref   attrRef
	inner fnode
}

func (n *valuePathNode) eval(v any) bool {
	res, _ := v.(map[string]any)
	return someRefValue(res, n.ref, n.inner.eval)
}

// cmpNode compares the values of one attribute with a literal.
type cmpNode struct {
	ref       attrRef    // at the top level
	leaf      *Attribute // the attribute whose type rules apply
	inBracket bool       // v is an element: compare leaf's sub-attribute, or the element
	self      bool       // inBracket on a simple multi-valued attribute: compare the element
	op        filter.CompareOperator
	raw       any    // the literal, unquoted
	str       string // folded with store.FoldName unless leaf is caseExact
	num       float64
	tm        time.Time
	b         bool
}

// eval reports whether some value of the attribute passes test. The
// values are visited where they are: a filter is evaluated on every
// candidate of a list, and on every value of a multi-valued attribute for
// each PATCH operation with a filter, and a slice built for each (a
// []any{v} for a single value) was most of that cost.
func (n *cmpNode) eval(v any) bool {
	test := func(x any) bool { return x != nil && n.test(x) }
	switch {
	case !n.inBracket:
		res, _ := v.(map[string]any)
		return someRefValue(res, n.ref, test)
	case n.self:
		return test(v)
	}
	m, _ := v.(map[string]any)
	return someValue(m[n.leaf.Name], test)
}

func (n *cmpNode) test(x any) bool {
	if n.op == filter.PR {
		if s, ok := x.(string); ok {
			return s != ""
		}
		return true
	}
	switch n.leaf.Type {
	case TypeBoolean:
		b, ok := x.(bool)
		return ok && (b == n.b) == (n.op == filter.EQ)
	case TypeInteger, TypeDecimal:
		f, ok := toFloat(x)
		return ok && order(n.op, cmp3(f, n.num))
	case TypeDateTime:
		s, _ := x.(string)
		if n.op == filter.CO || n.op == filter.SW || n.op == filter.EW {
			return textOp(n.op, s, n.str)
		}
		t, ok := parseDateTime(s, n.leaf.DateOnly)
		return ok && order(n.op, t.Compare(n.tm))
	default:
		s, ok := x.(string)
		if !ok {
			return false
		}
		want := n.str
		if !n.leaf.CaseExact {
			// The store's folding (strings.EqualFold's), so that a filter
			// matches what the store's lookup by userName or displayName
			// returns. n.str is folded already.
			s = store.FoldName(s)
		}
		if n.op == filter.CO || n.op == filter.SW || n.op == filter.EW {
			return textOp(n.op, s, want)
		}
		return order(n.op, strings.Compare(s, want))
	}
}

func textOp(op filter.CompareOperator, s, want string) bool {
	switch op {
	case filter.CO:
		return strings.Contains(s, want)
	case filter.SW:
		return strings.HasPrefix(s, want)
	default:
		return strings.HasSuffix(s, want)
	}
}

// order applies an ordering operator (eq ne gt ge lt le) to a comparison result.
func order(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// someRefValue reports whether f holds for some value of ref in res: the
// attribute's values (someValue), or when ref names a sub-attribute, the
// values of it in each of the attribute's values that is an object.
func someRefValue(res map[string]any, ref attrRef, f func(any) bool) bool {
	c := res
	if ref.ext != "" {
		c, _ = res[ref.ext].(map[string]any)
	}
	if ref.attr == nil {
		return false
	}
	v := c[ref.attr.Name]
	if ref.sub == nil {
		return someValue(v, f)
	}
	return someValue(v, func(el any) bool {
		m, ok := el.(map[string]any)
		return ok && someValue(m[ref.sub.Name], f)
	})
}

// someValue reports whether f holds for some value in asList(v), without
// building that list.
func someValue(v any, f func(any) bool) bool {
	if v == nil {
		return false
	}
	if l, ok := anyList(v); ok {
		return slices.ContainsFunc(l, f)
	}
	return f(v)
}

func asList(v any) []any {
	if v == nil {
		return nil
	}
	if l, ok := anyList(v); ok {
		return l
	}
	return []any{v}
}

// compileFilter checks expr against rt; scope is the multi-valued attribute
// whose elements a bracketed filter tests, nil at the top level.
func compileFilter(rt *ResourceType, scope *Attribute, expr filter.Expression) (fnode, error) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		l, err := compileFilter(rt, scope, e.Left)
		if err != nil {
			return nil, err
		}
		r, err := compileFilter(rt, scope, e.Right)
		if err != nil {
			return nil, err
		}
		return &logicNode{and: strings.EqualFold(string(e.Operator), string(filter.AND)), l: l, r: r}, nil
	case *filter.NotExpression:
		x, err := compileFilter(rt, scope, e.Expression)
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	case *filter.ValuePath:
		if scope != nil {
			return nil, ErrInvalidFilter("brackets cannot be nested")
		}
		ref, ok := resolvePath(rt, e.AttributePath)
		if !ok {
			return falseNode{}, nil
		}
		if ref.attr == nil || ref.sub != nil {
			return nil, ErrInvalidFilter("brackets must follow an attribute name, as in emails[type eq \"work\"]")
		}
		inner, err := compileFilter(rt, ref.attr, e.ValueFilter)
		if err != nil {
			return nil, err
		}
		return &valuePathNode{ref: ref, inner: inner}, nil
	case *filter.AttributeExpression:
		return compileCmp(rt, scope, e)
	}
	return nil, ErrInvalidFilter("unsupported filter expression")
}

// unassigned is a comparison of an attribute the schema does not define,
// which no resource has: false, but for "eq null", which means "not pr"
// and so holds for every resource, as not (attr pr) does.
func unassigned(op filter.CompareOperator, value any) fnode {
	if value == nil && op == filter.EQ {
		return &notNode{falseNode{}}
	}
	return falseNode{}
}

func compileCmp(rt *ResourceType, scope *Attribute, e *filter.AttributeExpression) (fnode, error) {
	n := &cmpNode{op: filter.CompareOperator(strings.ToLower(string(e.Operator)))}
	path := e.AttributePath.String()
	if scope != nil {
		n.inBracket = true
		if e.AttributePath.URIPrefix != nil || e.AttributePath.SubAttribute != nil {
			return nil, ErrInvalidFilter("inside %s[...] name a sub-attribute of %s, without prefix or dots", scope.Name, scope.Name)
		}
		if n.leaf = scope.SubAttribute(e.AttributePath.AttributeName); n.leaf == nil {
			if scope.Type == TypeComplex || !strings.EqualFold(e.AttributePath.AttributeName, "value") {
				return unassigned(n.op, e.CompareValue), nil
			}
			n.leaf, n.self = scope, true
		}
	} else {
		ref, ok := resolvePath(rt, e.AttributePath)
		if !ok || ref.attr == nil {
			return unassigned(n.op, e.CompareValue), nil
		}
		if ref.sub == nil && ref.attr.Type == TypeComplex && n.op != filter.PR {
			if ref.sub = ref.attr.SubAttribute("value"); ref.sub == nil {
				return nil, ErrInvalidFilter("%s is complex; compare one of its sub-attributes, such as %s.%s",
					path, path, ref.attr.SubAttributes[0].Name)
			}
		}
		n.ref, n.leaf = ref, ref.attr
		if ref.sub != nil {
			n.leaf = ref.sub
		}
	}
	if n.op == filter.PR {
		return n, nil
	}
	raw := e.CompareValue
	if s, ok := raw.(string); ok {
		if err := json.Unmarshal([]byte(`"`+s+`"`), &s); err != nil {
			return nil, ErrInvalidFilter("a quoted string in the filter has an invalid escape sequence")
		}
		raw = s
	}
	n.raw = raw
	if raw == nil {
		pr := *n
		pr.op = filter.PR
		switch n.op {
		case filter.EQ:
			return &notNode{&pr}, nil
		case filter.NE:
			return &pr, nil
		}
		return nil, ErrInvalidFilter("null can only be compared with eq or ne (%s)", path)
	}
	ordering := n.op == filter.GT || n.op == filter.GE || n.op == filter.LT || n.op == filter.LE
	text := n.op == filter.CO || n.op == filter.SW || n.op == filter.EW
	switch n.leaf.Type {
	case TypeBoolean:
		b, ok := raw.(bool)
		if s, isStr := raw.(string); isStr && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
			b, ok = strings.EqualFold(s, "true"), true
		}
		if !ok || ordering || text {
			return nil, ErrInvalidFilter("%s is a boolean: compare it with eq or ne and true or false", path)
		}
		n.b = b
	case TypeInteger, TypeDecimal:
		f, ok := toFloat(raw)
		if !ok || text {
			return nil, ErrInvalidFilter("%s is a number: compare it with eq, ne, gt, ge, lt or le and a number", path)
		}
		n.num = f
	case TypeDateTime:
		s, ok := raw.(string)
		if !ok {
			return nil, ErrInvalidFilter("%s is a dateTime: compare it with a quoted date-time like \"2026-12-01T00:00:00Z\"", path)
		}
		n.str = s
		if !text {
			if n.tm, ok = parseDateTime(s, n.leaf.DateOnly); !ok {
				return nil, ErrInvalidFilter("%s is a dateTime: compare it with a quoted date-time like \"2026-12-01T00:00:00Z\"", path)
			}
		}
	case TypeComplex:
		return nil, ErrInvalidFilter("%s is complex; compare one of its sub-attributes", path)
	default:
		s, ok := raw.(string)
		if !ok {
			return nil, ErrInvalidFilter("%s is a string: compare it with a quoted string", path)
		}
		if ordering && n.leaf.Type == TypeBinary {
			return nil, ErrInvalidFilter("%s is binary: gt, ge, lt and le do not apply", path)
		}
		if !n.leaf.CaseExact {
			s = store.FoldName(s) // folded once here, the values on each test
		}
		n.str = s
	}
	if !ordering && !text && n.op != filter.EQ && n.op != filter.NE {
		return nil, ErrInvalidFilter("unknown operator in the filter; use eq ne co sw ew gt ge lt le pr")
	}
	return n, nil
}
