package session

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// zombieLeaderEnv, set to 1, makes the test binary a process whose main
// thread exits at once while another thread runs on: /proc/PID/stat then
// shows the leader's state, Z, for a process that is alive. It says
// "zombie-leader PID" on stdout first.
const zombieLeaderEnv = "SHIFTGATE_TEST_ZOMBIE_LEADER"

func init() {
	if os.Getenv(zombieLeaderEnv) != "1" {
		return
	}
	// Package initialisation runs on the main thread (the runtime keeps
	// it there), so the raw exit below ends the leader thread only.
	go func() {
		for {
			time.Sleep(time.Hour)
		}
	}()
	fmt.Printf("zombie-leader %d\n", os.Getpid())
	syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0)
}

// uidZombie is the session user of TestTeardownEndsZombieLeader.
const uidZombie = 64107

var zombieLeaderRE = regexp.MustCompile(`zombie-leader (\d+)`)

// zombieLeaderBinary copies the test binary where the session user can
// run it (the build directory is root's alone).
func zombieLeaderBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := reachableDir(t)
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "zombie-leader")
	out, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestTeardownEndsZombieLeader: an app whose main thread exits while its
// other threads run on (pthread_exit in main, or on purpose) shows Z in
// /proc/PID/stat, like a dead process. It is alive: with a session user
// (no cgroup) the teardown must still find and end it rather than leave
// it running into the next worker's session, and in a cgroup it must be
// killed rather than keep the cgroup, and so the teardown, from ever
// completing. The app leaves its process group first (setsid), so only
// the session user or the cgroup finds it.
func TestTeardownEndsZombieLeader(t *testing.T) {
	needRoot(t)
	bin := zombieLeaderBinary(t)
	script := `setsid "$BIN" & echo started`
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) Config
	}{
		{"session user", func(t *testing.T) Config {
			freeUID(t, uidZombie)
			cfg := runAsConfig(t, uidZombie)
			cfg.Cgroup = NoCgroup
			return cfg
		}},
		{"cgroup", func(t *testing.T) Config {
			return Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(t)
			m := mustNew(t, cfg)
			if cfg.Cgroup != NoCgroup && m.cgroups == "" {
				t.Fatal("no session cgroups as root")
			}
			s, err := m.Start(t.Context(), Spec{ID: "zombie", User: "ana",
				Apps: []App{shApp("zl", script, "BIN="+bin, zombieLeaderEnv+"=1")}})
			if err != nil {
				t.Fatal(err)
			}
			out := waitFor(t, filepath.Join(s.Dir(), "apps.log"), "zombie-leader ")
			pid, _ := strconv.Atoi(zombieLeaderRE.FindStringSubmatch(out)[1])
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, ok := readStat(pid)
				if ok && st.state == 'Z' && alive(pid) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("process %d never had its main thread gone and another running (stat %+v, %v)", pid, st, ok)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := s.Teardown(t.Context()); err != nil {
				t.Fatalf("teardown: %v", err)
			}
			if alive(pid) {
				t.Errorf("process %d, its main thread gone, still runs after the teardown", pid)
			}
		})
	}
}

// TestStatDead: a zombie is gone, but a process whose leader thread is a
// zombie while other threads run is not.
func TestStatDead(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		dead bool
	}{
		{"running", "42 (a) S 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", false},
		{"zombie", "42 (a) Z 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", true},
		{"being reaped", "42 (a) X 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", true},
		{"main thread gone, 4 others run", "42 (a) Z 1 40 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 5 0 12345 0 0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := parseStat([]byte(tc.line))
			if !ok {
				t.Fatalf("parseStat(%q) failed", tc.line)
			}
			if got := st.dead(); got != tc.dead {
				t.Errorf("dead() = %v for %+v, want %v", got, st, tc.dead)
			}
		})
	}
}
