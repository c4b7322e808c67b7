package console

import (
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestLiveSiteQueryEscaped: the site page of one site whose name has a
// character with a meaning in a URL's query ("A&E", an accident and
// emergency department; "+", "#", "%") points its live-update stream and
// block at that site: the page's script fetches the attributes' URLs as
// they are, and "?site=A&E" asked for site "A" (a supervisor of A&E was
// refused, an admin shown another site). So do the links of an admin's
// capped block to each site's own view.
func TestLiveSiteQueryEscaped(t *testing.T) {
	r := newSelfRace(t)
	sites := []string{"A&E", "B+C", "D#1", "E%20F"}
	// Enough kiosks in use that the admin's block of every site is
	// capped and links each site's own view.
	liveKiosks(t, r, r.st.Store, liveCap/len(sites)+1, sites...)
	ada := r.account(t, "ada", store.ConsoleAdmin)
	attr := regexp.MustCompile(`data-(live|events)="([^"]*)"`)
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), ada); err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`<a href="(/console/site/\?[^"]*)">`).FindAllStringSubmatch(w.Body.String(), -1)
	var linked []string
	for _, m := range links {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("link %q: %v", m[1], err)
		}
		linked = append(linked, u.Query().Get("site"))
	}
	if !slices.Equal(linked, sites) {
		t.Errorf("the capped block links the views of sites %q, want %q", linked, sites)
	}
	for _, site := range sites {
		w := httptest.NewRecorder()
		if err := r.c.sitePage(w, httptest.NewRequest("GET", "/console/site/?"+url.Values{"site": {site}}.Encode(), nil), ada); err != nil {
			t.Fatalf("%s: %v", site, err)
		}
		ms := attr.FindAllStringSubmatch(w.Body.String(), -1)
		if len(ms) != 2 {
			t.Fatalf("%s: the page has %d live attributes, want data-live and data-events", site, len(ms))
		}
		for _, m := range ms {
			// As the browser reads the attribute, and the script fetches it.
			u, err := url.Parse(html.UnescapeString(m[2]))
			if err != nil {
				t.Fatalf("%s: data-%s %q: %v", site, m[1], m[2], err)
			}
			if got := u.Query().Get("site"); got != site || u.Fragment != "" {
				t.Errorf("data-%s=%q asks for site %q (fragment %q), want %q", m[1], m[2], got, u.Fragment, site)
			}
		}
	}
}
