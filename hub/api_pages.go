package hub

import (
	"net/http"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// listPage reads the paging of an API list, ?startIndex=1&count=N, as a
// campaign's items read theirs (governance.ParseItemPage): startIndex
// 1-based, count at most governance.MaxItemCount, which is also the count
// when none is given, so that a client written before paging still gets
// every entry of a list of up to that many. A value that is not an
// integer is 400; one out of range is normalized, not refused.
func listPage(r *http.Request) (governance.ItemPage, error) {
	q := r.URL.Query()
	return governance.ParseItemPage(q.Get("startIndex"), q.Get("count"), "")
}

// paged adds the paging fields of a campaign's items (governance.
// CampaignPage) to answer, a list's answer with n entries of the page p
// of a list of total: beside the list's own array, which keeps its name.
func paged(answer map[string]any, p governance.ItemPage, total, n int) map[string]any {
	answer["totalResults"], answer["startIndex"], answer["itemsPerPage"] = total, max(p.StartIndex, 1), n
	return answer
}
