package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestExportDoesNotSignWhatDoesNotRoundTrip: a record sealed before text
// fields were made UTF-8 (a token name typed on the command line) holds
// under the key in the database, but its export line carries U+FFFD in
// place of the bytes that were sealed, so that line does not verify under
// the key. The hub must not sign it: a signed export is one whose every
// line verifies, with the key as with the public key.
func TestExportDoesNotSignWhatDoesNotRoundTrip(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{5}, 32)
	var prev []byte
	for i, actor := range []string{"cli", "token:0123456789abcdef (okta\xff)", "cli"} {
		r := store.AuditRecord{Seq: int64(i + 1), Time: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), Actor: actor, Action: "token.create",
			Subject: "token:x", System: "cli", Detail: json.RawMessage(`{}`), Prev: prev}
		r.Hash = sealWith(key, r)
		if err := st.AppendAudit(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	if _, err := audit.Verify(t.Context(), key, st); err != nil {
		t.Fatalf("the trail as sealed does not verify: %v", err)
	}
	s := signerFrom(t, 1)
	var b bytes.Buffer
	n, err := audit.Export(t.Context(), st, 0, &b, audit.WithSigner(s, key))
	var broken *audit.BrokenError
	if !errors.As(err, &broken) || broken.Seq != 2 || n != 3 {
		t.Errorf("signed Export = %d, %v; want the 3 records, unsigned, naming record 2", n, err)
	}
	if strings.Contains(b.String(), `{"signature":`) {
		t.Errorf("the hub signed an export whose lines do not verify under its key:\n%s", b.String())
	}
}
