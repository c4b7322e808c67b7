package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Limits on a policy document. They keep a document small enough to
// decide on every login and to show on one console page.
const (
	MaxDocumentBytes = 256 << 10
	MaxRoles         = 200
	MaxAppsPerRole   = 50
	MaxSitesPerRole  = 100
	// MaxNameLength caps role, site and certification names (characters).
	MaxNameLength = 100
	// MaxSessionLimit caps MaxSession, globally and per role: a shift is
	// at most 24 h, and so is a kiosk session.
	MaxSessionLimit = 24 * time.Hour
	// MinSession is the shortest MaxSession a document may set.
	MinSession = time.Minute
	// MaxShiftGrace caps ShiftGrace.
	MaxShiftGrace = 12 * time.Hour
)

// EmploymentTypes are the values RoleRule.EmploymentTypes may name: the
// SCIM extension's employmentType values.
var EmploymentTypes = []string{"employee", "contractor", "vendor", "temp"}

// validAppID is a kiosk app ID, as firmware profiles spell them.
var validAppID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ErrInvalid matches every error ParseDocument, Document.Rules and
// Rules.Validate return for a document or rules that cannot be used.
var ErrInvalid = errors.New("the policy is not valid")

// MaxProblems caps the problems a ValidationError lists, so that a huge
// bad document gets a short answer; ValidationError.More counts the rest.
const MaxProblems = 50

// Problem is one thing wrong with a policy document: where, and what to
// fix.
type Problem struct {
	// Path is the JSON path of the value in the document, like
	// "roles[2].apps[0]", "other.sites" or "max_session"; "" for the
	// document as a whole. Roles are counted from 0 in the order given.
	Path string `json:"path"`
	// Message says what is wrong and how to fix it, on its own: it names
	// the role ("role \"Nurse\": …") or the path.
	Message string `json:"message"`
}

// ValidationError lists every problem found in a policy (up to
// MaxProblems), each saying what to fix. It matches ErrInvalid.
type ValidationError struct {
	Problems []Problem
	// More is how many problems were found beyond Problems.
	More int
}

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		msgs = append(msgs, p.Message)
	}
	if e.More > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more problems not listed", e.More))
	}
	return ErrInvalid.Error() + ": " + strings.Join(msgs, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Duration is a time.Duration written in JSON as a string like "12h",
// "4h30m" or "0s".
type Duration time.Duration

// MarshalJSON writes the duration compactly: "12h", not "12h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(FormatDuration(time.Duration(d)))
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`durations are strings like "12h", "90m" or "0s"`)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf(`%q is not a duration like "12h", "90m" or "0s"`, s)
	}
	*d = Duration(v)
	return nil
}

// FormatDuration writes d like "12h", "4h30m", "15m", "90s" or "0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Document is the policy's JSON form: what the store keeps, the admin API
// reads and writes, and the audit trail records before and after a change.
// Durations are explicit here (no "zero means default"): MaxSession must
// be set, ShiftGrace "0s" means no early login.
type Document struct {
	MaxSession *Duration      `json:"max_session"`
	ShiftGrace *Duration      `json:"shift_grace"`
	Roles      []RoleDocument `json:"roles"`
	// Other is the rule for roles not in Roles; without apps such roles
	// give no access. It has no name.
	Other RoleDocument `json:"other"`
}

// RoleDocument is one role's rule in a Document.
type RoleDocument struct {
	Name            string   `json:"name,omitempty"`
	Apps            []string `json:"apps"`
	RequireUV       bool     `json:"require_uv,omitempty"`
	MaxSession      Duration `json:"max_session,omitempty"` // "0s" or absent: the global MaxSession
	Privileged      bool     `json:"privileged,omitempty"`
	Certification   string   `json:"certification,omitempty"`
	Sites           []string `json:"sites,omitempty"`
	EmploymentTypes []string `json:"employment_types,omitempty"`
}

// Document returns r's stored form, roles sorted by name. Zero values
// become what they mean (MaxSession 0: DefaultMaxSession; ShiftGrace 0:
// DefaultShiftGrace, negative: "0s").
func (r Rules) Document() Document {
	maxSession := r.MaxSession
	if maxSession == 0 {
		maxSession = DefaultMaxSession
	}
	grace := r.ShiftGrace
	switch {
	case grace == 0:
		grace = DefaultShiftGrace
	case grace < 0:
		grace = 0
	}
	ms, sg := Duration(maxSession), Duration(grace)
	d := Document{MaxSession: &ms, ShiftGrace: &sg, Roles: make([]RoleDocument, 0, len(r.Roles)), Other: r.Other.document("")}
	for name, rule := range r.Roles {
		d.Roles = append(d.Roles, rule.document(name))
	}
	slices.SortFunc(d.Roles, func(a, b RoleDocument) int { return compareFold(a.Name, b.Name) })
	return d
}

