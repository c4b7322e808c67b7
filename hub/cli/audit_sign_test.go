package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// signingHub is the data directory of a hub that has run (serve made its
// keys, the export signing key among them) and stopped, with n kiosk
// enrollment codes made since.
func signingHub(t *testing.T, n int) string {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{})
	h.Stop()
	for i := range n {
		if code, _, errs := run(t, "device", "code", "--data", h.DataDir, "--site", "north", "--name", fmt.Sprintf("north-%d", i+1)); code != 0 {
			t.Fatalf("device code: %d %s", code, errs)
		}
	}
	return h.DataDir
}

var keyIDRE = regexp.MustCompile(`key id ([0-9a-f]{64})\b`)

// publicKey runs audit public-key and returns the PEM and the key id.
func publicKey(t *testing.T, dir string) (string, string) {
	t.Helper()
	code, pem, errs := run(t, "audit", "public-key", "--data", dir)
	m := keyIDRE.FindStringSubmatch(errs)
	if code != 0 || !strings.HasPrefix(pem, "-----BEGIN PUBLIC KEY-----\n") || m == nil {
		t.Fatalf("audit public-key: %d %q %q", code, pem, errs)
	}
	return pem, m[1]
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuditPublicKey: a hub's start makes the export signing key (0600)
// and its public key (0644) beside audit.key; audit public-key prints the
// public key with its key id, reading only, in a read-only directory too,
// and refuses a key readable by others as audit.key is refused.
func TestAuditPublicKey(t *testing.T) {
	dir := signingHub(t, 1)
	for name, mode := range map[string]fs.FileMode{audit.KeyFile: 0o600, audit.SignKeyFile: 0o600, audit.PublicKeyFile: 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v; want mode %v", name, err, mode)
		}
	}
	pem, id := publicKey(t, dir)
	if file, _ := os.ReadFile(filepath.Join(dir, audit.PublicKeyFile)); string(file) != pem {
		t.Errorf("audit public-key printed\n%s\nbut %s holds\n%s", pem, audit.PublicKeyFile, file)
	}
	pub, err := audit.ParsePublicKey([]byte(pem))
	if err != nil || audit.KeyID(pub) != id {
		t.Errorf("printed key %v, key id %s; want the id of the key printed (%s)", err, id, audit.KeyID(pub))
	}

	// Read-only, no lock: the directory as a copy under investigation.
	ro := filepath.Join(t.TempDir(), "d")
	copyFiles(t, dir, ro, hub.DBFile, audit.KeyFile, audit.SignKeyFile, audit.PublicKeyFile)
	readOnlyDir(t, ro)
	before := snapshot(t, ro)
	if roPEM, roID := publicKey(t, ro); roPEM != pem || roID != id {
		t.Errorf("public key of the copy: %s %s", roID, roPEM)
	}
	if code, out, errs := run(t, "audit", "export", "--data", ro); code != 0 || !strings.Contains(out, `{"signature":`) || !strings.Contains(errs, "signed by key "+id) {
		t.Errorf("signed export of a read-only copy: %d %q %q", code, out, errs)
	}
	if after := snapshot(t, ro); !maps(before, after) {
		t.Errorf("public-key or export changed the directory:\nbefore %v\nafter  %v", before, after)
	}

	// A private key readable by the group is refused, as audit.key is,
	// by public-key and by export.
	os.Chmod(filepath.Join(dir, audit.SignKeyFile), 0o640)
	for _, args := range [][]string{{"audit", "public-key", "--data", dir}, {"audit", "export", "--data", dir}} {
		if code, out, errs := run(t, args...); code != 1 || out != "" || !strings.Contains(errs, "chmod 600") {
			t.Errorf("%v with a group-readable signing key: %d %q %q", args, code, out, errs)
		}
	}
	os.Chmod(filepath.Join(dir, audit.SignKeyFile), 0o600)

	// A hub from before signed exports has no signing key (the CLI makes
	// one with a new hub: removed here).
	old := t.TempDir()
	if code, _, errs := run(t, "device", "code", "--data", old, "--site", "north", "--name", "north-1"); code != 0 {
		t.Fatalf("device code: %d %s", code, errs)
	}
	for _, f := range []string{audit.SignKeyFile, audit.PublicKeyFile} {
		if err := os.Remove(filepath.Join(old, f)); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errs := run(t, "audit", "public-key", "--data", old); code != 1 || out != "" || !strings.Contains(errs, audit.SignKeyFile+" does not exist") {
		t.Errorf("public-key without a signing key: %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "audit", "public-key", "--data", filepath.Join(old, "typo")); code != 1 || !strings.Contains(errs, "holds no hub") {
		t.Errorf("public-key of a directory without a hub: %d %q", code, errs)
	}
}

// TestAuditVerifyWithPublicKey: an auditor holds an export and the hub's
// public key, nothing else: no audit.key, no database. The export
// verifies, in full and from --after, with anchors; each way of changing
// it (records, trailer, another export's trailer, another key's signature)
// is reported broken, exit 1; an export cut short of its trailer, or one
// from a hub before signed exports, is not taken as verified.
func TestAuditVerifyWithPublicKey(t *testing.T) {
	dir := signingHub(t, 3)
	pem, id := publicKey(t, dir)
	code, all, errs := run(t, "audit", "export", "--data", dir)
	if code != 0 || !strings.Contains(errs, "signed by key "+id) {
		t.Fatalf("audit export: %d %q", code, errs)
	}
	code, tail, errs := run(t, "audit", "export", "--data", dir, "--after", "2")
	if code != 0 {
		t.Fatalf("audit export --after 2: %d %q", code, errs)
	}
	head := verifyHead(t, dir)
	n, _ := fmt.Sscanf(head, "%d:", new(int64))
	if n != 1 {
		t.Fatalf("head %s", head)
	}
	records := strings.Count(all, "\n") - 1

	auditor := t.TempDir()
	pubFile := writeFile(t, filepath.Join(auditor, "hub.pub"), pem)
	file := filepath.Join(auditor, "trail.jsonl")
	verify := func(export string, args ...string) (int, string, string) {
		t.Helper()
		writeFile(t, file, export)
		return run(t, append([]string{"audit", "verify", "--export", file, "--public-key", pubFile}, args...)...)
	}

	code, out, errs := verify(all)
	want := fmt.Sprintf("OK: signed by key %s; %d records after 0, consecutive; linkage intact; head %s\nhashes not recomputed: they need audit.key", id, records, head)
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("verify with the public key: %d %q %q\nwant %q", code, out, errs, want)
	}
	if code, out, errs := verify(tail, "--after", "2"); code != 0 || !strings.HasPrefix(out, fmt.Sprintf("OK: signed by key %s; %d records after 2", id, records-2)) {
		t.Errorf("verify --after 2 with the public key: %d %q %q", code, out, errs)
	}
	if code, out, errs := verify(tail); code != 1 || !strings.HasPrefix(out, "BROKEN at record 1") || !strings.Contains(errs, "verify it with the same --after") {
		t.Errorf("verify of an export after 2 without --after: %d %q %q", code, out, errs)
	}
	if code, out, errs := verify(all, "--anchor", head); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("verify --anchor head with the public key: %d %q %q", code, out, errs)
	}
	wrong := strings.SplitN(head, ":", 2)[0] + ":" + strings.Repeat("0", 64)
	if code, out, errs := verify(all, "--anchor", wrong); code != 1 || !strings.HasPrefix(out, "BROKEN at record") || !strings.Contains(errs, "rewritten") {
		t.Errorf("verify --anchor of another trail with the public key: %d %q %q", code, out, errs)
	}
	ents, _ := os.ReadDir(auditor)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"hub.pub", "trail.jsonl"}) {
		t.Errorf("the auditor's directory holds %v, want only the public key and the export", names)
	}

	lines := strings.SplitAfter(all, "\n")
	lines = lines[:len(lines)-1] // the empty string after the last "\n"
	trailer := lines[len(lines)-1]
	recs := lines[:len(lines)-1]
	join := func(ls ...[]string) string {
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(strings.Join(l, ""))
		}
		return b.String()
	}
	var tr struct{ Signature map[string]any }
	if err := json.Unmarshal([]byte(trailer), &tr); err != nil {
		t.Fatal(err)
	}
	other := signingHub(t, 3) // same records, another hub and key
	_, otherAll, _ := run(t, "audit", "export", "--data", other)
	otherLines := strings.SplitAfter(otherAll, "\n")
	otherTrailer := otherLines[len(otherLines)-2]
	dropLast := append(append([]string(nil), recs[:len(recs)-1]...), strings.Replace(trailer, fmt.Sprintf(`"records":%d`, records), fmt.Sprintf(`"records":%d`, records-1), 1))
	swapped := append([]string(nil), recs...)
	swapped[1], swapped[2] = swapped[2], swapped[1]

	for _, tc := range []struct {
		name, export, out string
	}{
		{"a byte of a record edited", strings.Replace(all, "north-2", "north-9", 1), "BROKEN: signature: "},
		{"a record dropped", join(recs[:2], recs[3:], []string{trailer}), "BROKEN at record 3: "},
		{"last record dropped, count fixed", join(dropLast), "BROKEN: signature: "},
		{"records swapped", join(swapped, []string{trailer}), "BROKEN at record 2: "},
		{"trailer's head changed", strings.Replace(all, `"head":"`+head, `"head":"`+wrong, 1), "BROKEN: signature: "},
		{"trailer's after changed", strings.Replace(all, `"after":0,`, `"after":1,`, 1), "BROKEN: signature: "},
		{"trailer from another export", join(recs, []string{otherTrailer}), "BROKEN: signature: "},
		{"another hub's signed export", otherAll, "BROKEN: signature: "},
		{"trailer cut off", join(recs), "NOT VERIFIED: "},
		{"lines after the trailer", all + recs[0], "BROKEN: signature: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.export == all {
				t.Fatal("the case changed nothing")
			}
			code, out, errs := verify(tc.export)
			if code != 1 || !strings.HasPrefix(out, tc.out) || strings.Contains(errs, "intact") {
				t.Errorf("verify: %d %q %q; want exit 1, %q, and nothing called intact", code, out, errs, tc.out)
			}
		})
	}
	// Another hub's export under its own public key verifies: the key
	// decides, and its id is printed to be compared.
	otherPEM, otherID := publicKey(t, other)
	writeFile(t, pubFile, otherPEM)
	if code, out, errs := verify(otherAll); code != 0 || !strings.Contains(out, "signed by key "+otherID) || otherID == id {
		t.Errorf("verify of the other hub's export with its key: %d %q %q", code, out, errs)
	}
	writeFile(t, pubFile, pem)

	// A key given as the public key: refused, and said what it is.
	writeFile(t, filepath.Join(auditor, "wrong.pem"), string(mustReadFile(t, filepath.Join(dir, audit.SignKeyFile))))
	if code, _, errs := run(t, "audit", "verify", "--export", file, "--public-key", filepath.Join(auditor, "wrong.pem")); code != 1 || !strings.Contains(errs, "private signing key") {
		t.Errorf("verify with the private key as public key: %d %q", code, errs)
	}
}

