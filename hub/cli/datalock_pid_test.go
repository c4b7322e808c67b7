package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataLockBogusPID: a hub.lock holding a number no process can have
// (written by something else, or garbled) is not passed on as the
// holder's PID, neither by lockDataDir's refusal nor by dataDirHeld.
func TestDataLockBogusPID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	held, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, bogus := range []string{"99999999999", "4194304", "-7", "0"} {
		// Advisory: the holder's flock does not keep the file from being
		// rewritten.
		if err := os.WriteFile(filepath.Join(dir, lockFile), []byte(bogus+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := lockDataDir(dir)
		want := fmt.Sprintf("%s: another hub (shiftgate-hub serve or demo) is running on it: stop it first", dir)
		if !errors.Is(err, errDataDirBusy) || !strings.Contains(err.Error(), want) {
			t.Errorf("hub.lock %q: %v, want errDataDirBusy saying %q", bogus, err, want)
		}
		if isHeld, holder, err := dataDirHeld(dir); err != nil || !isHeld || holder != "" {
			t.Errorf("hub.lock %q: dataDirHeld = %v, %q, %v; want held, holder unknown", bogus, isHeld, holder, err)
		}
	}
}
