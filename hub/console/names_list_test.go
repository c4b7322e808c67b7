package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

var (
	// namesList is the whole of what the "names" template renders: the
	// list and its items, with no text between them that could be read
	// as part of a name.
	namesList = regexp.MustCompile(`^<span class="names" role="list">((?:<span role="listitem">[^<]*</span>)*)</span>$`)
	nameItem  = regexp.MustCompile(`<span role="listitem">([^<]*)</span>`)
)

// shownNames returns the names a page shows in the part of body that the
// first group of where captures, one per list item; ok is false when that
// part is not one list of names (a joined string, say).
func shownNames(t *testing.T, body string, where *regexp.Regexp) (names []string, ok bool) {
	t.Helper()
	m := where.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s is not on the page:\n%s", where, body)
	}
	l := namesList.FindStringSubmatch(m[1])
	if l == nil {
		return nil, false
	}
	for _, it := range nameItem.FindAllStringSubmatch(l[1], -1) {
		names = append(names, html.UnescapeString(it[1]))
	}
	return names, true
}

// TestNamesWithSeparatorShownApart: SCIM allows a site or group named
// "north, south". Joined with ", " it would read as two sites (or roles),
// so every page that lists a user's or an account's sites, or a user's
// roles, shows each name as an item of its own: the admin's user page and
// users list, the supervisor's user page, site page and My reviews, the
// account page and the Console accounts list.
func TestNamesWithSeparatorShownApart(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	sites := []string{"north, south", "east"}
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-ns", UserName: "ns.worker", DisplayName: "NS Worker", Active: true, Sites: sites}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []store.Group{
		{ID: "g-icu", DisplayName: "Nurse, ICU", Members: []string{"u-ns"}},
		{ID: "g-picker", DisplayName: "Picker", Members: []string{"u-ns"}},
	} {
		if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, g); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	sup := newClient(t, h, nil)
	if r := sup.register(admin.invite("sam", store.ConsoleSupervisor, sites...)); r.Status != http.StatusOK {
		t.Fatalf("register supervisor sam: %d %s", r.Status, r.Body)
	}

	roles := []string{"Nurse, ICU", "Picker"}
	ddOf := func(term string) *regexp.Regexp {
		return regexp.MustCompile(`<dt>` + term + `</dt><dd>(.*?)</dd>`)
	}
	mySites := regexp.MustCompile(`<strong id="my-sites">(.*?)</strong>`)
	for _, tc := range []struct {
		name  string
		c     *client
		path  string
		where *regexp.Regexp
		want  []string
	}{
		{"user page sites", admin, "/console/users/u-ns", ddOf("Sites"), sites},
		{"user page roles", admin, "/console/users/u-ns", ddOf("Roles"), roles},
		{"users list", admin, "/console/users?q=" + url.QueryEscape("ns.worker"),
			regexp.MustCompile(`<a href="/console/users/u-ns">ns.worker</a></th><td>[^<]*</td><td>[^<]*</td><td>(.*?)</td>`), sites},
		{"accounts list", admin, "/console/accounts", regexp.MustCompile(`<th scope="row">sam</th><td>supervisor</td><td>(.*?)</td>`), sites},
		{"site user page sites", sup, "/console/site/users/u-ns", ddOf("Sites"), sites},
		{"site user page roles", sup, "/console/site/users/u-ns", ddOf("Roles"), roles},
		{"site page", sup, "/console/site/", mySites, sites},
		{"my reviews", sup, "/console/my-reviews", mySites, sites},
		{"account page", sup, "/console/me", ddOf("Sites"), sites},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, r.Status, r.Body)
			}
			got, ok := shownNames(t, r.Body, tc.where)
			if !ok {
				t.Fatalf("GET %s shows %q, not one item per name", tc.path, tc.where.FindStringSubmatch(r.Body)[1])
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("GET %s shows the items %q, want exactly %q", tc.path, got, want)
			}
		})
	}
}
