package audit_test

import (
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestKeysMadeByStartsTogether: starts in one process on one new data
// directory (a demo's hub and the token create it runs, tests), each
// loading the keys as hub.New does: audit.key, then the signing key. The
// directory's flock excludes each start's open of the directory from the
// others' within the process too, so one that took it twice would hang
// here; each takes it once per key, and all end with the one key and the
// one signing key a single start made, and nothing beside them.
func TestKeysMadeByStartsTogether(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	const starts = 8
	keys := make([][]byte, starts)
	ids := make([]string, starts)
	errs := make([]error, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Go(func() {
			if keys[i], errs[i] = audit.LoadOrCreateKeyLog(ctx, dir, noRecords{}, nil); errs[i] != nil {
				return
			}
			s, err := audit.LoadOrCreateSigner(ctx, dir, noRecords{}, nil)
			ids[i], errs[i] = keyIDOf(s), err
		})
	}
	wg.Wait()
	for i := range starts {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if string(keys[i]) != string(keys[0]) || ids[i] != ids[0] {
			t.Fatalf("start %d: key %x, signing key %s; start 0: %x, %s: want one of each", i, keys[i], ids[i], keys[0], ids[0])
		}
	}
	if onDisk, err := audit.LoadKey(dir); err != nil || string(onDisk) != string(keys[0]) {
		t.Errorf("audit.key %x, %v: want the key the starts returned", onDisk, err)
	}
	if s, err := audit.LoadSigner(dir); err != nil || s.KeyID() != ids[0] {
		t.Errorf("audit-sign.key %s, %v: want the key the starts returned, %s", keyIDOf(s), err, ids[0])
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{audit.SignKeyFile, audit.PublicKeyFile, audit.KeyFile}; !slices.Equal(names, want) {
		t.Errorf("data directory holds %v, want only %v", names, want)
	}
}
