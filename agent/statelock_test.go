package agent

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestStateLockExclusive: a second lock of a state directory, even in the
// same process, fails at once, naming the directory, what holds it and its
// PID; once the first is closed the directory can be locked again.
func TestStateLockExclusive(t *testing.T) {
	dir := t.TempDir()
	first, err := LockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %04o, want 0600", LockFile, fi.Mode().Perm())
	}
	if b, err := os.ReadFile(filepath.Join(dir, LockFile)); err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("%s holds %q (%v), want this process's PID", LockFile, b, err)
	}

	start := time.Now()
	second, err := LockStateDir(dir)
	if err == nil {
		second.Close()
		t.Fatal("a second lock of the state directory succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the second lock took %s: it must fail at once, not wait", d)
	}
	want := fmt.Sprintf("state directory in use: %s: another shiftgate-agent or shiftgate-kiosk is running on it (PID %d: this process): stop it first", dir, os.Getpid())
	if !errors.Is(err, ErrStateDirBusy) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second lock: %v, want ErrStateDirBusy saying %q", err, want)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	again, err := LockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after Close: %v", err)
	}
	again.Close()
}

// TestStateLockOtherProcess: a lock held by another process (this test
// binary, run again as a helper) is refused with that process's PID, and
// released when the process exits without closing it.
func TestStateLockOtherProcess(t *testing.T) {
	if dir := os.Getenv("SHIFTGATE_TEST_LOCK_DIR"); dir != "" {
		if _, err := LockStateDir(dir); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
		os.Exit(0)                                 // no Close: the exit releases the lock
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStateLockOtherProcess$")
	cmd.Env = append(os.Environ(), "SHIFTGATE_TEST_LOCK_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("helper process: %q %v", line, err)
	}

	_, err = LockStateDir(dir)
	want := fmt.Sprintf("%s: another shiftgate-agent or shiftgate-kiosk is running on it (PID %d)", dir, cmd.Process.Pid)
	if !errors.Is(err, ErrStateDirBusy) || !strings.Contains(err.Error(), want) {
		t.Fatalf("lock held by another process: %v, want ErrStateDirBusy saying %q", err, want)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v", err)
	}
	l, err := LockStateDir(dir)
	if err != nil {
		t.Fatalf("lock after the holder exited: %v", err)
	}
	l.Close()
}

// TestStateLockTakenByTheAgentCore: NewSessions (shiftgate-agent run, the
// kiosk UI), Register and Enroll each take the state directory's lock
// before touching it; NewSessions holds it until Close.
func TestStateLockTakenByTheAgentCore(t *testing.T) {
	dir := enrolledDir(t, "generic-x86")
	log := slog.New(slog.DiscardHandler)
	s, err := NewSessions(dir, log)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := NewSessions(dir, log); !errors.Is(err, ErrStateDirBusy) {
		t.Errorf("a second NewSessions: %v, want ErrStateDirBusy", err)
	}
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	mustNoErr(t, err)
	hub := newFakeHub(t, newFakeClock())
	_, err = Register(t.Context(), RegisterConfig{StateDir: dir, Authenticators: src, Badge: "ana", Timeout: time.Minute, Hub: hub})
	if !errors.Is(err, ErrStateDirBusy) || !strings.Contains(err.Error(), "another shiftgate-agent or shiftgate-kiosk is running on it") {
		t.Errorf("Register on a locked directory: %v, want ErrStateDirBusy", err)
	}
	if got := hub.requestTypes(); len(got) != 0 {
		t.Errorf("Register on a locked directory talked to the hub: %v", got)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := NewSessions(dir, log)
	if err != nil {
		t.Fatalf("NewSessions after Close: %v", err)
	}
	s2.Close()

	// Enroll: a directory another process is enrolling (locked, no
	// state.json yet) is refused at once, and left as it was.
	pki := certstest.New(t)
	url, got := enrollServer(t, pki)
	fresh := filepath.Join(t.TempDir(), "state")
	mustNoErr(t, os.Mkdir(fresh, 0o700))
	l, err := LockStateDir(fresh)
	mustNoErr(t, err)
	_, err = Enroll(t.Context(), EnrollConfig{HubURL: url, CAFile: writeCA(t, pki), Code: "good-code", StateDir: fresh, Profile: "ward-tablet"})
	if !errors.Is(err, ErrStateDirBusy) || !strings.Contains(err.Error(), fresh) {
		t.Errorf("Enroll into a locked directory: %v, want ErrStateDirBusy naming it", err)
	}
	if len(got) != 0 || exists(filepath.Join(fresh, KeyFile)) {
		t.Error("Enroll into a locked directory went ahead")
	}
	l.Close()
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: url, CAFile: writeCA(t, pki), Code: "good-code", StateDir: fresh, Profile: "ward-tablet"}); err != nil {
		t.Fatalf("Enroll once the lock is released: %v", err)
	}
	// The enrollment released its lock.
	s3, err := NewSessions(fresh, log)
	if err != nil {
		t.Fatalf("NewSessions after Enroll: %v", err)
	}
	s3.Close()
}
