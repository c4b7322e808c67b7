package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// While run holds the kiosk's state directory, register and a second run
// on it exit 1 at once, saying why, and leave run's hub channel alone.
func TestOneAgentPerStateDir(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")
	stdin, feed := io.Pipe()
	defer feed.Close()
	agent := k.start(stdin, "run", "--state", k.state, "--authenticator", "soft:"+k.badges)
	agent.wait(t, "connected")

	want := fmt.Sprintf("shiftgate-agent: register: state directory in use: %s: another shiftgate-agent or shiftgate-kiosk is running on it (PID %d", k.state, os.Getpid())
	reg := k.register("30s")
	if code := reg.exit(t, 5*time.Second); code != 1 {
		t.Fatalf("register: exit %d, want 1; stderr:\n%s", code, reg.stderr.String())
	}
	if !strings.Contains(reg.stderr.String(), want) {
		t.Errorf("register's stderr does not say %q:\n%s", want, reg.stderr.String())
	}
	if out := reg.stdout.String(); out != "" {
		t.Errorf("register printed events:\n%s", out)
	}

	second := k.start(strings.NewReader(""), "run", "--state", k.state, "--authenticator", "soft:"+k.badges)
	if code := second.exit(t, 5*time.Second); code != 1 {
		t.Fatalf("second run: exit %d, want 1; stderr:\n%s", code, second.stderr.String())
	}
	if want := fmt.Sprintf("shiftgate-agent: state directory in use: %s: another shiftgate-agent or shiftgate-kiosk is running on it", k.state); !strings.Contains(second.stderr.String(), want) {
		t.Errorf("second run's stderr does not say %q:\n%s", want, second.stderr.String())
	}

	// The first run kept its channel: it still signs in (after the
	// enrollment register could not take, authorised for run).
	k.authorize("alice")
	agent.wait(t, "enrollment.armed")
	io.WriteString(feed, "tap alice\n")
	agent.wait(t, "credential.registered")
	io.WriteString(feed, "tap alice\n")
	agent.wait(t, "session.started")
	io.WriteString(feed, "signout\n")
	agent.wait(t, "session.ended")
	if strings.Contains(agent.stdout.String(), `"disconnected"`) {
		t.Errorf("run lost its channel:\n%s", agent.stdout.String())
	}

	// Once run has stopped, the directory is free.
	agent.cancel()
	if code := agent.exit(t, 10*time.Second); code != 0 {
		t.Fatalf("run: exit %d; stderr:\n%s", code, agent.stderr.String())
	}
	reg = k.register("1s")
	reg.wait(t, "connected")
	if code := reg.exit(t, 10*time.Second); code != 1 || strings.Contains(reg.stderr.String(), "state directory in use") {
		t.Errorf("register after run stopped: exit %d; stderr:\n%s", code, reg.stderr.String())
	}
}
