package audit_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestStrayHeadRemoved: a hub that crashed while its watch wrote
// audit.head left the file it wrote beside it (".audit.head.NNN") for
// good: nothing removed it, since the keys' strays are removed under a
// lock the watch does not take. RemoveStrayHeads, called where no watch
// runs, removes it and says so by name; audit.head stays as it was, and
// what only looks like such a file is left alone: other names (the keys'
// strays among them), a symlink (its target not touched) and a directory.
func TestStrayHeadRemoved(t *testing.T) {
	dir := t.TempDir()
	head := audit.Anchor{Seq: 7, Hash: bytes.Repeat([]byte{0xab}, 32)}.String() + "\n"
	writeKeyFile(t, dir, audit.HeadFile, []byte(head), 0o600)
	const stray = ".audit.head.123456"
	writeKeyFile(t, dir, stray, []byte("8:"+strings.Repeat("cd", 32)+"\n"), 0o600)
	othersKept := notOurs(t, dir, ".audit.head.", ".audit.head.12x", ".audit.head.12.bak", "audit.head.123", ".audit.head", ".audit.key.123")
	lookalikesKept := lookalikes(t, dir, ".audit.head.111", ".audit.head.222")

	var logged bytes.Buffer
	audit.RemoveStrayHeads(dir, slog.New(slog.NewTextHandler(&logged, nil)))

	if _, err := os.Lstat(filepath.Join(dir, stray)); !os.IsNotExist(err) {
		t.Errorf("stray %s: %v, want it removed", stray, err)
	}
	if !strings.Contains(logged.String(), stray) {
		t.Errorf("log %q: want it to name %s", logged.String(), stray)
	}
	if b, err := os.ReadFile(filepath.Join(dir, audit.HeadFile)); err != nil || string(b) != head {
		t.Errorf("audit.head %q, %v: want it as it was, %q", b, err, head)
	}
	if a, ok, err := audit.LoadHead(dir); err != nil || !ok || a.Seq != 7 {
		t.Errorf("LoadHead = %v, %v, %v: want the head in place, 7", a, ok, err)
	}
	othersKept()
	lookalikesKept()

	// A directory that cannot be read is logged, not a reason to stop.
	logged.Reset()
	audit.RemoveStrayHeads(filepath.Join(dir, "missing"), slog.New(slog.NewTextHandler(&logged, nil)))
	if !strings.Contains(logged.String(), "could not look for audit head files") {
		t.Errorf("log %q: want it to say the directory could not be read", logged.String())
	}
}
