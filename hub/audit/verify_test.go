package audit_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// sealWith is the chain's documented encoding, computed independently of
// the package: what an offline verifier (or a forger who has the key)
// computes.
func sealWith(key []byte, r store.AuditRecord) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	for _, f := range []string{r.Actor, r.Action, r.Subject, r.System} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.Detail)))
	b = append(b, r.Detail...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.Prev)))
	b = append(b, r.Prev...)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(nil)
}

// TestVerifyRefusesShortKey: a chain rewritten by someone who can write
// the database but not read the key can only be sealed under a key they
// choose, e.g. the empty one. A verifier handed no key (a console built
// without AuditKey, a key file read as empty) must not vouch for it.
func TestVerifyRefusesShortKey(t *testing.T) {
	st := openStore(t)
	var prev []byte
	for i := int64(1); i <= 3; i++ {
		r := store.AuditRecord{Seq: i, Time: time.Date(2026, 1, 1, 0, 0, int(i), 0, time.UTC), Actor: "forger", Action: "user.create",
			Subject: "user:x", System: "scim", Detail: json.RawMessage(`{}`), Prev: prev}
		r.Hash = sealWith(nil, r)
		if err := st.AppendAudit(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	for _, tc := range []struct {
		name string
		key  []byte
	}{{"nil", nil}, {"empty", []byte{}}, {"short", []byte("k")}} {
		t.Run(tc.name, func(t *testing.T) {
			if rep, err := audit.Verify(t.Context(), tc.key, st); err == nil {
				t.Errorf("Verify with a %s key vouched for a forged chain: %+v", tc.name, rep)
			}
		})
	}
}

// TestExportVerifiesOffline: an exported copy carries everything the
// hash covers, byte for byte, so it can be checked away from the hub
// with the key; any edit, removal or reordering of its lines is caught.
func TestExportVerifiesOffline(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{9}, 32)
	l, _ := audit.New(key, func() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)) })
	appendN(t, st, l, 3)
	err := st.InTx(t.Context(), func(tx store.Ops) error {
		// Names that came from outside: a token name, a shift import's
		// file name, with bytes that are not UTF-8; a detail with
		// characters JSON encoders like to escape.
		_, err := l.AppendMany(t.Context(), tx, []audit.Entry{
			{Actor: "token:t1 (ops\xff\xfe)", Action: "shifts.import", Subject: "import:rota-\xc3.csv", System: "cli",
				Detail: map[string]any{"note": "<b>&amp;</b> \u2028 é \xff"}},
			{Actor: "cli", Action: "user.update", Subject: "user:y", System: "cli", Detail: json.RawMessage(` { "a" : [1, 2] } `)},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, l, 2)
	want, err := audit.Verify(t.Context(), key, st)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	var buf bytes.Buffer
	if _, err := audit.Export(t.Context(), st, 0, &buf); err != nil {
		t.Fatal(err)
	}
	got, err := audit.VerifyExport(key, 0, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("VerifyExport of an intact export: %v", err)
	}
	if got.Records != want.Records || got.HeadSeq != want.HeadSeq || !bytes.Equal(got.HeadHash, want.HeadHash) {
		t.Errorf("VerifyExport = %+v, want %+v", got, want)
	}
	// A partial export (after record 2) verifies from its first record;
	// the same lines claimed as a whole export do not.
	var part bytes.Buffer
	if _, err := audit.Export(t.Context(), st, 2, &part); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.VerifyExport(key, 2, bytes.NewReader(part.Bytes())); err != nil || got.Records != want.Records-2 || !bytes.Equal(got.HeadHash, want.HeadHash) {
		t.Errorf("VerifyExport of a partial export = %+v, %v", got, err)
	}
	if _, err := audit.VerifyExport(key, 0, bytes.NewReader(part.Bytes())); err == nil {
		t.Error("VerifyExport took an export after record 2 for a whole one")
	}

	lines := strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("export has %d lines, want 7", len(lines))
	}
	edit := func(i int, fn func(map[string]any)) []string {
		out := append([]string(nil), lines...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out[i]), &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		b, _ := json.Marshal(m)
		out[i] = string(b) + "\n"
		return out
	}
	for _, tc := range []struct {
		name  string
		lines []string
		seq   int64
	}{
		{"first removed", lines[1:], 1},
		{"middle removed", append(append([]string(nil), lines[:3]...), lines[4:]...), 4},
		{"swapped", append(append(append([]string(nil), lines[:2]...), lines[3], lines[2]), lines[4:]...), 3},
		{"actor edited", edit(3, func(m map[string]any) { m["actor"] = "someone else" }), 4},
		{"detail edited", edit(2, func(m map[string]any) { m["detail"] = map[string]any{"i": 99} }), 3},
		{"time edited", edit(5, func(m map[string]any) { m["time"] = "2026-03-01T09:00:00Z" }), 6},
		{"hash rewritten", edit(6, func(m map[string]any) { m["hash"] = m["prev"] }), 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.VerifyExport(key, 0, strings.NewReader(strings.Join(tc.lines, "")))
			var broken *audit.BrokenError
			if !errors.As(err, &broken) || broken.Seq != tc.seq {
				t.Errorf("VerifyExport = %v, want broken at record %d", err, tc.seq)
			}
		})
	}
	if _, err := audit.VerifyExport(key, 0, strings.NewReader("not json\n")); err == nil {
		t.Error("VerifyExport accepted garbage")
	}
	if _, err := audit.VerifyExport(nil, 0, bytes.NewReader(buf.Bytes())); err == nil {
		t.Error("VerifyExport without a key vouched for the export")
	}
	// The detail a caller passed with spaces is sealed as it is stored.
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"user:y"`) && !strings.Contains(sc.Text(), `"detail":{"a":[1,2]}`) {
			t.Errorf("detail exported as %s", sc.Text())
		}
	}
}

// TestExportLineIsCanonical: what VerifyExport vouches for must be what
// every reader of the line sees. Go's decoder takes the last of repeated
// keys and matches keys in any case, so a line that repeats a field, or
// adds one, would verify while a SIEM, jq or Python shows the forged
// value. Only lines exactly as Export writes them verify (a CRLF line end
// aside, which no reader takes for content).
func TestExportLineIsCanonical(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{9}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 4)
	var buf bytes.Buffer
	if _, err := audit.Export(t.Context(), st, 0, &buf); err != nil {
		t.Fatal(err)
	}
	all := buf.String()
	lines := strings.SplitAfter(all, "\n")
	if !strings.Contains(lines[2], `"actor":"test",`) {
		t.Fatalf("line 3 = %s", lines[2])
	}
	with := func(line string) string {
		out := append([]string(nil), lines...)
		out[2] = line
		return strings.Join(out, "")
	}
	for _, tc := range []struct{ name, lines string }{
		// jq and Python read "actor" as mallory; Go read "ACTOR" last.
		{"field repeated in another case", with(strings.Replace(lines[2], `"actor":"test",`, `"actor":"mallory","ACTOR":"test",`, 1))},
		// A reader that keeps the first of repeated keys shows mallory.
		{"field repeated", with(strings.Replace(lines[2], `"actor":"test",`, `"actor":"mallory","actor":"test",`, 1))},
		{"field added", with(strings.Replace(lines[2], `"actor":"test",`, `"actor":"test","approvedBy":"ciso",`, 1))},
		{"time in another zone", with(strings.Replace(lines[2], `Z","actor"`, `+00:00","actor"`, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.lines == all {
				t.Fatal("the case changed nothing")
			}
			_, err := audit.VerifyExport(key, 0, strings.NewReader(tc.lines))
			var broken *audit.BrokenError
			if !errors.As(err, &broken) || broken.Seq != 3 {
				t.Errorf("VerifyExport = %v, want broken at record 3", err)
			}
		})
	}
	crlf := strings.ReplaceAll(all, "\n", "\r\n")
	if rep, err := audit.VerifyExport(key, 0, strings.NewReader(crlf)); err != nil || rep.Records != 4 {
		t.Errorf("VerifyExport with CRLF line ends = %+v, %v", rep, err)
	}
	noLastNewline := strings.TrimSuffix(all, "\n")
	if rep, err := audit.VerifyExport(key, 0, strings.NewReader(noLastNewline)); err != nil || rep.Records != 4 {
		t.Errorf("VerifyExport without the last newline = %+v, %v", rep, err)
	}
}

// endless is a reader of one line that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestVerifyExportRefusesEndlessLine: a hostile "export" of one endless
// line is refused once the line passes the limit, instead of reading it
// into memory for ever.
func TestVerifyExportRefusesEndlessLine(t *testing.T) {
	_, err := audit.VerifyExport(make([]byte, 32), 0, endless{})
	if err == nil || !strings.Contains(err.Error(), "not an audit export line") {
		t.Fatalf("VerifyExport of an endless line: %v", err)
	}
}
