package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// MaxEditBytes caps a document given to ParseEdit: MaxDocumentBytes and
// room for an API's envelope around it (version, changed_by, …).
const MaxEditBytes = MaxDocumentBytes + 4<<10

// ParseDocument decodes a policy document (at most MaxDocumentBytes, no
// unknown fields, no name twice in one object, nothing after it) and
// returns its rules, validated. Every problem it can find is reported at
// once, each with its JSON path, as a *ValidationError (at most
// MaxProblems of them listed). It reads what the store keeps: see
// ParseEdit for what an admin sends.
func ParseDocument(b []byte) (Rules, error) {
	return parse(b, MaxDocumentBytes, false, kept{}, nil)
}

// ParseEdit is ParseDocument for a document an admin sends to replace the
// policy (the API's PUT), which is read more strictly: "sites": null and
// "employment_types": null are refused. Like a missing field they mean
// "no limit", yet read as "nowhere", and a templating tool writes them
// for an empty variable; the store never holds them (Rules.Document
// leaves the field out), so ParseDocument still takes them and a stored
// policy never stops loading over it.
//
// envelope names top-level members that are not the document's but the
// caller's (the API's "version"), each with a pointer that its value is
// decoded into with encoding/json; names are matched without case, as
// encoding/json does. A value of the wrong type is one more problem.
// b may be up to MaxEditBytes.
func ParseEdit(b []byte, envelope map[string]any) (Rules, error) {
	return parse(b, MaxEditBytes, true, kept{}, envelope)
}

// ParseEditReplacing is ParseEdit for a document that replaces stored,
// the policy the store holds: as with Rules.MarshalReplacing, a name
// stored holds already keeps the rule it was stored under.
func ParseEditReplacing(b []byte, envelope map[string]any, stored Rules) (Rules, error) {
	return parse(b, MaxEditBytes, true, keptNames(stored), envelope)
}

func parse(b []byte, limit int, edit bool, k kept, envelope map[string]any) (Rules, error) {
	ps := problems{edit: edit, kept: k}
	if len(b) > limit {
		ps.add("", "the document is %d bytes, more than the limit of %d", len(b), limit)
		return Rules{}, ps.err()
	}
	rd := reader{ps: &ps, edit: edit, envelope: make(map[string]any, len(envelope))}
	for name, target := range envelope {
		rd.envelope[store.FoldName(name)] = target
	}
	rd.fields = strings.Join(append(slices.Clone(documentFields), slices.Sorted(maps.Keys(rd.envelope))...), ", ")
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		msg := JSONProblem(err)
		switch {
		case errors.Is(err, io.EOF):
			msg = "it is empty"
		case errors.Is(err, io.ErrUnexpectedEOF):
			msg = "it ends before its JSON object does"
		}
		ps.add("", "the document is not a policy JSON object: %s", msg)
		return Rules{}, ps.err()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		// Reported, and the object is still checked.
		ps.add("", "the document has more after its JSON object")
	}
	d, ok := rd.document(raw)
	if !ok {
		return Rules{}, ps.err()
	}
	r := d.rules(&ps)
	if err := ps.err(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// reader decodes a document member by member rather than with one
// json.Unmarshal, which stops at the first unknown field or bad value: so
// one pass finds every unknown field, every value of the wrong type and
// every name given twice, each with its path, and the values it could
// read are then checked by Document.rules. Each byte is read a bounded
// number of times (once per nesting level), so the work is linear in the
// document's size.
type reader struct {
	ps       *problems
	edit     bool           // ParseEdit: refuse null condition lists
	envelope map[string]any // folded name → decode target
	fields   string         // the top-level names, for an unknown one's problem
}

// Field names of a document and of a role, as the problem for an unknown
// field lists them.
var (
	documentFields = []string{"max_session", "shift_grace", "roles", "other"}
	roleFields     = "name, apps, require_uv, max_session, privileged, certification, sites, employment_types"
)

func (rd *reader) document(raw json.RawMessage) (Document, bool) {
	ms, ok := members(raw)
	if !ok {
		rd.ps.add("", "the document is not a policy JSON object (it is %s)", kind(raw))
		return Document{}, false
	}
	var d Document
	seen := map[string]bool{}
	for _, m := range ms {
		path := fieldPath("", m.name)
		key := store.FoldName(m.name)
		if !rd.once(seen, key, path, m.name) {
			continue
		}
		switch key {
		case "max_session":
			d.MaxSession = rd.globalDuration(path, m.value)
		case "shift_grace":
			d.ShiftGrace = rd.globalDuration(path, m.value)
		case "roles":
			d.Roles = rd.roles(path, m.value)
		case "other":
			if !isNull(m.value) { // null: the zero rule, as encoding/json reads it
				d.Other = rd.role(path, m.value)
			}
		default:
			target, ok := rd.envelope[key]
			if !ok {
				rd.ps.add(path, "unknown field %s: a policy has %s", quote(m.name), rd.fields)
				continue
			}
			if name, dup := DuplicateKey(m.value); dup {
				rd.ps.add(path, "%s names %s twice in one object (names are compared without case): give each once", path, quote(name))
			} else if err := json.Unmarshal(m.value, target); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					rd.ps.add(path, "%s has the wrong type (%s)", path, kind(m.value))
				} else {
					rd.ps.add(path, "%s: %s", path, JSONProblem(err))
				}
			}
		}
	}
	return d, true
}

