package session

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uidSurvivor is the session user of TestRunAsNoSweepWhileSessionUserRuns.
const uidSurvivor = 64108

// TestRunAsNoSweepWhileSessionUserRuns: while a process of the session
// user outlives the kill (here one the kill cannot end yet; a job cron or
// at starts again is another), the teardown fails and leaves the shared
// temporary directories alone: that process could swap its entries there
// for symlinks while the agent, root, goes through them. The retry, once
// nothing of the session user runs, sweeps them.
func TestRunAsNoSweepWhileSessionUserRuns(t *testing.T) {
	needRoot(t)
	freeUID(t, uidSurvivor)
	shared := sharedTemp(t)
	cfg := runAsConfig(t, uidSurvivor)
	cfg.Grace, cfg.TempDirs = 50*time.Millisecond, []string{shared}
	s := startReady(t, mustNew(t, cfg), "respawn",
		shApp("w", `echo secret > "$SHARED/report.pdf"; echo ready; exec sleep 60`, "SHARED="+shared))
	left := filepath.Join(shared, "report.pdf")
	assertKept(t, left)

	// A process of the session user that SIGKILL cannot end yet: frozen
	// by the cgroup v1 freezer, whose frozen tasks die only once thawed
	// (what the kill cannot end, for whatever reason).
	freezer := filepath.Join("/sys/fs/cgroup/freezer", "shiftgate-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(freezer, 0o755); err != nil {
		t.Fatalf("this test needs the cgroup v1 freezer (/sys/fs/cgroup/freezer): %v", err)
	}
	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uidSurvivor, Gid: uidSurvivor, Groups: []uint32{}}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	thaw := func() { _ = os.WriteFile(filepath.Join(freezer, "freezer.state"), []byte("THAWED"), 0o644) }
	t.Cleanup(func() {
		thaw()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.Remove(freezer)
	})
	for _, w := range []struct{ file, value string }{{"cgroup.procs", strconv.Itoa(cmd.Process.Pid)}, {"freezer.state", "FROZEN"}} {
		if err := os.WriteFile(filepath.Join(freezer, w.file), []byte(w.value), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.Teardown(t.Context()); err == nil || !strings.Contains(err.Error(), "survived SIGKILL") {
		t.Fatalf("teardown while a process of the session user keeps coming back: %v, want it to fail", err)
	}
	assertKept(t, left)

	thaw()
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown retried: %v", err)
	}
	assertNoDir(t, left)
}
