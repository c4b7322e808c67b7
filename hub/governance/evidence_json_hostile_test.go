package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// hostileText is text from the identity provider or a reviewer that
// json.Encoder escapes: HTML, the line and paragraph separators (which
// end a line in JavaScript), quotes, backslashes, control characters and
// newlines, and a byte that is not UTF-8.
const hostileText = "<script>alert(\"x\")</script> & \u2028\u2029 'q' \\ \t\r\n\x01 \xff é"

// TestWriteEvidenceJSONHostileText: the JSON WriteEvidence assembles a
// row at a time is what json.Encoder, indenting by two spaces, writes of
// Evidence, byte for byte, when every string of the campaign and its
// rows is hostile text: the rows escape it as the encoder does at their
// depth, and none of it ends a row early.
func TestWriteEvidenceJSONHostileText(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0)
	for i := range 3 {
		if _, err := e.engine.CreateUser(ctx, actor, store.User{ID: fmt.Sprintf("u-%d", i), UserName: fmt.Sprintf("w%d %s", i, hostileText),
			Active: true, Sites: []string{"north"}}); err != nil {
			t.Fatal(err)
		}
	}
	items := make([]store.ReviewItem, 5)
	for i := range items {
		items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%d", i), CampaignID: "camp-hostile", UserID: fmt.Sprintf("u-%d", i%3),
			Kind: store.ReviewItemSite, Entitlement: "north", Detail: "detail " + hostileText, ReviewerKind: governance.ReviewerAdmins,
			Decision: store.ReviewPending, Created: t0}
	}
	// One worker the store does not know: the row names it by its ID.
	items[4].UserID = "gone " + hostileText
	if _, err := e.st.CreateCampaign(ctx, store.Campaign{ID: "camp-hostile", Name: "Q1 " + hostileText, Scope: store.ReviewScope{Sites: []string{"north"}},
		Due: t0.Add(48 * time.Hour), Created: t0, CreatedBy: actor.Name}, items); err != nil {
		t.Fatal(err)
	}
	e.at(t0.Add(time.Hour))
	for i, d := range []string{governance.DecisionKeep, governance.DecisionRevoke} {
		if _, err := e.gov.Decide(ctx, decider, items[i].ID, d, "comment "+hostileText); err != nil {
			t.Fatal(err)
		}
	}

	ev, err := e.gov.Evidence(ctx, "camp-hostile")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := e.gov.WriteEvidence(ctx, &got, "camp-hostile", "json"); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		i := firstDiff(got.String(), want.String())
		t.Errorf("WriteEvidence wrote JSON unlike json.Encoder's from %d:\n got %q\nwant %q", i, got.String()[i:min(i+80, got.Len())], want.String()[i:min(i+80, want.Len())])
	}
	// The hostile text reached the rows, escaped: the comparison above
	// compared something.
	for _, s := range []string{`\u003cscript\u003e`, `\u0026`, `\u2028\u2029`, `\"x\"`, `\t\r\n\u0001`, `\ufffd`} {
		if n := strings.Count(got.String(), s); n < len(items) {
			t.Errorf("%s found %d times in the JSON, want at least one per row (%d)", s, n, len(items))
		}
	}
	var back governance.Evidence
	if err := json.Unmarshal(got.Bytes(), &back); err != nil || len(back.Items) != len(items) {
		t.Fatalf("the JSON does not decode to %d rows: %d, %v", len(items), len(back.Items), err)
	}
}
