package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// validDoc is a document with one role of each kind of condition.
const validDoc = `{
  "max_session": "10h",
  "shift_grace": "20m",
  "roles": [
    {"name": "Nurse", "apps": ["ehr", "med-cart"], "sites": ["North"], "employment_types": ["Employee", "temp"]},
    {"name": " Supervisor ", "apps": ["wms-admin"], "require_uv": true, "privileged": true, "max_session": "4h", "certification": "first-aid"}
  ],
  "other": {"apps": ["browser"]}
}`

func TestParseDocument(t *testing.T) {
	got, err := ParseDocument([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	want := Rules{
		MaxSession: 10 * time.Hour, ShiftGrace: 20 * time.Minute,
		Roles: map[string]RoleRule{
			"Nurse":      {Apps: []string{"ehr", "med-cart"}, Sites: []string{"North"}, EmploymentTypes: []string{"employee", "temp"}},
			"Supervisor": {Apps: []string{"wms-admin"}, RequireUV: true, Privileged: true, MaxSession: 4 * time.Hour, Certification: "first-aid"},
		},
		Other: RoleRule{Apps: []string{"browser"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("rules (-want +got):\n%s", d)
	}
}

// Document and ParseDocument are inverses, and zero values become what
// they mean.
func TestDocumentRoundTrip(t *testing.T) {
	for _, r := range []Rules{DefaultRules(), {Roles: map[string]RoleRule{}, ShiftGrace: -1}} {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseDocument(b)
		if err != nil {
			t.Fatalf("parse %s: %v", b, err)
		}
		again, err := got.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(b) {
			t.Errorf("not stable:\n%s\n%s", b, again)
		}
	}
	b, _ := Rules{Roles: map[string]RoleRule{}}.Marshal()
	if !strings.Contains(string(b), `"max_session":"12h","shift_grace":"15m"`) {
		t.Errorf("zero durations should be written as the defaults: %s", b)
	}
	b, _ = Rules{Roles: map[string]RoleRule{}, ShiftGrace: -1}.Marshal()
	if !strings.Contains(string(b), `"shift_grace":"0s"`) {
		t.Errorf("negative grace should be written as 0s: %s", b)
	}
	r, err := ParseDocument(b)
	if err != nil || r.ShiftGrace >= 0 {
		t.Errorf("0s grace should parse as none (negative): %v, %v", r.ShiftGrace, err)
	}
	def, _ := DefaultRules().Marshal()
	if want := `{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Nurse","apps":["ehr","med-cart"]},{"name":"Picker","apps":["wms-picking"]},{"name":"Supervisor","apps":["wms-admin","ehr"],"require_uv":true,"max_session":"4h","privileged":true}],"other":{"apps":["browser"]}}`; string(def) != want {
		t.Errorf("default document:\n%s\nwant\n%s", def, want)
	}
}

func TestParseDocumentProblems(t *testing.T) {
	role := func(fields string) string {
		return `{"max_session":"12h","shift_grace":"15m","roles":[` + fields + `],"other":{"apps":[]}}`
	}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	tests := []struct {
		name, doc string
		want      []string // each in the error
	}{
		{"not JSON", `{"max_session":`, []string{"not a policy JSON object"}},
		{"array", `[]`, []string{"not a policy JSON object"}},
		{"unknown field", `{"max_session":"12h","shift_grace":"15m","roles":[],"other":{},"extra":1}`, []string{`unknown field "extra"`}},
		{"unknown role field", role(`{"name":"A","apps":["a"],"site":"x"}`), []string{`unknown field "site"`}},
		{"a name twice in another case", role(`{"name":"A","apps":["a"],"sites":["North"],"SITES":[]}`), []string{`names "SITES" twice in one object`}},
		{"a name twice", `{"max_session":"12h","max_session":"24h","shift_grace":"15m","roles":[],"other":{}}`, []string{`names "max_session" twice`}},
		{"empty sites", role(`{"name":"A","apps":["a"],"sites":[]}`), []string{`role "A": sites is an empty list`}},
		{"empty employment types", role(`{"name":"A","apps":["a"],"employment_types":[]}`), []string{`role "A": employment_types is an empty list`}},
		{"trailing data", role(`{"name":"A","apps":["a"]}`) + `{}`, []string{"more after its JSON object"}},
		{"duration as number", `{"max_session":3600,"shift_grace":"15m","roles":[],"other":{}}`, []string{`durations are strings like "12h"`}},
		{"bad duration", `{"max_session":"12 hours","shift_grace":"15m","roles":[],"other":{}}`, []string{`"12 hours" is not a duration`}},
		{"apps not a list", role(`{"name":"A","apps":"a"}`), []string{"roles[0].apps has the wrong type"}},
		{"missing globals", `{"roles":[],"other":{}}`, []string{"max_session is missing", "shift_grace is missing"}},
		{"negative durations", `{"max_session":"-1h","shift_grace":"-5m","roles":[{"name":"A","apps":["a"],"max_session":"-2h"}],"other":{}}`,
			[]string{"max_session -1h is negative", "shift_grace -5m is negative", `role "A": max_session -2h is negative`}},
		{"zero max session", `{"max_session":"0s","shift_grace":"0s","roles":[],"other":{}}`, []string{"max_session must be more than 0s"}},
		{"too long", `{"max_session":"25h","shift_grace":"13h","roles":[{"name":"A","apps":["a"],"max_session":"48h"}],"other":{}}`,
			[]string{"max_session 25h is longer than 24h", "shift_grace 13h is longer than 12h", `role "A": max_session 48h is longer than 24h`}},
		{"too short", role(`{"name":"A","apps":["a"],"max_session":"30s"}`), []string{`role "A": max_session 30s is shorter than 1m`}},
		{"unknown employment type", role(`{"name":"A","apps":["a"],"employment_types":["intern"]}`), []string{`role "A": unknown employment type "intern": use employee, contractor, vendor, temp`}},
		{"employment type twice", role(`{"name":"A","apps":["a"],"employment_types":["temp","TEMP"]}`), []string{`employment type "temp" is listed twice`}},
		{"duplicate role, case-insensitively", role(`{"name":"Nurse","apps":["a"]},{"name":"nurse ","apps":["b"]}`), []string{`role "nurse" is a duplicate of role "Nurse"`}},
		{"role without apps", role(`{"name":"A","apps":[]}`), []string{`role "A" has no apps`}},
		{"role without name", role(`{"apps":["a"]}`), []string{"roles[0] has no name"}},
		{"comma in name", role(`{"name":"A,B","apps":["a"]}`), []string{"the name has a comma"}},
		{"control character", role(`{"name":"A\u0007","apps":["a"]}`), []string{"has control characters"}},
		{"long name", role(`{"name":"` + strings.Repeat("é", 101) + `","apps":["a"]}`), []string{"longer than 100 characters"}},
		{"long certification", role(`{"name":"A","apps":["a"],"certification":"` + strings.Repeat("c", 101) + `"}`), []string{"the certification is longer than 100"}},
		{"bad app id", role(`{"name":"A","apps":["EHR app"]}`), []string{`app "EHR app" is not an app ID`}},
		{"app twice", role(`{"name":"A","apps":["a","a"]}`), []string{`app "a" is listed twice`}},
		{"too many apps", role(`{"name":"A","apps":[` + many(51, func(i int) string { return fmt.Sprintf(`"a%d"`, i) }) + `]}`), []string{"51 apps, more than the limit of 50"}},
		{"site twice", role(`{"name":"A","apps":["a"],"sites":["North","north"]}`), []string{`site "north" is listed twice`}},
		{"empty site", role(`{"name":"A","apps":["a"],"sites":[" "]}`), []string{"a site name is empty"}},
		{"too many sites", role(`{"name":"A","apps":["a"],"sites":[` + many(101, func(i int) string { return fmt.Sprintf(`"s%d"`, i) }) + `]}`), []string{"101 sites, more than the limit of 100"}},
		{"too many roles", role(many(201, func(i int) string { return fmt.Sprintf(`{"name":"r%d","apps":["a"]}`, i) })), []string{"201 roles are more than the limit of 200"}},
		{"other with a name", `{"max_session":"12h","shift_grace":"15m","roles":[],"other":{"name":"x","apps":[]}}`, []string{`other (the rule for roles not listed) has no name`}},
		{"other's conditions checked", `{"max_session":"12h","shift_grace":"15m","roles":[],"other":{"apps":["a"],"employment_types":["boss"]}}`, []string{`other: unknown employment type "boss"`}},
		{"too big", `{"max_session":"12h","shift_grace":"15m","roles":[],"other":{"certification":"` + strings.Repeat(" ", MaxDocumentBytes) + `"}}`, []string{"more than the limit of 262144"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tt.doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("err = %#v, want a *ValidationError with problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// Every problem is reported at once.
func TestValidateReportsAll(t *testing.T) {
	r := Rules{MaxSession: -time.Hour, Roles: map[string]RoleRule{
		"A": {},
		"a": {Apps: []string{"x"}, EmploymentTypes: []string{"boss"}},
	}}
	err := r.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if len(ve.Problems) != 4 {
		t.Errorf("problems = %q, want 4 (negative max, no apps, duplicate, employment type)", ve.Problems)
	}
	if err := DefaultRules().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if _, err := r.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Marshal of invalid rules: %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Hour: "12h", 4*time.Hour + 30*time.Minute: "4h30m", 15 * time.Minute: "15m", 90 * time.Second: "1m30s", 0: "0s", -5 * time.Minute: "-5m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		b, _ := json.Marshal(Duration(d))
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != d {
			t.Errorf("round trip of %v: %s → %v, %v", d, b, back, err)
		}
	}
}
