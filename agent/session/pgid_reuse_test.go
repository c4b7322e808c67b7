package session

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A teardown signals the session's process groups by number. Once an
// app's group has emptied (the app exited early: a launcher that handed
// over, a crash), its number is free, and a process that takes it and
// makes a group of its own — every service systemd starts is one, and so
// is a shell's job — is not the session's: the teardown, which runs as
// root in production, must not SIGTERM and SIGKILL it. The kernel's reuse
// of the number is simulated by pointing the app's record at such a
// process: that is the state reuse leaves (a group of that number led by
// a process that is not the app the session launched).

// unrelatedGroup starts a process that leads a process group (and a
// session) of its own, as a daemon does, and returns it with a channel
// closed when it has exited.
func unrelatedGroup(t *testing.T) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	c := exec.Command("sleep", "60")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = c.Process.Kill()
		<-done
	})
	return c, done
}

func pgidTestManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(Config{StateDir: t.TempDir(), Grace: 300 * time.Millisecond, TempDirs: []string{}, Cgroup: NoCgroup})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// launched returns the record of the session's only app once its leader
// has been reaped.
func launched(t *testing.T, s *Session) *proc {
	t.Helper()
	s.mu.Lock()
	p := s.procs[0]
	s.mu.Unlock()
	select {
	case <-p.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the app did not exit")
	}
	return p
}

// TestTeardownSparesGroupThatTookEndedAppsNumber: an app's process group
// ended before the teardown, and an unrelated process then got its
// number for a group of its own; the teardown does not signal it. Either
// the app exited long before and its group with it, or its leader exited
// while a child ran on in the group, which ended later.
func TestTeardownSparesGroupThatTookEndedAppsNumber(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command []string
	}{
		{"leader exited with its group", []string{"/bin/true"}},
		{"group ended after the leader's orphan", []string{"/bin/sh", "-c", "sleep 0.4 & exit 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := pgidTestManager(t)
			s, err := m.Start(t.Context(), Spec{ID: "s1", User: "ana"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Launch(App{ID: "launcher", Command: tc.command}); err != nil {
				t.Fatal(err)
			}
			p := launched(t, s)
			for deadline := time.Now().Add(5 * time.Second); groupAlive(p.pgid); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the app's group did not end")
				}
			}
			other, done := unrelatedGroup(t)
			s.mu.Lock()
			p.pgid = other.Process.Pid // the number, taken by another group
			s.mu.Unlock()

			if err := s.Teardown(t.Context()); err != nil {
				t.Fatalf("teardown: %v", err)
			}
			select {
			case <-done:
				t.Fatalf("the teardown killed process group %d, which took the number of an app's group that had ended: not the session's", other.Process.Pid)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

// TestTeardownStillEndsOrphansOfExitedLeader: the check above must not
// spare the session's own group whose leader has exited while a child of
// it runs on: that child is ended.
func TestTeardownStillEndsOrphansOfExitedLeader(t *testing.T) {
	m := pgidTestManager(t)
	s, err := m.Start(t.Context(), Spec{ID: "s1", User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	// The child's environment is cleared, so that only its process group
	// finds it (no session marker).
	if err := s.Launch(App{ID: "launcher", Command: []string{"/bin/sh", "-c", "env -i sleep 60 & exit 0"}}); err != nil {
		t.Fatal(err)
	}
	p := launched(t, s)
	if !groupAlive(p.pgid) {
		t.Fatal("the app's child is not running in its group")
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	if groupAlive(p.pgid) {
		t.Error("the teardown left the app's child running in the app's process group")
	}
}
