package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
)

var (
	pageForm     = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
	formInput    = regexp.MustCompile(`<input\s([^>]*)>`)
	formTextarea = regexp.MustCompile(`(?s)<textarea\s([^>]*)>(.*?)</textarea>`)
	formAttr     = regexp.MustCompile(`([a-z_-]+)(?:="([^"]*)")?`)
)

// browserForm is a form of a console page as a browser submits it
// untouched: its action, and the values of its hidden and text inputs, its
// checked checkboxes and its textareas (whose one leading line break the
// HTML parser drops, and whose line breaks go out as CR LF).
type browserForm struct {
	action string
	values url.Values
}

// browserForms returns the forms of a page.
func browserForms(body string) []browserForm {
	var out []browserForm
	for _, m := range pageForm.FindAllStringSubmatch(body, -1) {
		f := browserForm{action: html.UnescapeString(m[1]), values: url.Values{}}
		for _, in := range formInput.FindAllStringSubmatch(m[2], -1) {
			attrs := map[string]string{}
			for _, a := range formAttr.FindAllStringSubmatch(in[1], -1) {
				attrs[a[1]] = html.UnescapeString(a[2])
			}
			_, checked := attrs["checked"]
			if attrs["name"] == "" || (attrs["type"] == "checkbox" && !checked) {
				continue
			}
			f.values.Add(attrs["name"], attrs["value"])
		}
		for _, ta := range formTextarea.FindAllStringSubmatch(m[2], -1) {
			var name string
			for _, a := range formAttr.FindAllStringSubmatch(ta[1], -1) {
				if a[1] == "name" {
					name = html.UnescapeString(a[2])
				}
			}
			text := strings.TrimPrefix(html.UnescapeString(ta[2]), "\n")
			text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
			f.values.Add(name, text)
		}
		out = append(out, f)
	}
	return out
}

// roleForm returns the edit form of role name on the policy page.
func roleForm(t *testing.T, body, name string) browserForm {
	t.Helper()
	for _, f := range browserForms(body) {
		if f.action == "/console/policy/roles" && f.values.Get("original") == name {
			return f
		}
	}
	t.Fatalf("no edit form of role %s on the policy page:\n%s", name, body)
	return browserForm{}
}

// TestPolicyFormKeepsSiteNamesWithCommas: SCIM allows any text in a
// site's name, so "north, south" is one site, and a role's rule may name
// it (PUT /api/v1/policy). Saving the role's edit form on the policy page
// as the browser sends it changes nothing, so the role keeps counting at
// that one site and not at two sites north and south; a site typed on a
// line of its own is added as typed, commas and all.
func TestPolicyFormKeepsSiteNamesWithCommas(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	eng := h.Engine()
	rules := eng.Rules().Clone()
	sites := []string{"north, south", "east"}
	rules.Roles["Ward"] = policy.RoleRule{Apps: []string{"ehr"}, Sites: sites, EmploymentTypes: []string{"employee"}}
	if _, err := eng.UpdatePolicy(t.Context(), lifecycleActor, eng.Policy().Version, rules); err != nil {
		t.Fatal(err)
	}
	version := policyVersion(t, h)

	page := admin.get("/console/policy")
	if page.Status != http.StatusOK {
		t.Fatalf("policy page: %d %s", page.Status, page.Body)
	}
	f := roleForm(t, page.Body, "Ward")
	r := admin.post(f.action, f.values)
	if r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-unchanged" {
		t.Errorf("saving Ward's form untouched (%q): %d %s %s, want the policy unchanged", f.values, r.Status, r.location(), r.Body)
	}
	if got := eng.Rules().Rule("Ward").Sites; !slices.Equal(got, sites) {
		t.Fatalf("after saving Ward's form untouched the role counts at the sites %q, want %q", got, sites)
	}
	if v := policyVersion(t, h); v != version {
		t.Errorf("saving Ward's form untouched stored version %d, want %d kept", v, version)
	}

	// One more site, typed on a line of its own.
	f = roleForm(t, admin.get("/console/policy").Body, "Ward")
	f.values.Set("sites", f.values.Get("sites")+"\r\nwest, central\r\n")
	if r := admin.post(f.action, f.values); r.Status != http.StatusSeeOther || r.location() != "/console/policy?ok=policy-saved" {
		t.Fatalf("adding a site to Ward: %d %s %s", r.Status, r.location(), r.Body)
	}
	want := []string{"north, south", "east", "west, central"}
	if got := eng.Rules().Rule("Ward").Sites; !slices.Equal(got, want) {
		t.Errorf("after adding a site Ward counts at the sites %q, want %q", got, want)
	}
}