// once reports whether key is new in the object seen belongs to, adding
// a problem if not: encoding/json would keep the last of two names that
// match without case, so {"sites":["North"],"SITES":[]} would drop a
// limit that a reader of the document sees.
func (rd *reader) once(seen map[string]bool, key, path, name string) bool {
	if seen[key] {
		rd.ps.add(path, "the document names %s twice in one object (names are compared without case): give each once", quote(name))
		return false
	}
	seen[key] = true
	return true
}

func (rd *reader) roles(path string, raw json.RawMessage) []RoleDocument {
	if isNull(raw) {
		return nil
	}
	els, ok := elements(raw)
	if !ok {
		rd.ps.undecodable(path, "%s has the wrong type (%s): give a list of roles", path, kind(raw))
		return nil
	}
	if len(els) > MaxRoles {
		// Only the first MaxRoles are read and checked.
		rd.ps.add(path, "%d roles are more than the limit of %d", len(els), MaxRoles)
		els = els[:MaxRoles]
	}
	out := make([]RoleDocument, 0, len(els))
	for i, el := range els {
		out = append(out, rd.role(indexPath(path, i), el))
	}
	return out
}

// role decodes one role's rule (roles[i], or other) at path. A value that
// is not an object is one problem and its rule is not checked further.
func (rd *reader) role(path string, raw json.RawMessage) RoleDocument {
	ms, ok := members(raw)
	if !ok {
		rd.ps.undecodable(path, `%s has the wrong type (%s): give a role, an object like {"name": "Nurse", "apps": ["ehr"]}`, path, kind(raw))
		return RoleDocument{}
	}
	var r RoleDocument
	seen := map[string]bool{}
	for _, m := range ms {
		p := fieldPath(path, m.name)
		key := store.FoldName(m.name)
		if !rd.once(seen, key, p, m.name) {
			continue
		}
		switch key {
		case "name":
			r.Name = rd.str(p, m.value)
		case "apps":
			r.Apps = rd.list(p, m.value, "app IDs", "")
		case "require_uv":
			r.RequireUV = rd.boolean(p, m.value)
		case "max_session":
			if isNull(m.value) {
				rd.ps.undecodable(p, `%s is null: give a duration like "4h", or leave it out for the global max_session`, p)
				continue
			}
			var d Duration
			if err := d.UnmarshalJSON(m.value); err != nil {
				rd.ps.undecodable(p, "%s: %s", p, err)
			}
			r.MaxSession = d
		case "privileged":
			r.Privileged = rd.boolean(p, m.value)
		case "certification":
			r.Certification = rd.str(p, m.value)
		case "sites":
			r.Sites = rd.list(p, m.value, "site names", path+`: "sites": null is ambiguous: omit the field for every site, or list the sites`)
		case "employment_types":
			r.EmploymentTypes = rd.list(p, m.value, "employment types", path+`: "employment_types": null is ambiguous: omit the field for every employment type, or list the types`)
		default:
			rd.ps.add(p, "unknown field %s: a role has %s", quote(m.name), roleFields)
		}
	}
	return r
}

// globalDuration reads max_session or shift_grace; null is missing, as
// encoding/json reads it into a nil pointer.
func (rd *reader) globalDuration(path string, raw json.RawMessage) *Duration {
	if isNull(raw) {
		return nil
	}
	var d Duration
	if err := d.UnmarshalJSON(raw); err != nil {
		rd.ps.undecodable(path, "%s: %s", path, err)
		return nil
	}
	return &d
}

