package session

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const (
	uidKeyring    = 64131
	uidKeyringCln = 64132
	// keyringTestEnv selects the role of the test binary in
	// TestKeyringsDoNotOutliveSession: "agent" (an agent with a session
	// keyring of its own, as systemd gives a service), "put" and "get"
	// (an app of the first and of the next worker's session).
	keyringTestEnv = "SHIFTGATE_TEST_KEYRING"
	keySpecSession = -3
	keyctlSearch   = 10
	testKeyDesc    = "shiftgate-test-secret"
)

// TestKeyringsDoNotOutliveSession: what a worker's app stores in a kernel
// keyring (a Kerberos ticket in a KEYRING: cache, any add_key) is not
// there for the next worker's app: not in its session keyring (the agent's
// own, under systemd, would otherwise be every app's), nor in the session
// user's user, user-session or persistent keyrings, which outlive every
// process of the user. The agent side runs in a process of its own with
// a session keyring, as under systemd (KeyringMode=private); the apps are
// the test binary, run as the session user. Once after a teardown, once
// after a crashed agent's successor's Cleanup.
func TestKeyringsDoNotOutliveSession(t *testing.T) {
	switch os.Getenv(keyringTestEnv) {
	case "agent":
		keyringAgent(t)
		return
	case "put":
		keyringPut()
		return
	case "get":
		keyringGet()
		return
	}
	needRoot(t)
	freeUID(t, uidKeyring)
	freeUID(t, uidKeyringCln)
	// The apps run as the session user: a copy of the test binary it can
	// execute.
	bin := filepath.Join(reachableDir(t), "session.test")
	copyExecutable(t, os.Args[0], bin)
	var out []byte
	err := onNewThread(func() error {
		if _, err := keyctl(keyctlJoinSessionKeyring, 0, 0); err != nil {
			return fmt.Errorf("session keyring for the agent: %w", err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKeyringsDoNotOutliveSession$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), keyringTestEnv+"=agent", "KEYRING_BIN="+bin)
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("agent side: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("agent side did not pass:\n%s", out)
	}
}

// keyringAgent runs the two workers' sessions, one after the other.
func keyringAgent(t *testing.T) {
	bin := os.Getenv("KEYRING_BIN")
	app := func(role string) App {
		return App{ID: role, Command: []string{bin, "-test.run=^TestKeyringsDoNotOutliveSession$", "-test.count=1"},
			Env: []string{keyringTestEnv + "=" + role}}
	}
	for _, tc := range []struct {
		name string
		uid  uint32
		end  func(t *testing.T, cfg Config, s *Session)
	}{
		{"teardown", uidKeyring, func(t *testing.T, _ Config, s *Session) {
			if err := s.Teardown(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
		{"cleanup after a crash", uidKeyringCln, func(t *testing.T, cfg Config, _ *Session) {
			if err := mustNew(t, cfg).Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := runAsConfig(t, tc.uid)
			cfg.Cgroup = NoCgroup
			m := mustNew(t, cfg)
			a := startReady(t, m, "worker-a", app("put"))
			log := waitFor(t, filepath.Join(a.Dir(), "apps.log"), "ready")
			for _, ring := range []string{"session", "user", "persistent"} {
				if !strings.Contains(log, "put "+ring+" ok") {
					t.Fatalf("worker A's app could not store its key in its %s keyring; the test proves nothing:\n%s", ring, log)
				}
			}
			tc.end(t, cfg, a)
			m = mustNew(t, cfg)
			b := startReady(t, m, "worker-b", app("get"))
			if log := waitFor(t, filepath.Join(b.Dir(), "apps.log"), "ready"); strings.Contains(log, "found") {
				t.Errorf("worker B's app found worker A's key:\n%s", log)
			}
			if err := b.Teardown(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func addKey(ring int) error {
	typ, desc := []byte("user\x00"), []byte(testKeyDesc+"\x00")
	payload := []byte("worker A's secret")
	_, _, errno := syscall.Syscall6(syscall.SYS_ADD_KEY, uintptr(unsafe.Pointer(&typ[0])), uintptr(unsafe.Pointer(&desc[0])),
		uintptr(unsafe.Pointer(&payload[0])), uintptr(len(payload)), special(ring), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// findKey returns the payload of the test's key in keyring ring (searched
// with what it links to), or "".
func findKey(ring int) string {
	typ, desc := []byte("user\x00"), []byte(testKeyDesc+"\x00")
	id, _, errno := syscall.Syscall6(syscall.SYS_KEYCTL, keyctlSearch, special(ring),
		uintptr(unsafe.Pointer(&typ[0])), uintptr(unsafe.Pointer(&desc[0])), 0, 0)
	if errno != 0 {
		return ""
	}
	buf := make([]byte, 256)
	n, _, errno := syscall.Syscall6(syscall.SYS_KEYCTL, keyctlRead, id, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return "(unreadable: " + errno.Error() + ")"
	}
	return string(buf[:min(int(n), len(buf))])
}

// persistentKeyring links the caller's persistent keyring into its
// session keyring and returns its ID.
func persistentKeyring() (int, error) {
	return keyctl(keyctlGetPersistent, ^uintptr(0), special(keySpecSession))
}

// keyringPut is worker A's app: it stores a key in each keyring, says so,
// and waits to be ended.
func keyringPut() {
	runtime.LockOSThread()
	say := func(ring string, err error) {
		if err != nil {
			fmt.Printf("put %s: %v\n", ring, err)
			return
		}
		fmt.Printf("put %s ok\n", ring)
	}
	say("session", addKey(keySpecSession))
	say("user", addKey(keySpecUserKeyring))
	id, err := persistentKeyring()
	if err == nil {
		err = addKey(id)
	}
	say("persistent", err)
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

// keyringGet is worker B's app: it looks for worker A's key everywhere.
func keyringGet() {
	runtime.LockOSThread()
	rings := map[string]int{"session": keySpecSession, "user": keySpecUserKeyring, "user-session": keySpecUserSessionKeyring}
	if id, err := persistentKeyring(); err == nil {
		rings["persistent"] = id
	}
	for name, ring := range rings {
		if v := findKey(ring); v != "" {
			fmt.Printf("found in the %s keyring: %q\n", name, v)
		}
	}
	fmt.Println("ready")
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