// TestAuditVerifySignedWithKey: with audit.key (--data) the records'
// hashes are recomputed as before and a trailer, when there is one, is
// checked too: against the lines always, its signature with --public-key.
// An unsigned export (a hub from before signed exports, or a copy without
// the signing key) verifies with the key, and is refused with the public
// key alone.
func TestAuditVerifySignedWithKey(t *testing.T) {
	dir := signingHub(t, 3)
	pem, id := publicKey(t, dir)
	_, all, _ := run(t, "audit", "export", "--data", dir)
	tmp := t.TempDir()
	pubFile := writeFile(t, filepath.Join(tmp, "hub.pub"), pem)
	file := writeFile(t, filepath.Join(tmp, "trail.jsonl"), all)

	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file); code != 0 || !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, "signature not checked: give --public-key") {
		t.Errorf("verify with the key: %d %q %q", code, out, errs)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file, "--public-key", pubFile); code != 0 || !strings.Contains(out, "chain intact") || !strings.Contains(out, "signed by key "+id+": signature checked") {
		t.Errorf("verify with the key and the public key: %d %q %q", code, out, errs)
	}
	lines := strings.SplitAfter(all, "\n")
	trailer := lines[len(lines)-2]
	cut := strings.Join(lines[:len(lines)-3], "") + trailer // the last record dropped, the trailer kept
	writeFile(t, file, cut)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file); code != 1 || !strings.HasPrefix(out, "BROKEN: signature: ") {
		t.Errorf("verify with the key of an export cut short of its trailer: %d %q %q", code, out, errs)
	}
	edited := strings.Replace(all, "north-2", "north-9", 1)
	writeFile(t, file, edited)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file, "--public-key", pubFile); code != 1 || !strings.HasPrefix(out, "BROKEN at record ") || !strings.Contains(out, "edited") {
		t.Errorf("verify with both keys of an edited export: %d %q %q", code, out, errs)
	}

	// The database and audit.key copied without the signing key: the
	// export is made, unsigned, and says so.
	bare := filepath.Join(t.TempDir(), "d")
	copyFiles(t, dir, bare, hub.DBFile, audit.KeyFile)
	code, unsigned, errs := run(t, "audit", "export", "--data", bare)
	if code != 0 || strings.Contains(unsigned, `"signature"`) || !strings.Contains(errs, "UNSIGNED") || unsigned != strings.Join(lines[:len(lines)-2], "") {
		t.Fatalf("export without a signing key: %d %q %q", code, unsigned, errs)
	}
	writeFile(t, file, unsigned)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file); code != 0 || !strings.Contains(out, "unsigned export") {
		t.Errorf("verify with the key of an unsigned export: %d %q %q", code, out, errs)
	}
	for _, args := range [][]string{
		{"audit", "verify", "--export", file, "--public-key", pubFile},
		{"audit", "verify", "--data", dir, "--export", file, "--public-key", pubFile},
	} {
		if code, out, errs := run(t, args...); code != 1 || !strings.HasPrefix(out, "NOT VERIFIED") || !strings.Contains(errs, "no signature trailer") {
			t.Errorf("%v of an unsigned export: %d %q %q", args, code, out, errs)
		}
	}
}

