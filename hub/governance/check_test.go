package governance_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCampaignRequestCheck: Check refuses, without a store, exactly what
// StartCampaign refuses of a request, with the same message (the CLI
// checks its flags with it before it opens the hub), and leaves the
// caller's request as it was.
func TestCampaignRequestCheck(t *testing.T) {
	e := newEnv(t, t0)
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return out
	}
	due := t0.Add(time.Hour)
	for _, tc := range []struct {
		name string
		req  governance.CampaignRequest
		ok   bool
	}{
		{"fine", governance.CampaignRequest{Name: " q ", Due: due, Scope: store.ReviewScope{Sites: []string{" north "}}}, true},
		{"at the limits", governance.CampaignRequest{Name: strings.Repeat("q", 200), Due: t0.Add(governance.MaxCampaignLength),
			Scope: store.ReviewScope{Sites: names("s", 100), Roles: []string{strings.Repeat("r", 128)}}}, true},
		{"no name", governance.CampaignRequest{Name: " ", Due: due}, false},
		{"long name", governance.CampaignRequest{Name: strings.Repeat("q", 201), Due: due}, false},
		{"no due", governance.CampaignRequest{Name: "q"}, false},
		{"due passed", governance.CampaignRequest{Name: "q", Due: t0}, false},
		{"due too far", governance.CampaignRequest{Name: "q", Due: t0.Add(governance.MaxCampaignLength + time.Second)}, false},
		{"101 sites", governance.CampaignRequest{Name: "q", Due: due, Scope: store.ReviewScope{Sites: names("s", 101)}}, false},
		{"101 roles", governance.CampaignRequest{Name: "q", Due: due, Scope: store.ReviewScope{Roles: names("r", 101)}}, false},
		{"long site", governance.CampaignRequest{Name: "q", Due: due, Scope: store.ReviewScope{Sites: []string{strings.Repeat("s", 129)}}}, false},
		{"long role", governance.CampaignRequest{Name: "q", Due: due, Scope: store.ReviewScope{Roles: []string{strings.Repeat("r", 129)}}}, false},
		{"blank role", governance.CampaignRequest{Name: "q", Due: due, Scope: store.ReviewScope{Roles: []string{"Nurse", ""}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprintf("%#v", tc.req)
			cerr := tc.req.Check(t0)
			if after := fmt.Sprintf("%#v", tc.req); after != before {
				t.Errorf("Check changed the request: %s, was %s", after, before)
			}
			_, serr := e.gov.StartCampaign(t.Context(), actor, tc.req)
			if tc.ok {
				if cerr != nil || serr != nil {
					t.Fatalf("Check = %v, StartCampaign = %v; want both to accept it", cerr, serr)
				}
				return
			}
			if !errors.Is(cerr, lifecycle.ErrInvalid) || !errors.Is(serr, lifecycle.ErrInvalid) || cerr.Error() != serr.Error() {
				t.Errorf("Check = %v, StartCampaign = %v; want one ErrInvalid from both", cerr, serr)
			}
		})
	}
}
