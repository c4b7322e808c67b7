package hub_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// problemList is the "problems" of a 400 answer to PUT /api/v1/policy.
func problemList(t *testing.T, m map[string]any) []policy.Problem {
	t.Helper()
	list, ok := m["problems"].([]any)
	if !ok {
		t.Fatalf("answer without a problems list: %v", m)
	}
	out := make([]policy.Problem, len(list))
	for i, p := range list {
		pm, _ := p.(map[string]any)
		path, ok1 := pm["path"].(string)
		msg, ok2 := pm["message"].(string)
		if !ok1 || !ok2 {
			t.Fatalf("problem %d is not {path, message}: %v", i, p)
		}
		out[i] = policy.Problem{Path: path, Message: msg}
	}
	return out
}

// TestPolicyAPIListsEveryProblem: a PUT of a policy with several problems
// (an unknown field, a value that is not an app ID, a duplicate role) is
// one 400 that names them all: {"error"} as every API error, saying each,
// and "problems", each with the JSON path of its value in the body.
// Nothing is stored; the same body fixed is taken.
func TestPolicyAPIListsEveryProblem(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	body := `{"version":1,"max_session":"12h","shift_grace":"15m","roles":[
	  {"name":"Nurse","apps":["ehr","EHR app"]},
	  {"name":"Porter","apps":["porter"],"site":"north"},
	  {"name":"nurse ","apps":["x"]}
	],"other":{"apps":["browser"]}}`
	m := wantAPI(t, putPolicy(t, h, body), http.StatusBadRequest)
	got := problemList(t, m)
	want := []policy.Problem{
		{Path: "roles[1].site", Message: `unknown field "site": a role has name, apps, require_uv, max_session, privileged, certification, sites, employment_types`},
		{Path: "roles[0].apps[1]", Message: `role "Nurse": app "EHR app" is not an app ID (lower-case letters, digits, '.', '_', '-'; at most 63; like the kiosk profiles' app IDs)`},
		{Path: "roles[2].name", Message: `role "nurse" is a duplicate of role "Nurse": role names are compared case-insensitively`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, p := range want {
		if !strings.Contains(m["error"].(string), p.Message) {
			t.Errorf("error %q does not say %q", m["error"], p.Message)
		}
	}
	if _, ok := m["more_problems"]; ok {
		t.Errorf("more_problems in an answer that lists them all: %v", m)
	}
	if v := storedVersion(t, h); v != 1 {
		t.Fatalf("a refused PUT stored version %d", v)
	}

	// Every unknown field of the body, the envelope's included, at once.
	m = wantAPI(t, putPolicy(t, h, `{"version":"1","verison":1,"max_session":"12h","shift_grace":"15m","roles":[],"other":{"aps":[]},"colour":"red"}`), http.StatusBadRequest)
	var paths []string
	for _, p := range problemList(t, m) {
		paths = append(paths, p.Path)
	}
	if d := cmp.Diff([]string{"version", "verison", "other.aps", "colour"}, paths); d != "" {
		t.Errorf("paths (-want +got):\n%s\n%s", d, m["error"])
	}

	fixed := strings.NewReplacer(`"EHR app"`, `"ehr-app"`, `,"site":"north"`, `,"sites":["north"]`, `"nurse "`, `"Cleaner"`).Replace(body)
	if m := wantAPI(t, putPolicy(t, h, fixed), http.StatusOK); m["version"] != 2.0 {
		t.Errorf("the fixed body: %v", m)
	}
}

// TestPolicyAPIProblemsCapped: a huge invalid body gets at most
// policy.MaxProblems problems and the count of the others.
func TestPolicyAPIProblemsCapped(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var b strings.Builder
	b.WriteString(`{"version":1,"max_session":"12h","shift_grace":"15m","other":{},"roles":[`)
	for i := range policy.MaxRoles {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"r%d","apps":["A"]}`, i)
	}
	b.WriteString("]}")
	m := wantAPI(t, putPolicy(t, h, b.String()), http.StatusBadRequest)
	if got := problemList(t, m); len(got) != policy.MaxProblems || got[0].Path != "roles[0].apps[0]" {
		t.Errorf("%d problems, the first %+v; want %d from roles[0].apps[0]", len(got), got[0], policy.MaxProblems)
	}
	if more := m["more_problems"]; more != float64(policy.MaxRoles-policy.MaxProblems) {
		t.Errorf("more_problems = %v, want %d", more, policy.MaxRoles-policy.MaxProblems)
	}
	if n := len(m["error"].(string)); n > 20<<10 {
		t.Errorf("error of %d bytes", n)
	}
}

// TestPolicyAPIRefusesNullSites: "sites": null in a PUT is refused (it
// means every site, as a missing field does, but reads as none, and a
// templating tool writes it for an empty variable), naming where and what
// to write instead. A policy stored with it (before the check) still
// loads when the hub starts, as no limit, and can be edited.
func TestPolicyAPIRefusesNullSites(t *testing.T) {
	h1 := hubtest.Start(t, hubtest.Options{})
	withNull := func(version int64) string {
		return fmt.Sprintf(`{"version":%d,"max_session":"12h","shift_grace":"15m","roles":[{"name":"Nurse","apps":["ehr"],"sites":null}],"other":{"apps":[]}}`, version)
	}
	m := wantAPI(t, putPolicy(t, h1, withNull(1)), http.StatusBadRequest)
	want := []policy.Problem{{Path: "roles[0].sites", Message: `roles[0]: "sites": null is ambiguous: omit the field for every site, or list the sites`}}
	if d := cmp.Diff(want, problemList(t, m)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if v := storedVersion(t, h1); v != 1 {
		t.Fatalf("a refused PUT stored version %d", v)
	}

	// Stored by an older hub: the next start reads it.
	doc := `{"max_session":"12h","shift_grace":"15m","roles":[{"name":"Nurse","apps":["ehr"],"sites":null}],"other":{"apps":[]}}`
	if _, err := h1.Store().UpdatePolicy(t.Context(), func(old store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: []byte(doc), ChangedBy: "old hub", Changed: old.Changed}, nil
	}); err != nil {
		t.Fatal(err)
	}
	h1.Stop()
	h2 := hubtest.Start(t, hubtest.Options{DataDir: h1.DataDir})
	if r := h2.Engine().Rules().Rule("Nurse"); r.Sites != nil || len(r.Apps) != 1 {
		t.Errorf("the stored rule: %+v, want ehr at every site", r)
	}
	cur := wantAPI(t, h2.API(t, "GET", "/api/v1/policy", nil), http.StatusOK)
	if cur["version"] != 2.0 || strings.Contains(fmt.Sprint(cur["roles"]), "sites") {
		t.Fatalf("GET: %v", cur)
	}
	if m := wantAPI(t, putPolicy(t, h2, cur), http.StatusOK); m["version"] != 3.0 {
		t.Errorf("the GET body sent back: %v", m)
	}
}
