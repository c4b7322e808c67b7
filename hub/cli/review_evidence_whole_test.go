package cli_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // to break an item as a failing disk would

	"github.com/shiftgate/shiftgate/hub"
)

// TestReviewShowEvidenceWholeOrNothing: `review show --format csv` whose
// read fails part-way (here the 1,051st of 1,100 items cannot be read,
// after the first page of 1,000 rows was) exits non-zero and writes
// nothing to stdout, where it wrote those rows, a CSV that looks like a
// complete export of fewer items; with --out FILE it leaves FILE as it
// was and no temporary file behind. Once the read succeeds, --out writes
// what stdout gets, byte for byte, and stdout gets nothing.
func TestReviewShowEvidenceWholeOrNothing(t *testing.T) {
	dir := anaCampaign(t, "camp-big", 1100)
	db, err := sql.Open("sqlite3", filepath.Join(dir, hub.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	breakItem := func(decided string) {
		t.Helper()
		if _, err := db.Exec(`UPDATE review_items SET decided = ` + decided + ` WHERE id = 'item-1050'`); err != nil {
			t.Fatal(err)
		}
	}
	breakItem(`'not a time'`)

	outDir := t.TempDir()
	file := filepath.Join(outDir, "evidence.csv")
	if err := os.WriteFile(file, []byte("last quarter's export\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	show := []string{"review", "show", "--data", dir, "--id", "camp-big", "--format", "csv"}
	code, out, errs := run(t, show...)
	if code == 0 || out != "" || !strings.Contains(errs, "nothing was written to stdout") {
		t.Errorf("review show --format csv, failing after %d rows: exit %d, %d lines on stdout, stderr %q; want non-zero, nothing, saying so",
			1000, code, strings.Count(out, "\n"), errs)
	}
	code, out, errs = run(t, append(show, "--out", file)...)
	if code == 0 || out != "" || !strings.Contains(errs, "nothing was written to "+file) {
		t.Errorf("review show --out, failing part-way: exit %d, stdout %q, stderr %q; want non-zero, nothing", code, out, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "last quarter's export\n" {
		t.Errorf("--out file after a failure: %q, %v; want it as it was", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(outDir, "*")); len(left) != 1 {
		t.Errorf("files beside --out after a failure: %q; want only the old file", left)
	}

	breakItem(`0`)
	code, whole, errs := run(t, show...)
	if code != 0 || strings.Count(whole, "\n") != 1101 {
		t.Fatalf("review show --format csv: exit %d, %d lines, %q; want a header and 1100 rows", code, strings.Count(whole, "\n"), errs)
	}
	code, out, errs = run(t, append(show, "--out", file)...)
	if code != 0 || out != "" || !strings.Contains(errs, "1100 items") {
		t.Fatalf("review show --out: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != whole {
		t.Errorf("--out file of %d bytes (%v), want stdout's %d, the same", len(b), err, len(whole))
	}
	if left, _ := filepath.Glob(filepath.Join(outDir, "*")); len(left) != 1 {
		t.Errorf("files beside --out: %q; want only the export", left)
	}

	if code, _, errs := run(t, "review", "show", "--data", dir, "--id", "camp-big", "--format", "json", "--out", file); code != 2 {
		t.Errorf("--out with --format json: exit %d, %q; want 2, a usage mistake", code, errs)
	}
}
