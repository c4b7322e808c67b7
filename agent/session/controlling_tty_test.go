package session

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// cttyHelperEnv, when set, makes TestAppsGetNoControllingTerminal the
// agent side of the test: a process whose controlling terminal is a pty,
// as an agent started from a shell or a getty's autologin has.
const cttyHelperEnv = "SHIFTGATE_TEST_CTTY_AGENT"

// openPty returns a new pseudo-terminal's master and slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlock pty: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("pty number: %v", errno)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestAppsGetNoControllingTerminal: an app does not share the agent's
// terminal session. An agent run from a terminal (a getty's autologin
// starting the kiosk, an operator's shell) has a controlling terminal; an
// app in the agent's session could open it (/dev/tty answers every process
// of the session, whatever the terminal's owner) and then push input into
// it (TIOCSTI: a command into the shell that started the agent, run as
// the agent's user once the agent exits), or make itself the terminal's
// foreground group and read what is typed there, the next worker's input
// included. Each app starts a session of its own (setsid), with no
// controlling terminal.
func TestAppsGetNoControllingTerminal(t *testing.T) {
	if os.Getenv(cttyHelperEnv) != "" {
		cttyAgent(t)
		return
	}
	_, slave := openPty(t)
	state := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppsGetNoControllingTerminal$", "-test.count=1")
	cmd.Env = append(os.Environ(), cttyHelperEnv+"="+state)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent with a controlling terminal: %v\n%s", err, out.String())
	}
	switch s := out.String(); {
	case strings.Contains(s, "agent-tty=none"):
		t.Fatalf("the agent side has no controlling terminal: the test proves nothing\n%s", s)
	case strings.Contains(s, "app-tty=opened"):
		t.Errorf("an app opened the agent's controlling terminal (/dev/tty)\n%s", s)
	case !strings.Contains(s, "app-tty=none"):
		t.Errorf("no answer from the app\n%s", s)
	}
}

// cttyAgent is the agent side of TestAppsGetNoControllingTerminal: it
// starts a session whose app tries to open its controlling terminal, and
// prints what the app says.
func cttyAgent(t *testing.T) {
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err != nil {
		fmt.Println("agent-tty=none:", err)
	} else {
		f.Close()
	}
	m, err := New(Config{StateDir: os.Getenv(cttyHelperEnv), Cgroup: NoCgroup, Grace: NoGrace})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Start(t.Context(), Spec{ID: "ctty", User: "ana", Apps: []App{shApp("tty",
		`if (: <>/dev/tty) 2>/dev/null; then echo app-tty=opened; else echo app-tty=none; fi; echo ready`)}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(waitFor(t, filepath.Join(s.Dir(), "apps.log"), "ready"))
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
}
