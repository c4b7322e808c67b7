package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKioskOutlivesItsEventReader: whatever reads the kiosk's JSON events
// on stdout (a log pipe, a supervisor script) goes away. The kiosk must go
// on: a Go program that does not handle SIGPIPE is killed by its first
// write to a stdout pipe whose reader has gone, which took the locked
// screen and the agent core with it and left the signed-in worker's
// session open, its apps running and nothing to end them.
func TestKioskOutlivesItsEventReader(t *testing.T) {
	for _, tool := range []string{"xvfb-run", "Xvfb", "xauth", "import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (%v): run `make deps`, which installs xvfb, xauth, imagemagick and xdotool", tool, err)
		}
	}
	bin := buildKiosk(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
		"sh", "-c", `echo "display $$ $DISPLAY $XAUTHORITY"; exec "$0" "$@"`, bin, "--demo", "--fullscreen", "--exit-after", "90s")
	cmd.Env = append(envWithout("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "LANG", "LC_ALL"), "LANG=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("xvfb-run: %v", err)
	}
	w.Close()
	var waitErr error // set before exited is closed
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	kioskPID := 0
	defer func() {
		if kioskPID > 0 {
			syscall.Kill(kioskPID, syscall.SIGTERM)
		}
		<-exited
		if t.Failed() {
			t.Logf("kiosk stderr:\n%s", stderr.String())
		}
	}()

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var xenv []string
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "display" {
			t.Fatalf("xvfb-run did not start the kiosk: %q", l)
		}
		kioskPID, _ = strconv.Atoi(f[1])
		xenv = append(envWithout("DISPLAY", "XAUTHORITY"), "DISPLAY="+f[2], "XAUTHORITY="+f[3])
	case <-ctx.Done():
		t.Fatal("xvfb-run said nothing")
	}
	for connected := false; !connected; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the kiosk stopped before connected")
			}
			var e map[string]any
			connected = json.Unmarshal([]byte(l), &e) == nil && e["event"] == "connected"
		case <-ctx.Done():
			t.Fatal("no connected event")
		}
	}
	locked := screenshot(t, ctx, xenv, nil)

	// Nobody reads the events any more; a worker signs in (Tab to the
	// first badge, Return), which writes session.started.
	r.Close()
	xdotool(t, ctx, xenv, "key", "Tab", "key", "Return")
	alive := func(what string) {
		t.Helper()
		select {
		case <-exited:
			var ee *exec.ExitError
			if errors.As(waitErr, &ee) && ee.ExitCode() == 128+int(syscall.SIGPIPE) {
				t.Fatalf("the kiosk was killed by SIGPIPE %s, its event reader gone (xvfb-run: %v)", what, waitErr)
			}
			t.Fatalf("the kiosk stopped %s, its event reader gone: %v", what, waitErr)
		case <-time.After(2 * time.Second):
		}
	}
	alive("at the sign-in")
	screenshot(t, ctx, xenv, locked) // the session screen

	// Escape signs the worker out: session.ending, session.ended.
	xdotool(t, ctx, xenv, "key", "Escape")
	alive("at the sign-out")

	// It still stops as systemd stops it.
	syscall.Kill(kioskPID, syscall.SIGTERM)
	kioskPID = 0
	<-exited
	if waitErr != nil {
		t.Errorf("kiosk did not exit cleanly on SIGTERM: %v", waitErr)
	}
}
