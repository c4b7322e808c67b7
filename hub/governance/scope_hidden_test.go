package governance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCampaignScopeRefusesHiddenNames: a campaign's scope is matched
// without case, so a site or role with a character that shows as nothing
// (a zero-width space, a right-to-left override, a variation selector)
// matches no site or role: the campaign reviewed nothing, yet read as a
// campaign over the name it looks like. Such a scope is refused,
// (ErrInvalid, the API's 400) naming the problem, and nothing is
// started; a name the hub holds exactly so (stored before the rule: a
// registered site, a kiosk's site, a site of a user's record, a group's
// displayName, a policy role) is still taken, and its campaign reviews
// it.
func TestCampaignScopeRefusesHiddenNames(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, t0)
	// Names stored before the hub refused these characters.
	if _, err := e.st.CreateSite(ctx, store.Site{ID: "east", Name: "east\uFE0F", TimeZone: "UTC", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateDevice(ctx, store.Device{ID: "dev-dock", Name: "dock-1", Site: "dock\u200d", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	ana := e.user("ana", []string{"north", "west\u200b"}, nil)
	e.group("Nurse\u200b", ana.ID)
	gov, err := governance.New(governance.Config{Store: e.st, Audit: e.log, Engine: e.engine, Now: e.clock.Now,
		Rules: func() policy.Rules { return policy.Rules{Roles: map[string]policy.RoleRule{"Lead\u202e": {}}} }})
	if err != nil {
		t.Fatal(err)
	}
	due := t0.Add(48 * time.Hour)
	start := func(sc store.ReviewScope) (governance.CampaignPage, error) {
		return gov.StartCampaign(ctx, actor, governance.CampaignRequest{Name: "Q1", Due: due, Scope: sc})
	}

	for _, tc := range []struct {
		name  string
		scope store.ReviewScope
		want  string
	}{
		{"zero-width space after a site", store.ReviewScope{Sites: []string{"north\u200b"}}, `scope site "north\u200b" has a control character or an invisible formatting character`},
		{"bidi override in a site", store.ReviewScope{Sites: []string{"north", "\u202enorth"}}, `scope site "\u202enorth"`},
		{"variation selector after a site", store.ReviewScope{Sites: []string{"north\uFE0F"}}, `scope site "north\ufe0f"`},
		{"a stored site's name in another case", store.ReviewScope{Sites: []string{"EAST\uFE0F"}}, `scope site "EAST\ufe0f"`},
		{"zero-width space after a role", store.ReviewScope{Roles: []string{"Nurse\u200c"}}, `scope role "Nurse\u200c" has a control character or an invisible formatting character`},
		{"a stored group's name in another case", store.ReviewScope{Roles: []string{"NURSE\u200b"}}, `scope role "NURSE\u200b"`},
	} {
		_, err := start(tc.scope)
		if !errors.Is(err, lifecycle.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "would review nothing") {
			t.Errorf("%s: %v; want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
	if cs, err := e.st.ListCampaigns(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("refused scopes started %d campaigns (%v); want none", len(cs), err)
	}

	for _, tc := range []struct {
		name      string
		scope     store.ReviewScope
		wantItems int
	}{
		{"a registered site", store.ReviewScope{Sites: []string{"east\uFE0F"}}, 0},
		{"a kiosk's site", store.ReviewScope{Sites: []string{"dock\u200d"}}, 0},
		{"a site of a user's record", store.ReviewScope{Sites: []string{"west\u200b"}}, 2}, // ana's site west and her role
		{"a group's displayName", store.ReviewScope{Roles: []string{"Nurse\u200b"}}, 1},
		{"a policy role", store.ReviewScope{Roles: []string{"Lead\u202e"}}, 0},
	} {
		c, err := start(tc.scope)
		if err != nil {
			t.Errorf("%s: %v; want the campaign started", tc.name, err)
			continue
		}
		if c.TotalResults != tc.wantItems {
			t.Errorf("%s: %d items, want %d", tc.name, c.TotalResults, tc.wantItems)
		}
	}
}
