package session

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// orphanScript starts a child in the app's process group with its
// environment cleared (env -i: no SHIFTGATE_SESSION_DIR marker), reports
// its pid and exits, as a launcher that hands over to the program it
// starts does: the group lives on without its leader.
const orphanScript = `env -i /bin/sh -c 'echo $$ >> '"$OUT"'; exec sleep 60' &
while [ ! -s "$OUT" ]; do sleep 0.01; done`

// crashWithOrphan starts, in a manager that then "crashes" (is dropped
// without a teardown), a session whose only app leaves orphanScript's
// child behind, and returns the state directory and the child's pid once
// the app's leader has been reaped.
func crashWithOrphan(t *testing.T) (state string, pid int) {
	t.Helper()
	state = t.TempDir()
	old, err := New(Config{StateDir: state, Grace: 200 * time.Millisecond, TempDirs: []string{}, Cgroup: NoCgroup})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pids")
	s, err := old.Start(t.Context(), Spec{ID: "left", User: "ada", Apps: []App{shApp("launcher", orphanScript, "OUT="+out)}})
	if err != nil {
		t.Fatal(err)
	}
	pid = waitPids(t, out, 1)[0]
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	launched(t, s) // the leader has exited and been reaped
	if st, ok := readStat(pid); !ok || st.pgrp != s.procs[0].pgid {
		t.Fatalf("the orphan %d is not in the app's group %d: %+v, %v", pid, s.procs[0].pgid, st, ok)
	}
	return state, pid
}

// TestCleanupEndsOrphansOfExitedLeader: after a crash, a process left in
// an app's process group is ended at the next start even when it has
// cleared its environment and the group's leader has exited, as the
// teardown of a live session ends it (TestTeardownStillEndsOrphansOfExitedLeader):
// it never left the group. Before, Cleanup took the recorded group for the
// session's only while its leader lived or a member carried the marker,
// and the previous worker's program ran on into the next worker's session.
func TestCleanupEndsOrphansOfExitedLeader(t *testing.T) {
	t.Parallel()
	state, pid := crashWithOrphan(t)
	m, err := New(Config{StateDir: state, Grace: 200 * time.Millisecond, TempDirs: []string{}, Cgroup: NoCgroup})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertGone(t, []int{pid})
	assertNoDir(t, filepath.Join(state, "sessions", "left"))
}
