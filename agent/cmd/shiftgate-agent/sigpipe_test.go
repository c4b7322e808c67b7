package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mainChildEnv, set in the environment of this test binary, makes
// TestAgentMainChild run the real main with the arguments it holds (a
// JSON array), so that stdout is the process's own fd 1.
const mainChildEnv = "SHIFTGATE_TEST_AGENT_MAIN"

// TestAgentMainChild is not a test of its own: it is the child process of
// TestRunOutlivesItsEventReader (see mainChildEnv), and does nothing
// otherwise.
func TestAgentMainChild(t *testing.T) {
	env := os.Getenv(mainChildEnv)
	if env == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(env), &args); err != nil {
		t.Fatalf("%s: %v", mainChildEnv, err)
	}
	os.Args = append([]string{"shiftgate-agent"}, args...)
	main() // exits
}

// TestRunOutlivesItsEventReader: the process that reads shiftgate-agent
// run's JSON events (a kiosk shell, a script) goes away while a worker is
// signed in. The agent must go on enforcing the session: here the hub
// force-signs the worker out afterwards, and the agent tears the session
// down and acknowledges, with nobody reading its stdout. A Go program that
// does not handle SIGPIPE is killed by the first write to a stdout pipe
// whose reader has gone, which left the session open on the kiosk (apps
// running, no expiry, idle timeout or revocation) until someone restarted
// the agent.
func TestRunOutlivesItsEventReader(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, feed, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestAgentMainChild$")
	args, err := json.Marshal([]string{"run", "--state", k.state, "--authenticator", "soft:" + k.badges})
	if err != nil {
		t.Fatal(err)
	}
	child.Env = append(os.Environ(), mainChildEnv+"="+string(args))
	child.Stdin, child.Stdout = stdin, w
	stderr := &syncBuffer{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	stdin.Close()
	var waitErr error // set before exited is closed
	exited := make(chan struct{})
	go func() { waitErr = child.Wait(); close(exited) }()
	t.Cleanup(func() {
		feed.Close()
		r.Close()
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = child.Process.Kill()
			t.Error("the agent did not stop at SIGTERM")
		}
	})

	events := make(chan map[string]any, 64)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
	}()
	await := func(name string) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev["event"] == name {
					return
				}
			case <-exited:
				t.Fatalf("the agent exited (%v) while waiting for %s; stderr:\n%s", waitErr, name, stderr.String())
			case <-timeout:
				t.Fatalf("no %s event; stderr:\n%s", name, stderr.String())
			}
		}
	}
	await("connected")
	k.authorize("alice")
	await("enrollment.armed")
	io.WriteString(feed, "tap alice\n")
	await("credential.registered")
	io.WriteString(feed, "tap alice\n")
	await("session.started")

	// The event reader goes away with the worker signed in.
	r.Close()
	time.Sleep(100 * time.Millisecond)

	// The hub signs the worker out everywhere: the agent must tear the
	// session down and tell the hub, with nobody reading its events.
	if res := k.hub.API(t, http.MethodPost, "/api/v1/users/alice/signout", nil); res.Status/100 != 2 {
		t.Fatalf("force sign-out: %d %s", res.Status, res.Body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			var ee *exec.ExitError
			if errors.As(waitErr, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					t.Fatalf("the agent was killed by %v once its event reader had gone: the session was left open; stderr:\n%s", ws.Signal(), stderr.String())
				}
			}
			t.Fatalf("the agent exited (%v) once its event reader had gone; stderr:\n%s", waitErr, stderr.String())
		default:
		}
		if ended(t, k.state) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked session is still in session.json; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "cannot write events to stdout") {
		t.Errorf("stderr does not say the events are lost:\n%s", stderr.String())
	}
	// Still running, and it stops as usual.
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", waitErr, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not stop at SIGTERM")
	}
}

// ended reports whether state's session.json holds no live session and no
// unsent session.end: the session was torn down and the hub told.
func ended(t *testing.T, state string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "session.json"))
	if err != nil {
		return false
	}
	var s struct {
		Session *json.RawMessage `json:"session"`
		Pending []any            `json:"pending"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("session.json: %v", err)
	}
	return s.Session == nil && len(s.Pending) == 0
}