// str reads a string; null is "", as encoding/json reads it.
func (rd *reader) str(path string, raw json.RawMessage) string {
	var s string
	if !isNull(raw) && json.Unmarshal(raw, &s) != nil {
		rd.ps.undecodable(path, "%s has the wrong type (%s): give a string", path, kind(raw))
	}
	return s
}

// boolean reads true or false; null is false, as encoding/json reads it.
func (rd *reader) boolean(path string, raw json.RawMessage) bool {
	var b bool
	if !isNull(raw) && json.Unmarshal(raw, &b) != nil {
		rd.ps.undecodable(path, "%s has the wrong type (%s): give true or false", path, kind(raw))
	}
	return b
}

// list reads a list of strings (what: "app IDs"); null is no list, as
// encoding/json reads it, except that ParseEdit refuses null for a list
// where it means "no limit", with the problem ambiguous (when not ""). An
// element of the wrong type is a problem of its own, kept as "" so that
// the paths of the others stay right.
func (rd *reader) list(path string, raw json.RawMessage, what, ambiguous string) []string {
	if isNull(raw) {
		if rd.edit && ambiguous != "" {
			rd.ps.undecodable(path, "%s", ambiguous)
		}
		return nil
	}
	els, ok := elements(raw)
	if !ok {
		rd.ps.undecodable(path, "%s has the wrong type (%s): give a list of %s", path, kind(raw), what)
		return nil
	}
	out := make([]string, len(els))
	for i, el := range els {
		if isNull(el) {
			continue // "", as encoding/json reads it
		}
		if err := json.Unmarshal(el, &out[i]); err != nil {
			p := indexPath(path, i)
			rd.ps.undecodable(p, "%s has the wrong type (%s): give a string", p, kind(el))
		}
	}
	return out
}

// member is one name and value of a JSON object, in the order written.
type member struct {
	name  string
	value json.RawMessage
}

// members splits the JSON object raw into its members; ok is false if raw
// is not an object. raw is valid JSON (it was decoded before).
func members(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{name: name, value: v})
	}
	return out, true
}

// elements splits the JSON array raw into its elements; ok is false if raw
// is not an array.
func elements(raw json.RawMessage) ([]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, false
	}
	var out []json.RawMessage
	for dec.More() {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// kind names the JSON type of raw for a problem: "a string", "a list", ….
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// plainName is a member name a path writes after a dot.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldPath is the path of member name in the object at parent ("": the
// document): max_session, roles[2].apps, other["odd name"]. A name longer
// than maxQuoted is cut short, as quote cuts it.
func fieldPath(parent, name string) string {
	switch {
	case len(name) > maxQuoted || !plainName.MatchString(name):
		return parent + "[" + quote(name) + "]"
	case parent == "":
		return name
	}
	return parent + "." + name
}

// indexPath is the path of element i of the list at parent: roles[2].
func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// maxQuoted caps the characters of a value a problem quotes: a document's
// values may be long, and a list of problems must stay short.
const maxQuoted = 64

// quote quotes s for a problem, cut to maxQuoted characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	i, n := 0, 0
	for i < len(s) && n < maxQuoted {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return strconv.Quote(s[:i]) + "…"
}

// problems collects what is wrong with a document, at most MaxProblems of
// them listed, and the paths of values that could not be decoded.
type problems struct {
	list []Problem
	more int
	bad  map[string]bool
	// edit: the document is an admin's edit (ParseEdit), whose names are
	// held to the stricter rule of nameProblem, except kept's.
	edit bool
	kept kept
}

func (p *problems) add(path, format string, args ...any) {
	if len(p.list) >= MaxProblems {
		p.more++
		return
	}
	p.list = append(p.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// undecodable adds a problem with the value at path that leaves it
// unread: Document.rules does not check it, so that a list of the wrong
// type is not also reported as missing.
func (p *problems) undecodable(path, format string, args ...any) {
	p.add(path, format, args...)
	if p.bad == nil {
		p.bad = map[string]bool{}
	}
	p.bad[path] = true
}

// unread reports whether the value at path could not be decoded.
func (p *problems) unread(path string) bool { return p.bad[path] }

func (p *problems) err() error {
	if len(p.list) == 0 && p.more == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list, More: p.more}
}
