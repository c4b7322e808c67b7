package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateLockBogusPID: a lock file holding a number no process can have
// (written by something else, or garbled) is not passed on as the
// holder's PID in the refusal.
func TestStateLockBogusPID(t *testing.T) {
	dir := t.TempDir()
	held, err := LockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, bogus := range []string{"99999999999", "4194304", "-7", "0"} {
		// Advisory: the holder's flock does not keep the file from being
		// rewritten.
		if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(bogus+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LockStateDir(dir)
		want := fmt.Sprintf("%s: another shiftgate-agent or shiftgate-kiosk is running on it: stop it first", dir)
		if !errors.Is(err, ErrStateDirBusy) || !strings.Contains(err.Error(), want) {
			t.Errorf("lock file %q: %v, want ErrStateDirBusy saying %q", bogus, err, want)
		}
	}
}
