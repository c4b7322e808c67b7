package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the side a user types into and the
// terminal a program reads.
func openPTY(t *testing.T) (user, tty *os.File) {
	t.Helper()
	user, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { user.Close() })
	if err := unix.IoctlSetPointerInt(int(user.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(user.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return user, tty
}

// TestEnrollCodeFromTerminal: "--code -" with standard input a terminal
// asks for the code on stderr, since an installer who typed the command
// saw nothing else saying that enroll waits for a line, and enrolls with
// the line typed. Piped in, the code gets no prompt (TestEnrollCodeOffCommandLine).
func TestEnrollCodeFromTerminal(t *testing.T) {
	t.Setenv(codeEnv, "")
	hub := newCodeHub(t)
	user, tty := openPTY(t)
	if _, err := user.WriteString("c0de-tty\n"); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"enroll", "--hub", hub.url, "--ca", hub.ca, "--state", state, "--profile", "ward", "--code", "-"}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), args, tty, &stdout, &stderr); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "one-time code (shiftgate-hub device code), then Enter: ") {
		t.Errorf("stderr %q does not begin with a prompt for the code", stderr.String())
	}
	if got := hub.got(); len(got) != 1 || got[0] != "c0de-tty" {
		t.Errorf("hub got codes %q, want [c0de-tty]", got)
	}
}
