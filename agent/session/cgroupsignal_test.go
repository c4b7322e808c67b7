package session

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestCgroupSignalTakesStartTime: a process found in the session cgroup
// is signalled on the strength of its start time (the identity check of
// signalProc), without cgroup.procs being read again for it: a signal
// round over thousands of processes of a forking app would be quadratic.
// Seen from outside, a process found in the group and moved out of it
// since (which only root can do) is still signalled as the session's.
func TestCgroupSignalTakesStartTime(t *testing.T) {
	m := newCgroupManager(t, t.TempDir())
	s, err := m.Start(t.Context(), Spec{ID: "moved", User: "ana", Apps: []App{shApp("sleep", "exec sleep 60")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Teardown(t.Context()) })
	s.mu.Lock()
	pid, cg := s.procs[0].pgid, s.cg
	s.mu.Unlock()
	var found procRef
	for _, p := range cgroupPids(cg) {
		if p.pid == pid {
			found = p
		}
	}
	if found.pid == 0 {
		t.Fatalf("process %d not found in the session cgroup %s", pid, cg)
	}
	if err := os.WriteFile(filepath.Join(m.cgroups, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
	if err := signalProc(found, syscall.SIGKILL); err != nil {
		t.Fatalf("signal the process found in the cgroup, moved out since: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d not killed", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
