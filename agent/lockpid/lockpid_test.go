package lockpid

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// pidOf is what Read makes of a lock file holding data.
func pidOf(t *testing.T, data []byte) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	return Read(fd)
}

// FuzzRead: a lock file is written by whichever process held the
// directory last, and may hold anything a crash, another program or a
// hand left there. The PID read from it goes into the next one's refusal,
// so Read gives one that can be a process's (1 up to 2^22, the most
// pid_max can be) and is the number the file begins with, or 0; a PID as
// the lock holders write it (decimal, newline) reads back as itself.
func FuzzRead(f *testing.F) {
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
		got := pidOf(t, data)
		if got != 0 {
			if got < 1 || got >= Max {
				t.Fatalf("Read(%q) = %d: no process has that PID", data, got)
			}
			head := strings.TrimSpace(string(data[:min(len(data), 32)]))
			if digits := strings.TrimLeft(strings.TrimPrefix(head, "+"), "0"); digits != strconv.Itoa(got) {
				t.Fatalf("Read(%q) = %d: not the number the file holds", data, got)
			}
		}
		want := pid
		if pid < 1 || pid >= Max {
			want = 0
		}
		if back := pidOf(t, []byte(strconv.Itoa(pid)+"\n")); back != want {
			t.Fatalf("PID %d as a lock holder writes it reads back as %d, want %d", pid, back, want)
		}
	})
}
