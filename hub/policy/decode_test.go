package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// problemsOf returns the problems of a *ValidationError, failing the test
// for any other result.
func problemsOf(t *testing.T, err error) *ValidationError {
	t.Helper()
	var ve *ValidationError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want a *ValidationError", err, err)
	}
	return ve
}

func paths(ve *ValidationError) []string {
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = p.Path
	}
	return out
}

// TestParseReportsEveryProblemWithPaths: one pass over a document finds
// problems of every kind, each with the JSON path of its value: an unknown
// field (which encoding/json's DisallowUnknownFields reports alone, and
// first), a value that is not an app ID, a duplicate role. Both readers
// do; a value of the wrong type is reported once, without follow-on
// problems about the value it left unread.
func TestParseReportsEveryProblemWithPaths(t *testing.T) {
	three := `{"max_session":"12h","shift_grace":"15m","roles":[
	  {"name":"Nurse","apps":["ehr","EHR app"]},
	  {"name":"Porter","apps":["porter"],"site":"north"},
	  {"name":"nurse ","apps":["x"]}
	],"other":{"apps":["browser"]}}`
	tests := []struct {
		name, doc string
		want      []Problem // Message: a part of it
	}{
		{"three problems", three, []Problem{
			{"roles[1].site", `unknown field "site": a role has name, apps, require_uv, max_session, privileged, certification, sites, employment_types`},
			{"roles[0].apps[1]", `role "Nurse": app "EHR app" is not an app ID`},
			{"roles[2].name", `role "nurse" is a duplicate of role "Nurse"`},
		}},
		{"every kind at once", `{"max_session":"12 hours","shift_grace":"-5m","colour":"red","MAX_SESSION":"1h","roles":[
		    {"name":"A","apps":[1,"ok","ok"],"require_uv":"yes","max_session":"48h","sites":"north"},
		    "Porter",
		    {"name":"B,C","apps":"b","employment_types":["boss"],"certification":7}
		  ],"other":{"name":"x","apps":[],"weird key":1}}`, []Problem{
			{"max_session", `max_session: "12 hours" is not a duration`},
			{"colour", `unknown field "colour": a policy has max_session, shift_grace, roles, other`},
			{"MAX_SESSION", `the document names "MAX_SESSION" twice in one object`},
			{"roles[0].apps[0]", "roles[0].apps[0] has the wrong type (a number): give a string"},
			{"roles[0].require_uv", "roles[0].require_uv has the wrong type (a string): give true or false"},
			{"roles[0].sites", "roles[0].sites has the wrong type (a string): give a list of site names"},
			{"roles[1]", "roles[1] has the wrong type (a string): give a role"},
			{"roles[2].apps", "roles[2].apps has the wrong type (a string): give a list of app IDs"},
			{"roles[2].certification", "roles[2].certification has the wrong type (a number): give a string"},
			{`other["weird key"]`, `unknown field "weird key"`},
			{"shift_grace", "shift_grace -5m is negative"},
			{"roles[0].apps[2]", `role "A": app "ok" is listed twice`},
			{"roles[0].max_session", `role "A": max_session 48h is longer than 24h`},
			{"roles[2].name", `role "B,C": the name has a comma`},
			{"roles[2].employment_types[0]", `role "B,C": unknown employment type "boss"`},
			{"other.name", `other (the rule for roles not listed) has no name: remove "x"`},
		}},
		{"trailing data and a problem inside", `{"max_session":"12h","shift_grace":"15m","roles":[],"other":{"apps":["A B"]}} {}`, []Problem{
			{"", "the document has more after its JSON object"},
			{"other.apps[0]", `other: app "A B" is not an app ID`},
		}},
		{"not an object", `[{"max_session":"12h"}]`, []Problem{{"", "the document is not a policy JSON object (it is a list)"}}},
		{"not JSON", `{"max_session":`, []Problem{{"", "the document is not a policy JSON object: it ends before its JSON object does"}}},
	}
	for _, tt := range tests {
		for reader, parse := range map[string]func([]byte) (Rules, error){
			"ParseDocument": ParseDocument,
			"ParseEdit":     func(b []byte) (Rules, error) { return ParseEdit(b, nil) },
		} {
			t.Run(tt.name+"/"+reader, func(t *testing.T) {
				_, err := parse([]byte(tt.doc))
				ve := problemsOf(t, err)
				want := make([]string, len(tt.want))
				for i, w := range tt.want {
					want[i] = w.Path
				}
				if d := cmp.Diff(want, paths(ve)); d != "" {
					t.Fatalf("paths (-want +got):\n%s\nproblems: %q", d, ve.Problems)
				}
				for i, w := range tt.want {
					if !strings.Contains(ve.Problems[i].Message, w.Message) {
						t.Errorf("problem %d at %s: %q does not say %q", i, w.Path, ve.Problems[i].Message, w.Message)
					}
					if !strings.Contains(err.Error(), ve.Problems[i].Message) {
						t.Errorf("Error() %q leaves out %q", err, ve.Problems[i].Message)
					}
				}
			})
		}
	}
}

