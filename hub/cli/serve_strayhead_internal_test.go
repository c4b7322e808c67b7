package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestServeRemovesStrayHead: serve, once it holds the data directory's
// lock and before its hub's audit watch runs, removes the audit.head a
// hub that crashed wrote aside and never renamed into place, which stayed
// for good; audit.head itself is left as it was. Refused because another
// hub holds the directory, it removes nothing: that hub's watch may be
// writing the file.
func TestServeRemovesStrayHead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	head := audit.Anchor{Seq: 3, Hash: bytes.Repeat([]byte{0x5a}, 32)}.String() + "\n"
	stray := filepath.Join(dir, ".audit.head.4242")
	for path, content := range map[string]string{filepath.Join(dir, audit.HeadFile): head, stray: "4:" + strings.Repeat("ef", 32) + "\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	held, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runIn(t, "serve", "--data", dir, "--listen", "127.0.0.1:0"); code != 1 || !strings.Contains(errs, "another hub") {
		t.Fatalf("serve on a locked directory: exit %d, %q; want it refused", code, errs)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("serve refused on a locked directory removed the running hub's audit head being written: %v", err)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}

	// Started, and stopped at once: the hub's context has ended before it
	// is made, so its watch never writes audit.head.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb bytes.Buffer
	Run(ctx, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--log-format", "text"}, &out, &errb)
	if _, err := os.Lstat(stray); !os.IsNotExist(err) {
		t.Errorf("stray audit head after serve started: %v, want it removed", err)
	}
	if !strings.Contains(errb.String(), filepath.Base(stray)) {
		t.Errorf("serve's log %q: want it to name the stray it removed", errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, audit.HeadFile)); err != nil || string(b) != head {
		t.Errorf("audit.head %q, %v: want it as it was, %q", b, err, head)
	}
}
