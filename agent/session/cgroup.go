package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroups: with a cgroup v2 hierarchy the agent may create groups in, each
// session's apps start inside a cgroup of their own (clone3 with
// CLONE_INTO_CGROUP, so from their first instruction), and the teardown
// ends every process in it with cgroup.kill, which the kernel applies to
// the whole group at once, processes forked meanwhile included. Leaving
// the cgroup takes write access to cgroup.procs files the agent owns, so
// an app that runs as the session user cannot, whatever it does to its
// process group or environment.

// NoCgroup, as Config.Cgroup, runs sessions without cgroups.
const NoCgroup = "off"

// cgroupPrefix starts the name of every session cgroup.
const cgroupPrefix = "shiftgate-"

// cgroupDir returns where the session cgroups of a Manager go: the
// configured directory, or the agent's own cgroup in the cgroup v2
// hierarchy (on a systemd machine, the service's; with Delegate=yes an
// agent that is not root may create groups there too). It checks that a
// group can be made there, and says why not otherwise.
func cgroupDir(configured string) (string, error) {
	dir := configured
	if dir == "" {
		mount, err := cgroup2Mount()
		if err != nil {
			return "", err
		}
		own, err := ownCgroup()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(mount, own)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return "", fmt.Errorf("%s is not a cgroup v2 directory: %w", dir, err)
	}
	probe, err := os.MkdirTemp(dir, cgroupPrefix+"probe-")
	if err != nil {
		return "", fmt.Errorf("cannot create cgroups in %s: %w", dir, err)
	}
	// (The root cgroup has no cgroup.kill; its children do.)
	_, kerr := os.Stat(filepath.Join(probe, "cgroup.kill"))
	if err := removeCgroup(probe); err != nil {
		return "", err
	}
	if kerr != nil {
		return "", fmt.Errorf("cgroups in %s have no cgroup.kill (Linux 5.14 or later): %w", dir, kerr)
	}
	return dir, nil
}

// cgroup2Mount returns the mount point of the cgroup v2 hierarchy
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid machine).
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile(mountinfoPath)
	if err != nil {
		return "", err
	}
	ms, err := parseMountinfo(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", mountinfoPath, err)
	}
	for _, mi := range ms {
		if mi.fstype == "cgroup2" {
			return mi.point, nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted")
}

// unescapeMount undoes the octal escapes (\040 for a space) of
// /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup returns this process's cgroup v2 path ("0::PATH" in
// /proc/self/cgroup).
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "0::"); ok {
			if strings.HasSuffix(p, " (deleted)") || !strings.HasPrefix(p, "/") {
				return "", fmt.Errorf("own cgroup %q is not usable", p)
			}
			return p, nil
		}
	}
	return "", errors.New("this process is in no cgroup v2 group")
}

// cgroupName is the name of session id's cgroup. It holds a hash of the
// state directory so that two agents on one machine (and tests) never
// share one.
func cgroupName(stateRoot, id string) string {
	sum := sha256.Sum256([]byte(stateRoot))
	return cgroupPrefix + hex.EncodeToString(sum[:6]) + "-" + id
}

// cgroupPids returns the live processes in cgroup dir; none when it does
// not exist. A PID is kept only if cgroup.procs still lists it after its
// start time was read: that start time is then a member's, not that of a
// process outside the group that got the PID meanwhile. No process
// leaves the group by itself (only the agent moves processes between
// cgroups), so signalProc's start-time check is all a later signal
// needs: each one's ours is always true. Reading cgroup.procs again for
// every process signalled would make a signal round quadratic in the
// number of processes, which a forking app drives up.
func cgroupPids(dir string) []procRef {
	if dir == "" {
		return nil
	}
	member := func(int) bool { return true }
	var procs []procRef
	for _, pid := range cgroupProcs(dir) {
		if st, ok := readStat(pid); ok && !st.dead() {
			procs = append(procs, procRef{pid: pid, start: st.start, ours: member})
		}
	}
	if len(procs) == 0 {
		return nil
	}
	still := cgroupProcs(dir)
	slices.Sort(still)
	return slices.DeleteFunc(procs, func(p procRef) bool {
		_, listed := slices.BinarySearch(still, p.pid)
		return !listed
	})
}

// cgroupProcs returns the PIDs listed in cgroup.procs of cgroup dir; none
// when it cannot be read.
func cgroupProcs(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for line := range bytes.Lines(b) {
		if pid, err := strconv.Atoi(string(bytes.TrimSpace(line))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupKill SIGKILLs every process in cgroup dir at once (cgroup.kill).
// A group already removed is no error.
func cgroupKill(dir string) error {
	if dir == "" {
		return nil
	}
	err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill cgroup %s: %w", dir, err)
	}
	return nil
}

// killedCgroupWait bounds how long removeKilledCgroup waits for the
// kernel to finish the exits of the processes a kill ended.
const killedCgroupWait = time.Second

// removeKilledCgroup is removeCgroup for a cgroup whose processes a kill
// has just ended: the kernel may count one that is still finishing its
// exit (a multi-threaded process whose leader died first, above all) for
// a moment after the kill saw the group empty, and rmdir answers EBUSY
// meanwhile. That moment is waited out, up to killedCgroupWait, rather
// than failing the teardown into a retry with backoff while the next
// worker waits at a locked kiosk.
func removeKilledCgroup(dir string) error {
	deadline := time.Now().Add(killedCgroupWait)
	for {
		err := removeCgroup(dir)
		if err == nil || !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// removeCgroup removes cgroup dir, which must hold no live process. A
// group already removed is no error.
func removeCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	err := syscall.Rmdir(dir)
	if err == nil || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}
