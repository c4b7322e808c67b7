package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestCampaignPageNamesDeletedUsers: an admin opens a campaign after the
// identity provider deleted (SCIM DELETE) nia, whose Nurse role it
// reviews, and sun, north's supervisor who reviews it. The page names
// both, from the record the hub keeps of a deleted user, in the item's
// row and in the progress by reviewer; before, it showed their IDs.
func TestCampaignPageNamesDeletedUsers(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	makeReviewWorld(t, h)
	admin := bootstrapAdmin(t, h)
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Format(time.DateOnly)
	r := admin.post("/console/reviews", url.Values{"name": {"Q4 north"}, "due": {due}, "sites": {"north"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("start campaign: %d %s", r.Status, r.Body)
	}
	campaign := strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/console/reviews/")
	niaRole := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	if niaRole.ReviewerID != "u-sun" {
		t.Fatalf("nia's Nurse role is reviewed by %q, want u-sun", niaRole.ReviewerID)
	}
	for _, id := range []string{"u-nia", "u-sun"} {
		if r := h.Do(t, "DELETE", "/scim/v2/Users/"+id, nil); r.Status != http.StatusNoContent {
			t.Fatalf("SCIM DELETE %s: %d %s", id, r.Status, r.Body)
		}
	}

	page := admin.get("/console/reviews/" + campaign)
	if page.Status != http.StatusOK {
		t.Fatalf("campaign page: %d %s", page.Status, page.Body)
	}
	row := regexp.MustCompile(`(?s)<tr class="review-item" data-item="` + regexp.QuoteMeta(niaRole.ID) + `".*?</tr>`).FindString(page.Body)
	if !strings.Contains(row, `<th scope="row">nia</th>`) || !strings.Contains(row, `<td>sun <span class="help">`) {
		t.Errorf("the row of nia's role does not name nia and sun:\n%s", row)
	}
	reviewers := regexp.MustCompile(`(?s)<table id="campaign-reviewers">.*?</table>`).FindString(page.Body)
	if !strings.Contains(reviewers, `<th scope="row">sun</th>`) {
		t.Errorf("the progress by reviewer does not name sun:\n%s", reviewers)
	}
	for _, id := range []string{"u-nia", "u-sun"} {
		if strings.Contains(page.Body, id) { // the page shows no user IDs: each is where a name goes
			t.Errorf("the campaign page shows the ID %s where a name goes", id)
		}
	}
}
