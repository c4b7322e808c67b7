package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

var verifyHead = regexp.MustCompile(`id="verify-head">([^<]+)<`)

// TestAuditVerifyAnchor checks the console's chain verification against
// a head kept from an earlier check, as `audit verify --anchor` does.
func TestAuditVerifyAnchor(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)

	if r := admin.get("/console/audit"); !strings.Contains(r.Body, `action="/console/audit/verify"`) || !strings.Contains(r.Body, `name="anchor"`) {
		t.Errorf("audit page has no verify form with an anchor field: %d %s", r.Status, r.Body)
	}
	key, err := audit.LoadKey(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(t.Context(), key, h.Store())
	if err != nil || rep.HeadSeq == 0 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	kept := rep.Anchor()
	r := admin.get("/console/audit/verify")
	if m := verifyHead.FindStringSubmatch(r.Body); r.Status != http.StatusOK || m == nil || m[1] != kept.String() || !strings.Contains(r.Body, `id="verify-hint"`) {
		t.Errorf("verify does not show the head %s as an anchor with the hint: %d %s", kept, r.Status, r.Body)
	}
	// More records after the anchor was taken: the kept one still holds.
	if r := admin.post("/console/tokens", url.Values{"name": {"okta"}, "scope": {"scim"}}); r.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	wrong := audit.Anchor{Seq: kept.Seq, Hash: append([]byte(nil), kept.Hash...)}
	wrong.Hash[0] ^= 1
	pastHead := kept.Seq + 5
	past := strconv.FormatInt(pastHead, 10) + ":" + strings.Repeat("ab", 32)
	_, parseErr := audit.ParseAnchor("12")

	for _, tc := range []struct {
		name   string
		anchor string
		status int
		want   []string // in the body
		not    []string
	}{
		{name: "matches", anchor: kept.String(), status: 200,
			want: []string{`data-ok="true"`, "your anchor <code>" + kept.String() + "</code>", `id="verify-hint"`}},
		{name: "matches pasted with spaces", anchor: "  " + kept.String() + "\n", status: 200,
			want: []string{`data-ok="true"`, "your anchor <code>" + kept.String() + "</code>"}},
		{name: "wrong hash", anchor: wrong.String(), status: 200,
			want: []string{`data-ok="false"`, `data-anchored="true"`, "broken at record " + strconv.FormatInt(kept.Seq, 10),
				"the records before it link up, but are not the trail your anchor was taken from"},
			not: []string{"records before it are intact", `id="verify-hint"`}},
		{name: "past the head", anchor: past, status: 200,
			want: []string{`data-ok="false"`, `data-anchored="false"`, "records were cut off the end",
				"but your anchor " + past + " says it held record " + strconv.FormatInt(pastHead, 10)},
			not: []string{"not the trail your anchor"}},
		{name: "malformed", anchor: "12", status: http.StatusBadRequest,
			want: []string{html.EscapeString(parseErr.Error())}, not: []string{"verify-result"}},
		{name: "not hex", anchor: "3:" + strings.Repeat("zz", 32), status: http.StatusBadRequest,
			want: []string{"the hash must be 64 hex digits"}, not: []string{"verify-result"}},
		{name: "too long", anchor: "1:" + strings.Repeat("a", 300), status: http.StatusBadRequest,
			want: []string{"the anchor is too long"}, not: []string{"verify-result", strings.Repeat("a", 300)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.get("/console/audit/verify?" + url.Values{"anchor": {tc.anchor}}.Encode())
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Body, w) {
					t.Errorf("body lacks %q:\n%s", w, r.Body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(r.Body, n) {
					t.Errorf("body has %q:\n%s", n, r.Body)
				}
			}
		})
	}
	// The head moved on past the kept anchor, and is shown as one.
	now, err := audit.Verify(t.Context(), key, h.Store())
	if err != nil || now.HeadSeq <= kept.Seq {
		t.Fatalf("verify after more records: %+v %v", now, err)
	}
	r = admin.get("/console/audit/verify")
	if m := verifyHead.FindStringSubmatch(r.Body); m == nil || m[1] != now.Anchor().String() {
		t.Errorf("head after more records: %v, want %s", m, now.Anchor())
	}
}
