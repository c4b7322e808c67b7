package session

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestRemoveKilledCgroupWaitsForExits: a session cgroup whose last process
// is still finishing its exit answers rmdir with EBUSY; removing it after
// a kill waits that moment out (here a process killed 100 ms later stands
// for an exit the kernel has not finished) instead of failing the teardown
// into a retry with backoff. A cgroup that stays busy past the wait is
// still an error.
func TestRemoveKilledCgroupWaitsForExits(t *testing.T) {
	needRoot(t)
	m := mustNew(t, Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond})
	if m.cgroups == "" {
		t.Fatal("no session cgroups as root")
	}
	start := func(name string) (string, *exec.Cmd) {
		cg := filepath.Join(m.cgroups, cgroupName(m.root, name))
		if err := os.Mkdir(cg, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = removeKilledCgroup(cg) })
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
		return cg, cmd
	}

	cg, cmd := start("exiting")
	exited := make(chan struct{})
	t.Cleanup(func() { <-exited })
	go func() {
		defer close(exited)
		time.Sleep(100 * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if err := removeKilledCgroup(cg); err != nil {
		t.Fatalf("remove a cgroup whose process exits in 100 ms: %v", err)
	}
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s still there: %v", cg, err)
	}

	busy, stays := start("busy")
	t.Cleanup(func() { _ = stays.Process.Kill(); _ = stays.Wait() })
	t0 := time.Now()
	if err := removeKilledCgroup(busy); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("remove a cgroup that stays busy: %v, want EBUSY", err)
	}
	if d := time.Since(t0); d < killedCgroupWait {
		t.Errorf("gave up after %v, want at least %v", d, killedCgroupWait)
	}
}
