package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// lockPIDOf is what readLockPID makes of a lock file holding data.
func lockPIDOf(t *testing.T, data []byte) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), LockFile)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	return readLockPID(fd)
}

// FuzzReadLockPID: agent.lock is written by whichever process held the
// state directory last, and may hold anything a crash, another program or
// a hand left there. The PID read from it goes into the next one's error
// message, so readLockPID gives one that can be a process's (1 up to
// 2^22, the most pid_max can be) and is the number the file begins with,
// or 0; a PID as LockStateDir writes it reads back as itself.
func FuzzReadLockPID(f *testing.F) {
	f.Add([]byte("12345\n"), 12345)
	f.Add([]byte(strconv.Itoa(os.Getpid())+"\n"), os.Getpid())
	f.Add([]byte("4194303\n"), 4194303)
	f.Add([]byte("4194304\n"), 4194304)
	f.Add([]byte("99999999999999999999\n"), 0)
	f.Add([]byte("-1\n"), -1)
	f.Add([]byte("0\n"), 0)
	f.Add([]byte("\x00\x00\x00\x00"), 1)
	f.Add([]byte("+17 \r\n"), 17)
	f.Add([]byte("12"), 1<<40)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, data []byte, pid int) {
		got := lockPIDOf(t, data)
		if got != 0 {
			if got < 1 || got >= maxPID {
				t.Fatalf("readLockPID(%q) = %d: no process has that PID", data, got)
			}
			head := strings.TrimSpace(string(data[:min(len(data), 32)]))
			if digits := strings.TrimLeft(strings.TrimPrefix(head, "+"), "0"); digits != strconv.Itoa(got) {
				t.Fatalf("readLockPID(%q) = %d: not the number the file holds", data, got)
			}
		}
		want := pid
		if pid < 1 || pid >= maxPID {
			want = 0
		}
		if back := lockPIDOf(t, []byte(strconv.Itoa(pid)+"\n")); back != want {
			t.Fatalf("PID %d as LockStateDir writes it reads back as %d, want %d", pid, back, want)
		}
	})
}

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