func (rr RoleRule) document(name string) RoleDocument {
	return RoleDocument{
		Name: name, Apps: nonNil(slices.Clone(rr.Apps)), RequireUV: rr.RequireUV, MaxSession: Duration(rr.MaxSession),
		Privileged: rr.Privileged, Certification: rr.Certification,
		// No limit is no list: an empty one is refused in a document.
		Sites: nilIfEmpty(rr.Sites), EmploymentTypes: nilIfEmpty(rr.EmploymentTypes),
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Marshal returns r's Document as JSON, after checking r: an invalid
// policy is never written. What it writes is a new version of the stored
// policy, so it is checked as an admin's edit (ParseEdit's names): the
// console's forms build Rules rather than a document, and must not store
// a name the API's PUT refuses. A stored policy is still read with the
// old rule (ParseDocument). Marshal holds every name to the edit's rule:
// MarshalReplacing is for a version that replaces a stored one.
func (r Rules) Marshal() ([]byte, error) {
	return r.MarshalReplacing(Rules{})
}

// MarshalReplacing is Marshal for the version that replaces stored, the
// policy the store holds (Rules{} for none): a name stored holds already,
// as the same kind of name (a role's, a certification, a site), keeps the
// rule it was stored under, and only a new name is held to an admin's
// edit's rule. Otherwise a policy stored with a name that the rule came
// to refuse later (a role ending in a variation selector) could not be
// changed at all, not even to rename that role, and the hub could not
// apply a new --shift-grace to it.
func (r Rules) MarshalReplacing(stored Rules) ([]byte, error) {
	d := r.Document()
	if err := d.checkEdit(keptNames(stored)); err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

// Validate reports every problem with r as a *ValidationError, or nil:
// exactly what Marshal refuses.
func (r Rules) Validate() error {
	return r.Document().checkEdit(kept{})
}

// checkEdit checks d as Document.Rules does, with an admin's edit's rule
// for names other than k's.
func (d Document) checkEdit(k kept) error {
	ps := problems{edit: true, kept: k}
	d.rules(&ps)
	return ps.err()
}

// kept holds the names of a stored policy that an edit replaces, each
// kind apart, exactly as stored (trimmed): in the edit they keep the rule
// they were stored under (see nameProblem).
type kept struct {
	roles, certifications, sites map[string]bool
}

// keptNames returns stored's names.
func keptNames(stored Rules) kept {
	k := kept{roles: map[string]bool{}, certifications: map[string]bool{}, sites: map[string]bool{}}
	add := func(rr RoleRule) {
		if rr.Certification != "" {
			k.certifications[rr.Certification] = true
		}
		for _, s := range rr.Sites {
			k.sites[s] = true
		}
	}
	for name, rr := range stored.Roles {
		k.roles[name] = true
		add(rr)
	}
	add(stored.Other)
	return k
}

// DuplicateKey reports the first object member name that appears twice in
// one object of the JSON text b, compared without case as encoding/json
// matches names (store.FoldName). Text that is not JSON reports nothing:
// the decoder says what is wrong with it.
func DuplicateKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		key    bool // the next token is a member name
		seen   map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if name, ok := tok.(string); ok && top != nil && top.object && top.key {
			if top.seen[store.FoldName(name)] {
				return name, true
			}
			top.seen[store.FoldName(name)] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true, seen: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a name comes next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// JSONProblem makes a decoder error readable without Go type names.
func JSONProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s has the wrong type (%s)", te.Field, te.Value)
		}
		return "wrong type (" + te.Value + ")"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Rules checks d and returns its rules: names trimmed, employment types
// in lower case, ShiftGrace "0s" as a negative ShiftGrace (none). Every
// problem is reported at once (up to MaxProblems), with its path in d's
// JSON form.
func (d Document) Rules() (Rules, error) {
	var ps problems
	r := d.rules(&ps)
	if err := ps.err(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// rules checks d, adding to ps; values ps records as unread (the decoder
// reported them) are not checked again.
func (d Document) rules(ps *problems) Rules {
	r := Rules{Roles: make(map[string]RoleRule, len(d.Roles))}
	switch {
	case ps.unread("max_session"):
	case d.MaxSession == nil:
		ps.add("max_session", `max_session is missing: give the longest session, like "12h"`)
	default:
		r.MaxSession = time.Duration(*d.MaxSession)
		checkSession(ps, "max_session", "max_session", r.MaxSession, false)
	}
	switch {
	case ps.unread("shift_grace"):
	case d.ShiftGrace == nil:
		ps.add("shift_grace", `shift_grace is missing: give how long before a shift its worker may sign in, like "15m" ("0s" for not before the start)`)
	case *d.ShiftGrace < 0:
		ps.add("shift_grace", "shift_grace %s is negative: give 0s or more", FormatDuration(time.Duration(*d.ShiftGrace)))
	case time.Duration(*d.ShiftGrace) > MaxShiftGrace:
		ps.add("shift_grace", "shift_grace %s is longer than %s", FormatDuration(time.Duration(*d.ShiftGrace)), FormatDuration(MaxShiftGrace))
	case *d.ShiftGrace == 0:
		r.ShiftGrace = -1
	default:
		r.ShiftGrace = time.Duration(*d.ShiftGrace)
	}
	if len(d.Roles) > MaxRoles {
		ps.add("roles", "%d roles are more than the limit of %d", len(d.Roles), MaxRoles)
	}
	seen := map[string]string{}
	for i, rd := range d.Roles {
		if i >= MaxRoles {
			break
		}
		path := indexPath("roles", i)
		if ps.unread(path) {
			continue
		}
		name := strings.TrimSpace(rd.Name)
		label := "role " + quote(name)
		switch {
		case ps.unread(path + ".name"):
			label = path
		case name == "":
			label = path
			ps.add(path+".name", "%s has no name", label)
		default:
			if msg := ps.nameProblem(name, ps.kept.roles); msg != "" {
				ps.add(path+".name", "%s: the name %s", label, msg)
			} else if strings.Contains(name, RoleSeparator) {
				ps.add(path+".name", "%s: the name has a comma, which separates roles in a session", label)
			}
			if first, dup := seen[store.FoldName(name)]; dup {
				ps.add(path+".name", "%s is a duplicate of role %s: role names are compared case-insensitively", label, quote(first))
			} else {
				seen[store.FoldName(name)] = name
			}
		}
		rule := roleRule(ps, path, label, rd, true)
		if name != "" {
			r.Roles[name] = rule
		}
	}
	if strings.TrimSpace(d.Other.Name) != "" {
		ps.add("other.name", "other (the rule for roles not listed) has no name: remove %s", quote(d.Other.Name))
	}
	if !ps.unread("other") {
		r.Other = roleRule(ps, "other", "other", d.Other, false)
	}
	return r
}

// roleRule checks one role's rule, at path in the document (label names
// it in messages); a named role needs apps.
func roleRule(ps *problems, path, label string, rd RoleDocument, named bool) RoleRule {
	rule := RoleRule{RequireUV: rd.RequireUV, Privileged: rd.Privileged, MaxSession: time.Duration(rd.MaxSession)}
	apps := path + ".apps"
	switch {
	case ps.unread(apps):
	case len(rd.Apps) == 0 && named:
		ps.add(apps, "%s has no apps: a role without apps gives no access (delete the role instead)", label)
	case len(rd.Apps) > MaxAppsPerRole:
		ps.add(apps, "%s has %d apps, more than the limit of %d", label, len(rd.Apps), MaxAppsPerRole)
	default:
		for i, a := range rd.Apps {
			p := indexPath(apps, i)
			a = strings.TrimSpace(a)
			switch {
			case ps.unread(p):
			case !validAppID.MatchString(a):
				ps.add(p, "%s: app %s is not an app ID (lower-case letters, digits, '.', '_', '-'; at most 63; like the kiosk profiles' app IDs)", label, quote(a))
			case slices.Contains(rule.Apps, a):
				ps.add(p, "%s: app %s is listed twice", label, quote(a))
			default:
				rule.Apps = append(rule.Apps, a)
			}
		}
	}
	if rule.MaxSession != 0 {
		checkSession(ps, path+".max_session", label+": max_session", rule.MaxSession, true)
	}
	if c := strings.TrimSpace(rd.Certification); c != "" {
		if msg := ps.nameProblem(c, ps.kept.certifications); msg != "" {
			ps.add(path+".certification", "%s: the certification %s", label, msg)
		}
		rule.Certification = c
	}
	// An explicit empty list would read as "nowhere" but, like a missing
	// one, means "no limit": refused, so nobody writes one meaning the
	// first.
	sites, types := path+".sites", path+".employment_types"
	if rd.Sites != nil && len(rd.Sites) == 0 {
		ps.add(sites, "%s: sites is an empty list: leave it out to let the role count at every site, or remove the role", label)
	}
	if rd.EmploymentTypes != nil && len(rd.EmploymentTypes) == 0 {
		ps.add(types, "%s: employment_types is an empty list: leave it out to let the role count for everyone, or remove the role", label)
	}
	if len(rd.Sites) > MaxSitesPerRole {
		ps.add(sites, "%s names %d sites, more than the limit of %d", label, len(rd.Sites), MaxSitesPerRole)
	} else {
		for i, s := range rd.Sites {
			p := indexPath(sites, i)
			s = strings.TrimSpace(s)
			switch {
			case ps.unread(p):
			case s == "":
				ps.add(p, "%s: a site name is empty", label)
			case ps.nameProblem(s, ps.kept.sites) != "":
				ps.add(p, "%s: the site %s %s", label, quote(s), ps.nameProblem(s, ps.kept.sites))
			case containsFold(rule.Sites, s):
				ps.add(p, "%s: site %s is listed twice", label, quote(s))
			default:
				rule.Sites = append(rule.Sites, s)
			}
		}
	}
	for i, et := range rd.EmploymentTypes {
		p := indexPath(types, i)
		et = strings.ToLower(strings.TrimSpace(et))
		switch {
		case ps.unread(p):
		case !slices.Contains(EmploymentTypes, et):
			ps.add(p, "%s: unknown employment type %s: use %s", label, quote(et), strings.Join(EmploymentTypes, ", "))
		case slices.Contains(rule.EmploymentTypes, et):
			ps.add(p, "%s: employment type %s is listed twice", label, quote(et))
		default:
			rule.EmploymentTypes = append(rule.EmploymentTypes, et)
		}
	}
	return rule
}

// checkSession checks a MaxSession value; for a role, zero (the global
// value) was handled by the caller.
func checkSession(ps *problems, path, label string, d time.Duration, role bool) {
	switch {
	case d < 0:
		ps.add(path, "%s %s is negative", label, FormatDuration(d))
	case d == 0 && !role:
		ps.add(path, `%s must be more than 0s, like "12h"`, label)
	case d < MinSession:
		ps.add(path, "%s %s is shorter than %s", label, FormatDuration(d), FormatDuration(MinSession))
	case d > MaxSessionLimit:
		ps.add(path, "%s %s is longer than %s", label, FormatDuration(d), FormatDuration(MaxSessionLimit))
	}
}

// nameProblem says what is wrong with a trimmed name (a role's, a
// certification's, a site's), or "".
//
// An admin's edit is also refused a Unicode format character (bidi
// overrides and isolates, zero-width characters: store.Hidden), as the
// hub refuses them in the names of sites, kiosks and console accounts: a
// role named "nurse" followed by a zero-width space reads as "nurse" in
// the console and the audit trail, yet matches no user's role, and a
// right-to-left override can make one name read as another. The same
// holds for the invisible letters and marks that are not format
// characters (Unicode's Other_Default_Ignorable_Code_Point: Hangul
// fillers, the combining grapheme joiner, Khmer inherent vowels), which
// spoofing uses precisely because filters of format characters miss
// them. A stored policy is read with the old rule (control characters
// only), so that one saved before this rule still loads, and so is a name
// of an edit that is among stored, the names of its kind that the stored
// version the edit replaces holds (problems.kept): the rule refuses new
// names, and a stored one keeps working until an admin renames it.
func (ps *problems) nameProblem(s string, stored map[string]bool) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case utf8.RuneCountInString(s) > MaxNameLength:
		return fmt.Sprintf("is longer than %d characters", MaxNameLength)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "has control characters"
	case ps.edit && !stored[s] && strings.ContainsFunc(s, store.Hidden):
		return "has an invisible formatting character (such as a right-to-left override, a zero-width space or a Hangul filler)"
	}
	return ""
}
