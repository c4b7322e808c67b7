package cli_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestAuditExportChecksTheWatchHead: audit export signs only a trail that
// holds the record audit.head names, as audit verify checks it. Records
// cut off the end leave every record left intact under audit.key, so
// without that check the hub signed the shorter trail that its own audit
// verify calls broken, and an auditor checking the export with the public
// key alone was told it was intact. After a restore from an older backup
// the export is unsigned until the hub's watch has recorded the rollback,
// and signed again after.
func TestAuditExportChecksTheWatchHead(t *testing.T) {
	dir := signingHub(t, 4)
	pem, _ := publicKey(t, dir)
	pub := writeFile(t, filepath.Join(t.TempDir(), "hub.pub"), pem)
	out := filepath.Join(t.TempDir(), "b.db")
	if code, stdout, stderr := run(t, "backup", "--data", dir, "--out", out); code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, stdout, stderr)
	}
	deviceCodes(t, dir, "north-5", "north-6")
	st := watchOnce(t, dir)
	if st.Checked.Seq == 0 {
		t.Fatalf("the watch checked nothing: %+v", st)
	}
	code, stdout, stderr := run(t, "audit", "export", "--data", dir)
	if code != 0 || !strings.Contains(stdout, `"signature"`) {
		t.Fatalf("export of an intact trail: %d %q %q; want it signed", code, stdout, stderr)
	}

	// Someone who can write hub.db cuts the newest record off.
	live := dir
	db, err := sql.Open("sqlite3", filepath.Join(live, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if code, stdout, stderr := run(t, "audit", "verify", "--data", live); code != 1 || !strings.HasPrefix(stdout, "BROKEN at record ") {
		t.Fatalf("verify of the cut trail: %d %q %q; want BROKEN (against %s)", code, stdout, stderr, audit.HeadFile)
	}
	code, stdout, stderr = run(t, "audit", "export", "--data", live)
	if code != 1 || strings.Contains(stdout, `"signature"`) || !strings.Contains(stderr, "UNSIGNED") || !strings.Contains(stderr, st.Checked.String()) {
		t.Errorf("export of a trail cut before %s: %d %q %q; want the records, no signature, exit 1 naming the head", audit.HeadFile, code, stdout, stderr)
	}
	file := writeFile(t, filepath.Join(t.TempDir(), "cut.jsonl"), stdout)
	if code, stdout, stderr := run(t, "audit", "verify", "--export", file, "--public-key", pub); code != 1 || !strings.HasPrefix(stdout, "NOT VERIFIED") {
		t.Errorf("verify of that export with the public key: %d %q %q; want NOT VERIFIED", code, stdout, stderr)
	}

	// A restore from the older backup looks the same until the hub's
	// watch has recorded the rollback; then exports are signed again.
	restoreInPlace(t, out, dir)
	if code, stdout, stderr := run(t, "audit", "export", "--data", dir); code != 1 || strings.Contains(stdout, `"signature"`) {
		t.Errorf("export of the restored trail before the hub started: %d %q %q; want it unsigned", code, stdout, stderr)
	}
	if st := watchOnce(t, dir); st.Breaks != 1 || st.Stopped != "" {
		t.Fatalf("the watch on the restored trail: %+v; want one break recorded and the watch going on", st)
	}
	code, stdout, stderr = run(t, "audit", "export", "--data", dir)
	if code != 0 || !strings.Contains(stdout, `"signature"`) || !strings.Contains(stdout, `"audit.alert"`) {
		t.Fatalf("export once the watch recorded the rollback: %d %q %q; want it signed, with the audit.alert", code, stdout, stderr)
	}
	file = writeFile(t, filepath.Join(t.TempDir(), "restored.jsonl"), stdout)
	if code, stdout, stderr := run(t, "audit", "verify", "--export", file, "--public-key", pub); code != 0 {
		t.Errorf("verify of the restored trail's export: %d %q %q", code, stdout, stderr)
	}
}
