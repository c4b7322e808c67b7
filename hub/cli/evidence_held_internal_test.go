package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// bigEvidence writes a CSV of n rows, as a large campaign's export.
type bigEvidence struct{ n int }

func (b bigEvidence) WriteEvidence(_ context.Context, w io.Writer, _, _ string) (governance.Evidence, error) {
	io.WriteString(w, "campaign_id,user\n")
	for range b.n {
		io.WriteString(w, "camp,"+strings.Repeat("a", 200)+"\n")
	}
	return governance.Evidence{}, nil
}

// TestEvidenceCSVNotHeldInMemory: `review show --format csv` to stdout
// runs inside readHub, which holds a command's output until the database
// is known not to have changed. The export, written to a temporary file
// so as to cost disk and not memory (as the README says: it "keeps no
// rows"), was then copied whole into that hold: tens of megabytes in
// memory for a campaign of 100,000 items. The file is now held as a
// file, copied to stdout at print and removed; discarded (the database
// changed), it is removed and nothing is printed.
func TestEvidenceCSVNotHeldInMemory(t *testing.T) {
	const rows = 10000 // about 2 MiB
	whole := func() string {
		var b bytes.Buffer
		bigEvidence{rows}.WriteEvidence(t.Context(), &b, "", "")
		return b.String()
	}()

	var held heldOutput
	var out, errb bytes.Buffer
	e := env{stdout: held.to(&out), stderr: held.to(&errb)}
	if err := e.evidenceCSV(t.Context(), bigEvidence{rows}, "camp", ""); err != nil {
		t.Fatal(err)
	}
	inMemory, files := 0, []string{}
	for _, c := range held.chunks {
		inMemory += len(c.b)
		if c.f != nil {
			files = append(files, c.f.Name())
		}
	}
	if inMemory > 64<<10 {
		t.Errorf("%d bytes of the %d-byte export held in memory; want it held on disk", inMemory, len(whole))
	}
	if err := held.print(); err != nil {
		t.Fatal(err)
	}
	if out.String() != whole {
		t.Errorf("stdout has %d bytes; want the export's %d", out.Len(), len(whole))
	}
	if !strings.Contains(errb.String(), "campaign") {
		t.Errorf("stderr %q; want the totals", errb.String())
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("temporary file %s left after print", f)
		}
	}

	// The database changed: readHub discards, and nothing is printed.
	var again heldOutput
	out.Reset()
	e = env{stdout: again.to(&out), stderr: again.to(&errb)}
	if err := e.evidenceCSV(t.Context(), bigEvidence{rows}, "camp", ""); err != nil {
		t.Fatal(err)
	}
	files = files[:0]
	for _, c := range again.chunks {
		if c.f != nil {
			files = append(files, c.f.Name())
		}
	}
	if len(files) != 1 {
		t.Fatalf("held files %q; want the export's", files)
	}
	again.discard()
	if _, err := os.Stat(files[0]); err == nil {
		t.Errorf("temporary file %s left after discard", files[0])
	}
	if out.Len() != 0 {
		t.Errorf("stdout has %d bytes after discard; want none", out.Len())
	}
}

// TestHeldOutputAfterFile: what is written to a writer after a file held
// for it is printed after the file, not dropped nor put before it.
func TestHeldOutputAfterFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "held-*")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "file\n")
	var held heldOutput
	var out bytes.Buffer
	w := held.to(&out)
	io.WriteString(w, "before\n")
	held.holdFile(&out, f)
	io.WriteString(w, "after\n")
	if err := held.print(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "before\nfile\nafter\n"; got != want {
		t.Errorf("printed %q; want %q", got, want)
	}
}
