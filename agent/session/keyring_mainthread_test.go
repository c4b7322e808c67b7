package session

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	uidMainThread = 64133
	// mainThreadTestEnv selects the role of the test binary in the tests
	// below: the agent side, in a process of its own whose main thread
	// no earlier test has taken (Go parks it for good, see below).
	mainThreadTestEnv = "SHIFTGATE_TEST_MAIN_THREAD"
)

// runFresh runs test in a new process of the test binary with
// mainThreadTestEnv set to role, and returns its output: the first test
// of a process starts on the main thread, as an agent's code may run on
// it at any time.
func runFresh(t *testing.T, test, role string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), mainThreadTestEnv+"="+role)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent side: %v\n%s", err, out.String())
	}
	return out.String()
}

// TestOnNewThreadSparesMainThread: the function onNewThread runs, which
// changes its thread's credentials, never runs on the process's main
// thread. Go ends a thread a goroutine exits locked to, but not the main
// thread: that one it parks for good, with the credentials it was given,
// and the main thread's are those the kernel checks when another process
// signals the agent. The goroutine onNewThread starts is run by the
// caller's thread as a rule, and the caller may be on the main thread.
func TestOnNewThreadSparesMainThread(t *testing.T) {
	if os.Getenv(mainThreadTestEnv) == "tid" {
		pid := syscall.Getpid()
		for i := range 50 {
			var tid int
			if err := onNewThread(func() error { tid = syscall.Gettid(); return nil }); err != nil {
				t.Fatal(err)
			}
			if tid == pid {
				fmt.Printf("call %d ran on the main thread\n", i)
			}
			time.Sleep(time.Millisecond) // the caller may wake up on another thread
		}
		return
	}
	if out := runFresh(t, "TestOnNewThreadSparesMainThread", "tid"); !strings.Contains(out, "--- PASS") ||
		strings.Contains(out, "main thread") {
		t.Errorf("onNewThread ran its function on the main thread, which Go parks for good instead of ending:\n%s", out)
	}
}

// TestKeyringClearingLeavesAgentUnsignallable: emptying the session
// user's keyrings, which runs on a thread with that user's real user ID,
// does not leave the agent open to signals from that user's processes.
// Were that thread the main thread, Go would park it for good instead of
// ending it, and the kernel lets a process signal another whose main
// thread's real user ID is its own: the next worker's app could stop or
// kill the agent (SIGSTOP, SIGKILL), and its session would never be torn
// down.
func TestKeyringClearingLeavesAgentUnsignallable(t *testing.T) {
	if os.Getenv(mainThreadTestEnv) == "agent" {
		mainThreadAgent(t)
		return
	}
	needRoot(t)
	freeUID(t, uidMainThread)
	out := runFresh(t, "TestKeyringClearingLeavesAgentUnsignallable", "agent")
	switch {
	case !strings.Contains(out, "--- PASS"):
		t.Fatalf("agent side did not pass:\n%s", out)
	case strings.Contains(out, "agent-signalled"):
		t.Errorf("a process of the session user could signal the agent after a teardown:\n%s", out)
	case !strings.Contains(out, "agent-refused"):
		t.Errorf("no answer from the app:\n%s", out)
	}
}

// mainThreadAgent is the agent side of
// TestKeyringClearingLeavesAgentUnsignallable: a few teardowns' clearing
// of the session user's keyrings, then the next worker's app, which tries
// to signal the agent.
func mainThreadAgent(t *testing.T) {
	for range 20 {
		if err := clearKeyrings(uidMainThread); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // the caller may wake up on another thread
	}
	fmt.Printf("main thread's real uid: %d\n", mainThreadRealUID(t))
	cfg := runAsConfig(t, uidMainThread)
	s := startReady(t, mustNew(t, cfg), "signal", shApp("signal",
		`if kill -0 "$AGENT_PID" 2>/dev/null; then echo agent-signalled; else echo agent-refused; fi; echo ready`,
		"AGENT_PID="+strconv.Itoa(os.Getpid())))
	fmt.Println(waitFor(t, filepath.Join(s.Dir(), "apps.log"), "ready"))
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// mainThreadRealUID returns the real user ID of this process's main
// thread (/proc/self/status describes the thread group leader).
func mainThreadRealUID(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, err := strconv.ParseUint(f[0], 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	t.Fatalf("no Uid line in /proc/self/status:\n%s", b)
	return 0
}
