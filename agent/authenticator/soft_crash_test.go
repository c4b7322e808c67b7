//go:build unix

package authenticator

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// softTapperEnv makes this test binary, run again, a kiosk process that taps the badge in the
// named directory over and over with a fresh Soft per tap, as the agent does, and prints each
// counter it got back.
const softTapperEnv = "SHIFTGATE_TEST_SOFT_TAPPER_DIR"

// TestSoftBadgeTwoProcessesAndKill: two processes share one badge file (kiosks started with
// the same soft:DIR) and are killed (SIGKILL) while tapping, at whatever point each one has
// reached: between writing the counter and signing, between signing and printing, in the
// middle of a write. No counter is handed out twice, the file is intact, and the next tap
// signs a counter above every one the killed processes returned: the counter is saved before
// the signature exists, so a crash can skip values but never repeat them.
func TestSoftBadgeTwoProcessesAndKill(t *testing.T) {
	if dir := os.Getenv(softTapperEnv); dir != "" {
		softTapper(dir)
		return
	}
	dir := t.TempDir()
	hash := make([]byte, 32)
	first := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := first.MakeCredential(t.Context(), CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}

	const procs, atLeast = 2, 20 // taps each process makes before the kill
	var (
		mu       sync.Mutex
		counters []uint32
		wg       sync.WaitGroup
	)
	started := make(chan struct{}, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSoftBadgeTwoProcessesAndKill$")
		cmd.Env = append(os.Environ(), softTapperEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
		wg.Go(func() {
			n := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				c, err := strconv.ParseUint(sc.Text(), 10, 32)
				if err != nil {
					t.Errorf("tapper %d: %q", i, sc.Text())
					continue
				}
				mu.Lock()
				counters = append(counters, uint32(c))
				mu.Unlock()
				if n++; n == atLeast {
					started <- struct{}{}
				}
			}
		})
	}
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	for range procs {
		select {
		case <-started:
		case <-time.After(60 * time.Second):
			t.Fatal("the tapper processes made too few taps")
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait() // both stdout pipes at EOF: every counter printed before the kill is in
	for _, cmd := range cmds {
		_ = cmd.Wait()
	}

	seen := map[uint32]bool{}
	var top uint32
	for _, c := range counters {
		if seen[c] {
			t.Errorf("counter %d signed twice across processes: the hub would suspend the badge as cloned", c)
		}
		seen[c] = true
		top = max(top, c)
	}
	next, ok := assertedCounter(t, newTestSoft(t, dir, "ana", SoftOptions{}), hash)
	if !ok {
		t.Fatal("the badge is unusable after the kill")
	}
	if next <= top {
		t.Errorf("after the kill the badge signed counter %d, not above the %d already returned", next, top)
	}
	t.Logf("%d counters returned by %d killed processes, highest %d; next tap %d", len(counters), procs, top, next)
}

// softTapper is the helper process: it taps until it is killed.
func softTapper(dir string) {
	hash := make([]byte, 32)
	for {
		s, err := NewSoft(dir, "ana", SoftOptions{})
		if err == nil {
			var res GetResult
			res, err = s.GetAssertion(context.Background(), GetRequest{RPID: testRPID, ClientDataHash: hash})
			if err == nil {
				fmt.Println(binary.BigEndian.Uint32(res.AuthenticatorData[33:37]))
				continue
			}
		}
		fmt.Fprintln(os.Stderr, "tapper:", err)
		os.Exit(1)
	}
}

// TestCrashLeftoversAreRemoved: a process killed in the middle of writeBadge leaves its
// temporary file, a full copy of the badge's private keys, next to the badge (the test above
// leaves one in about a third of its runs). The next write of that badge removes it, so
// deleting a badge file does not leave its keys behind in hidden files; another badge's
// temporary files are not touched.
func TestCrashLeftoversAreRemoved(t *testing.T) {
	dir := t.TempDir()
	hash := make([]byte, 32)
	badge := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := badge.MakeCredential(t.Context(), CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".ana.json.tmp-123456")
	other := filepath.Join(dir, ".bob.json.tmp-123456")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := assertedCounter(t, badge, hash); !ok {
		t.Fatal("tap failed")
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after the next write: %v, want it removed", filepath.Base(stale), err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another badge's temporary file: %v, want it kept", err)
	}
}
