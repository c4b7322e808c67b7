package session

import (
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalProcChecksIdentity: a process found as the session's is
// signalled only while its PID still names it (the start time it was
// found with) and it is still the session's. A PID whose start time
// differs is another process that got the PID after the one found had
// ended: it is not signalled.
func TestSignalProcChecksIdentity(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "session")
	cmd := exec.Command("sleep", "60")
	cmd.Env = []string{"PATH=" + DefaultPath, MarkerEnv + "=" + dir}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	pid := cmd.Process.Pid
	var found procRef
	deadline := time.Now().Add(10 * time.Second)
	for found.pid == 0 { // the marker shows once sleep has been exec'd
		for _, p := range markedPids(dir) {
			if p.pid == pid {
				found = p
			}
		}
		if found.pid == 0 && time.Now().After(deadline) {
			t.Fatalf("markedPids(%s) never found the marked process %d", dir, pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, ok := readStat(pid)
	if !ok || found.start != st.start {
		t.Fatalf("found process %d with start time %d, /proc says %d (%v)", pid, found.start, st.start, ok)
	}
	notSignalled := func(why string) {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("%s: the process was signalled (%v)", why, waitErr)
		case <-time.After(100 * time.Millisecond):
		}
	}

	replaced := found
	replaced.start++ // another process that got the PID later
	if err := signalProc(replaced, syscall.SIGKILL); !errors.Is(err, errReplaced) {
		t.Errorf("signal a PID whose start time differs: %v, want errReplaced", err)
	}
	notSignalled("start time differs")

	left := found
	left.ours = func(int) bool { return false } // no longer the session's
	if err := signalProc(left, syscall.SIGKILL); !errors.Is(err, errReplaced) {
		t.Errorf("signal a process no longer the session's: %v, want errReplaced", err)
	}
	notSignalled("no longer the session's")

	if err := signalProc(found, syscall.SIGKILL); err != nil {
		t.Fatalf("signal the process found: %v", err)
	}
	select {
	case <-exited:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("the process ended with %v, want SIGKILL", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process found was not killed")
	}
	// Gone (and reaped): nothing is signalled, nothing fails but the check.
	if err := signalProc(found, syscall.SIGKILL); !errors.Is(err, errReplaced) {
		t.Errorf("signal a process that is gone: %v, want errReplaced", err)
	}
}