// TestAuditExportSignsOnlyAnIntactChain: a row edited in the database by
// someone without audit.key is exported (the copy is evidence) but not
// signed, and export exits 1 naming the record: the hub's signature never
// vouches for a record its key does not.
func TestAuditExportSignsOnlyAnIntactChain(t *testing.T) {
	dir := signingHub(t, 3)
	db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET subject = 'device:forged' WHERE action = 'device.code' AND seq = (SELECT max(seq) FROM audit)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	code, out, errs := run(t, "audit", "export", "--data", dir)
	if code != 1 || !strings.Contains(out, "device:forged") || strings.Contains(out, `"signature"`) || !strings.Contains(errs, "UNSIGNED") || !strings.Contains(errs, "audit chain broken at record") {
		t.Errorf("export of an edited trail: %d %q %q; want the records, no signature, exit 1", code, out, errs)
	}
}

// TestAuditUsage: every mistake in an audit command line exits 2 before
// any file is opened or made.
func TestAuditUsage(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "gone")
	data, file, pub := filepath.Join(gone, "data"), filepath.Join(gone, "trail.jsonl"), filepath.Join(gone, "hub.pub")
	for _, args := range [][]string{
		{"audit"},
		{"audit", "sign"},
		{"audit", "verify"},
		{"audit", "verify", "--public-key", pub},
		{"audit", "verify", "--data", data, "--public-key", pub},
		{"audit", "verify", "--export", file},
		{"audit", "verify", "--data", data, "--after", "3"},
		{"audit", "verify", "--export", file, "--public-key", pub, "--after", "-1"},
		{"audit", "verify", "--export", file, "--public-key", pub, "--anchor", "3"},
		{"audit", "verify", "--export", file, "--public-key", pub, "extra"},
		{"audit", "export", "--data", data, "--public-key", pub},
		{"audit", "export", "--data", data, "--after", "-2"},
		{"audit", "export"},
		{"audit", "public-key"},
		{"audit", "public-key", "--data", data, "extra"},
		{"audit", "public-key", "--data", data, "--export", file},
	} {
		code, out, errs := run(t, args...)
		if code != 2 || out != "" || !strings.Contains(errs, "Run 'shiftgate-hub ") {
			t.Errorf("%v: %d %q %q; want exit 2 and where to look", args, code, out, errs)
		}
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("a usage mistake made files: %v", err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditVerifyKeepHeadHint: every verification that reaches a head
// (of the database, of an export with audit.key, of an export with the
// public key alone) tells on stderr to keep that head elsewhere and
// check later runs with --anchor: without one, records cut off the end
// go unseen.
func TestAuditVerifyKeepHeadHint(t *testing.T) {
	dir := signingHub(t, 1)
	pem, _ := publicKey(t, dir)
	head := verifyHead(t, dir)
	_, all, _ := run(t, "audit", "export", "--data", dir)
	tmp := t.TempDir()
	pubFile := writeFile(t, filepath.Join(tmp, "hub.pub"), pem)
	file := writeFile(t, filepath.Join(tmp, "trail.jsonl"), all)
	hint := "check later runs with --anchor " + head + ": "
	for _, args := range [][]string{
		{"audit", "verify", "--data", dir},
		{"audit", "verify", "--data", dir, "--export", file},
		{"audit", "verify", "--export", file, "--public-key", pubFile},
	} {
		if code, _, errs := run(t, args...); code != 0 || !strings.Contains(errs, hint) {
			t.Errorf("%v: exit %d, stderr %q; want %q", args, code, errs, hint)
		}
	}
}
