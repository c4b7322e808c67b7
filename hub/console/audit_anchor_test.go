package console_test

import (
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
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
	pastHead := kept.Seq + 1000 // each check adds a record
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

// TestAuditVerifyIsRecorded checks that a console check of the chain is
// itself on the record: who checked, against which anchor, what the page
// showed, and a broken chain as such.
func TestAuditVerifyIsRecorded(t *testing.T) {
	logs := &errorLog{}
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))})
	admin := bootstrapAdmin(t, h)

	last := func() (store.AuditRecord, map[string]any) {
		t.Helper()
		seq, _, err := h.Store().AuditHead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{AfterSeq: seq - 1})
		if err != nil || len(rs) != 1 {
			t.Fatalf("last audit record: %v %v", rs, err)
		}
		var d map[string]any
		if err := json.Unmarshal(rs[0].Detail, &d); err != nil {
			t.Fatal(err)
		}
		return rs[0], d
	}

	r := admin.get("/console/audit/verify")
	m := verifyHead.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	rec, d := last()
	if rec.Action != "audit.verify" || rec.Actor != "console:ada@example.org" || rec.System != "console" || rec.Subject != "audit" {
		t.Fatalf("last record after a verification: %+v", rec)
	}
	if d["ok"] != true || d["head"] != m[1] || d["anchor"] != nil || d["problem"] != nil {
		t.Errorf("verification recorded as %v, want ok with the head %s shown", d, m[1])
	}
	head, err := audit.ParseAnchor(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != head.Seq+1 {
		t.Errorf("the record of the check is %d, want the one after the verified head %d", rec.Seq, head.Seq)
	}

	wrong := audit.Anchor{Seq: head.Seq, Hash: append([]byte(nil), head.Hash...)}
	wrong.Hash[0] ^= 1
	if r := admin.get("/console/audit/verify?" + url.Values{"anchor": {wrong.String()}}.Encode()); !strings.Contains(r.Body, `data-ok="false"`) {
		t.Fatalf("verify against a wrong anchor: %d %s", r.Status, r.Body)
	}
	rec, d = last()
	if rec.Action != "audit.verify" || d["ok"] != false || d["anchored"] != true || d["anchor"] != wrong.String() {
		t.Errorf("failed verification recorded as %s %v", rec.Action, d)
	}
	if p, _ := d["problem"].(string); !strings.Contains(p, "broken at record "+strconv.FormatInt(head.Seq, 10)) {
		t.Errorf("recorded problem %q does not say where the chain broke", p)
	}
	if logs := logs.take(); !strings.Contains(logs, "the audit hash chain does not verify") {
		t.Errorf("a failed verification is not logged as an error:\n%s", logs)
	}
}

// TestAuditExportSigned: the console's download is signed like `audit
// export`, so whoever is given it checks it with the hub's public key
// alone; a byte changed in it fails that check.
func TestAuditExportSigned(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	signer, err := audit.LoadSigner(h.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	exp := admin.get("/console/audit/export")
	if exp.Status != http.StatusOK || !strings.Contains(exp.Body, "\n{\"signature\":{") {
		t.Fatalf("export: %d, want a signed download:\n%s", exp.Status, exp.Body)
	}
	rep, err := audit.VerifySignedExport(signer.PublicKey(), 0, strings.NewReader(exp.Body))
	if err != nil || rep.Records == 0 {
		t.Fatalf("the console's export does not verify with the public key: %+v %v", rep, err)
	}
	tampered := strings.Replace(exp.Body, "console.bootstrap", "console.bootstrop", 1)
	if _, err := audit.VerifySignedExport(signer.PublicKey(), 0, strings.NewReader(tampered)); err == nil {
		t.Error("an edited export verifies")
	}
}

// The audit page says what the hub's audit watch found: the records it
// checked while the trail is whole, and a break, as an error, once
// records were cut off the end.
func TestAuditPageShowsWatch(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{AuditWatch: 20 * time.Millisecond})
	admin := bootstrapAdmin(t, h)
	waitPage := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := admin.get("/console/audit")
			if strings.Contains(r.Body, want) {
				return r.Body
			}
			if time.Now().After(deadline) {
				t.Fatalf("audit page never said %q: %d %s", want, r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	seq, _, err := h.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	body := waitPage(`<p id="audit-watch" data-breaks="0">Watched by the hub: every record up to ` + strconv.FormatInt(seq, 10) + ` checked`)
	if strings.Contains(body, "notice error") {
		t.Errorf("an intact trail shown as an error: %s", body)
	}
	if r := admin.get("/console/dashboard"); r.Status != http.StatusOK || strings.Contains(r.Body, `id="audit-alert"`) {
		t.Errorf("the dashboard of an intact trail: %d %s", r.Status, r.Body)
	}
	hubtest.CutAuditTrail(t, h.DataDir, seq-1)
	waitPage(`<p class="notice error" id="audit-watch" data-breaks="1">The hub's audit watch found 1 break in this trail`)
	if r := admin.get("/console/dashboard"); !strings.Contains(r.Body, `<p class="notice error" id="audit-alert" role="alert">The audit trail is broken`) {
		t.Errorf("the dashboard does not say the trail is broken: %d %s", r.Status, r.Body)
	}
}