// TestParseEditValid: a valid document loads through ParseEdit as
// through ParseDocument, with its envelope decoded into the targets given.
func TestParseEditValid(t *testing.T) {
	want, err := ParseDocument([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	var version int64
	var changedBy string
	doc := `{"version": 7, "Changed_By": "token:ops",` + strings.TrimPrefix(validDoc, "{")
	got, err := ParseEdit([]byte(doc), map[string]any{"version": &version, "changed_by": &changedBy})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rules (-ParseDocument +ParseEdit):\n%s", d)
	}
	if version != 7 || changedBy != "token:ops" {
		t.Errorf("envelope: version %d, changed_by %q", version, changedBy)
	}
	def, _ := DefaultRules().Marshal()
	if _, err := ParseEdit(def, nil); err != nil {
		t.Errorf("the default document: %v", err)
	}

	// The envelope's values are checked like the document's.
	_, err = ParseEdit([]byte(`{"version":1.5,"VERSION":2,"max_session":"12h","shift_grace":"15m","roles":[],"other":{},"colour":1}`), map[string]any{"version": &version})
	ve := problemsOf(t, err)
	if d := cmp.Diff([]string{"version", "VERSION", "colour"}, paths(ve)); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	if msg := ve.Problems[0].Message; msg != "version has the wrong type (a number)" {
		t.Errorf("version problem: %q", msg)
	}
	if msg := ve.Problems[2].Message; !strings.HasSuffix(msg, "a policy has max_session, shift_grace, roles, other, version") {
		t.Errorf("unknown field problem does not list the envelope: %q", msg)
	}
}

// TestParseEditRefusesNullConditions: "sites": null (and
// "employment_types": null) mean "no limit", as a missing field does, but
// read as "nowhere" and are what a templating tool writes for an empty
// variable: an admin's document is refused, saying what to write, while
// a stored one (ParseDocument) still loads as "no limit", so that a policy
// stored before the check never stops the hub. A missing field is no
// limit for both, and an empty list is refused by both.
func TestParseEditRefusesNullConditions(t *testing.T) {
	doc := func(fields string) []byte {
		return []byte(`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Picker","apps":["wms"]},{"name":"Nurse","apps":["ehr"]` + fields + `}],"other":{"apps":[]}}`)
	}
	tests := []struct {
		name, fields string
		edit         []Problem // ParseEdit's problems; nil: accepted
		stored       bool      // ParseDocument accepts it
	}{
		{"missing", ``, nil, true},
		{"null sites", `,"sites":null`, []Problem{{"roles[1].sites", `roles[1]: "sites": null is ambiguous: omit the field for every site, or list the sites`}}, true},
		{"null sites, other case", `,"Sites":null`, []Problem{{"roles[1].Sites", `roles[1]: "sites": null is ambiguous`}}, true},
		{"null employment types", `,"employment_types":null`, []Problem{{"roles[1].employment_types", `roles[1]: "employment_types": null is ambiguous: omit the field for every employment type, or list the types`}}, true},
		{"empty sites", `,"sites":[]`, []Problem{{"roles[1].sites", `role "Nurse": sites is an empty list`}}, false},
		{"listed", `,"sites":["north"]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, serr := ParseDocument(doc(tt.fields))
			if tt.stored != (serr == nil) {
				t.Errorf("ParseDocument: %v, want accepted %v", serr, tt.stored)
			}
			if serr == nil && tt.fields != `,"sites":["north"]` && (stored.Rule("Nurse").Sites != nil || stored.Rule("Nurse").EmploymentTypes != nil) {
				t.Errorf("stored rule %+v, want no limit", stored.Rule("Nurse"))
			}
			_, err := ParseEdit(doc(tt.fields), nil)
			if tt.edit == nil {
				if err != nil {
					t.Errorf("ParseEdit: %v", err)
				}
				return
			}
			ve := problemsOf(t, err)
			if len(ve.Problems) != len(tt.edit) {
				t.Fatalf("problems %q, want %d", ve.Problems, len(tt.edit))
			}
			for i, w := range tt.edit {
				if got := ve.Problems[i]; got.Path != w.Path || !strings.Contains(got.Message, w.Message) {
					t.Errorf("problem %+v, want at %s saying %q", got, w.Path, w.Message)
				}
			}
		})
	}
	// The other rule too.
	_, err := ParseEdit([]byte(`{"max_session":"12h","shift_grace":"15m","roles":[],"other":{"apps":["a"],"sites":null}}`), nil)
	if ve := problemsOf(t, err); len(ve.Problems) != 1 || ve.Problems[0].Path != "other.sites" {
		t.Errorf("other with null sites: %q", ve.Problems)
	}
}

// TestParseEditRefusesHiddenCharacters: an admin's edit is refused a
// role, certification or site name with an invisible formatting
// character, which would read as another name (a zero-width space after
// "Nurse" matches no user's role "Nurse"); each is reported at its path.
// A stored policy that holds one still loads, as before the rule.
func TestParseEditRefusesHiddenCharacters(t *testing.T) {
	doc := func(role string) []byte {
		return []byte(`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Picker","apps":["wms"]},` + role + `],"other":{"apps":[]}}`)
	}
	tests := []struct {
		name, role, path string
	}{
		{"zero-width space in a role name", `{"name":"Nurse\u200b","apps":["ehr"]}`, "roles[1].name"},
		{"right-to-left override in a role name", `{"name":"\u202eesruN","apps":["ehr"]}`, "roles[1].name"},
		{"word joiner in a certification", `{"name":"Nurse","apps":["ehr"],"certification":"RN\u2060"}`, "roles[1].certification"},
		{"bidi isolate in a site", `{"name":"Nurse","apps":["ehr"],"sites":["north","\u2066south\u2069"]}`, "roles[1].sites[1]"},
		{"byte order mark in a site", `{"name":"Nurse","apps":["ehr"],"sites":["\ufeffnorth"]}`, "roles[1].sites[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseDocument(doc(tt.role)); err != nil {
				t.Errorf("ParseDocument (a stored policy): %v, want it to load", err)
			}
			_, err := ParseEdit(doc(tt.role), nil)
			ve := problemsOf(t, err)
			if len(ve.Problems) != 1 || ve.Problems[0].Path != tt.path || !strings.Contains(ve.Problems[0].Message, "invisible formatting character") {
				t.Errorf("ParseEdit problems %+v, want one at %s about an invisible formatting character", ve.Problems, tt.path)
			}
		})
	}
	// Letters of every script, and marks, are names like any other.
	if _, err := ParseEdit(doc(`{"name":"Pflegefachkraft Öğretmen 看护 ممرضة","apps":["ehr"],"certification":"Crème brûlée","sites":["Zürich"]}`), nil); err != nil {
		t.Errorf("ParseEdit of names in several scripts: %v", err)
	}
}

