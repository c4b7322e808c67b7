package session

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uidRespawn is the session user of TestRunAsNoSweepWhileSessionUserRuns.
const uidRespawn = 64108

// TestRunAsNoSweepWhileSessionUserRuns: while a process of the session
// user outlives the kill (here one started again as soon as it is killed,
// as cron or at would), the teardown fails and leaves the shared temporary
// directories alone: that process could swap its entries there for
// symlinks while the agent, root, goes through them. The retry, once
// nothing of the session user runs, sweeps them.
func TestRunAsNoSweepWhileSessionUserRuns(t *testing.T) {
	needRoot(t)
	freeUID(t, uidRespawn)
	shared := sharedTemp(t)
	m, err := New(Config{StateDir: t.TempDir(), RunAs: &Credential{UID: uidRespawn, GID: uidRespawn}, HomeRoot: homeRoot(t),
		Grace: 50 * time.Millisecond, TempDirs: []string{shared}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Start(t.Context(), Spec{ID: "respawn", User: "ana",
		Apps: []App{shApp("w", `echo secret > "$SHARED/report.pdf"; echo ready; exec sleep 60`, "SHARED="+shared)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, filepath.Join(s.Dir(), "apps.log"), "ready")
	left := filepath.Join(shared, "report.pdf")
	assertKept(t, left)

	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			cmd := exec.Command("/bin/sleep", "60")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uidRespawn, Gid: uidRespawn, Groups: []uint32{}}}
			if err := cmd.Start(); err != nil {
				t.Errorf("start a process of the session user: %v", err)
				return
			}
			_ = cmd.Wait()
		}
	}()
	stopped := false
	stopRespawn := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	t.Cleanup(func() {
		stopRespawn()
		for _, p := range userPids(uidRespawn) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		<-done
	})

	if err := s.Teardown(t.Context()); err == nil || !strings.Contains(err.Error(), "survived SIGKILL") {
		t.Fatalf("teardown while a process of the session user keeps coming back: %v, want it to fail", err)
	}
	assertKept(t, left)

	stopRespawn()
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown retried: %v", err)
	}
	assertNoDir(t, left)
}