// TestParseProblemsCapped: a huge bad document gets at most MaxProblems
// problems and the count of the rest, and long values are quoted cut
// short, so the answer stays small.
func TestParseProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"max_session":"12h","shift_grace":"15m","other":{},"roles":[`)
	const roles = 150 // each with two problems
	for i := range roles {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"r%d","apps":["BAD"],"%s":1}`, i, strings.Repeat("x", 1000))
	}
	b.WriteString("]}")
	for _, parse := range []func([]byte) (Rules, error){ParseDocument, func(b []byte) (Rules, error) { return ParseEdit(b, nil) }} {
		_, err := parse([]byte(b.String()))
		ve := problemsOf(t, err)
		if len(ve.Problems) != MaxProblems || ve.More != 2*roles-MaxProblems {
			t.Errorf("%d problems listed and %d more, want %d and %d", len(ve.Problems), ve.More, MaxProblems, 2*roles-MaxProblems)
		}
		if !strings.HasSuffix(err.Error(), fmt.Sprintf("and %d more problems not listed", 2*roles-MaxProblems)) {
			t.Errorf("Error() does not count the rest: …%s", err.Error()[len(err.Error())-80:])
		}
		for _, p := range ve.Problems {
			if len(p.Path)+len(p.Message) > 400 {
				t.Fatalf("problem of %d bytes: %+v", len(p.Path)+len(p.Message), p)
			}
		}
		if n := len(err.Error()); n > MaxProblems*400 {
			t.Errorf("Error() is %d bytes", n)
		}
	}
	// Over the size limit: refused unread.
	big := []byte(`{"other":{"certification":"` + strings.Repeat(" ", MaxEditBytes) + `"}}`)
	if ve := problemsOf(t, func() error { _, err := ParseEdit(big, nil); return err }()); len(ve.Problems) != 1 || !strings.Contains(ve.Problems[0].Message, "more than the limit") {
		t.Errorf("too big: %q", ve.Problems)
	}
}

// FuzzParseEdit: any input either parses, and then ParseDocument (which
// reads no more strictly) gives the same rules, or fails with a
// *ValidationError listing 1 to MaxProblems problems; it never panics.
func FuzzParseEdit(f *testing.F) {
	def, _ := DefaultRules().Marshal()
	for _, s := range []string{
		string(def), validDoc, `{}`, `[]`, `null`, `{"version":1,"max_session":"12h","shift_grace":"0s","roles":null,"other":null}`,
		`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"A","apps":["a",1],"sites":null,"SITES":[]}],"other":{"x":{}}}`,
		`{"max_session":"1m","shift_grace":"12h","roles":[{"name":"a,b","apps":"a"},"x",null],"other":{"name":"x"}} []`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var version int64
		r, err := ParseEdit(b, map[string]any{"version": &version})
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) || len(ve.Problems) == 0 || len(ve.Problems) > MaxProblems {
				t.Fatalf("error %v (%T) is not a *ValidationError with 1 to %d problems", err, err, MaxProblems)
			}
			return
		}
		if bytes.Contains(bytes.ToLower(b), []byte("version")) {
			return // ParseDocument does not know the envelope
		}
		r2, err := ParseDocument(b)
		if err != nil {
			t.Fatalf("ParseEdit accepted what ParseDocument refuses: %v", err)
		}
		if d := cmp.Diff(r, r2); d != "" {
			t.Fatalf("rules differ (-ParseEdit +ParseDocument):\n%s", d)
		}
	})
}
