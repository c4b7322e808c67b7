package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const pollEvery = 20 * time.Millisecond

// group is a process group to end.
type group struct {
	pgid  int
	start uint64        // the leader's start time; 0 when unknown
	ended chan struct{} // closed when the leader is reaped; nil when not our child
	// gone, if set, is set once the group has emptied after its leader
	// was reaped (proc.gone), or was found to be another's (ours).
	gone *atomic.Bool
}

// ours reports whether process group number g.pgid still names the
// session's group. The kernel keeps a group's number from any new process
// while the group has a member; once it has emptied, a process may get
// the number as its PID and make a group of its own (every service systemd
// starts does, and a shell's job), which is not the session's and must not
// be signalled, least of all by an agent running as root. So the group is
// not ours when it emptied after its leader was reaped (g.gone), or when a
// process whose PID is the number is not the leader that was launched: its
// start time differs, or the launched leader (our child) has been reaped.
// A group of another whose leader has exited, leaving members, cannot be
// told from the session's own group whose leader exited: it is signalled.
func (g group) ours() bool {
	if g.gone != nil && g.gone.Load() {
		return false
	}
	reaped := false
	if g.ended != nil {
		select {
		case <-g.ended:
			reaped = true
		default:
		}
	}
	st, ok := readStat(g.pgid)
	if !ok || !reaped && (g.start == 0 || st.start == g.start) {
		return true
	}
	if g.gone != nil {
		g.gone.Store(true) // for good: the number is another's now
	}
	return false
}

// settleDelay separates the two looks that confirm a session's processes
// are gone.
const settleDelay = 10 * time.Millisecond

// kill ends the groups, every process in cgroup cg (when not ""), every
// other process marked with session directory dir and, when sweep is set,
// every process of user *sweep (the session user, see Manager.sweepUID):
// SIGTERM, up to Grace (or until ctx is done) for them to be gone,
// SIGKILL (the cgroup's at once, with cgroup.kill), then up to killWait
// for them to be gone and the leaders reaped. The groups are signalled by
// process group ID (kill(-pgid)); every other process through a pidfd,
// after checking that its PID still names the process found
// (signalProc).
func (m *Manager) kill(ctx context.Context, dir, cg string, groups []group, sweep *uint32) error {
	var errs []error
	strays := func() []procRef {
		procs := append(cgroupPids(cg), markedPids(dir)...)
		if sweep != nil {
			procs = append(procs, userPids(*sweep)...)
		}
		return procs
	}
	signal := func(sig syscall.Signal) {
		for _, g := range groups {
			if !g.ours() {
				continue
			}
			if err := syscall.Kill(-g.pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("signal process group %d with %s: %w", g.pgid, sig, err))
			}
		}
		for _, p := range strays() {
			_ = signalProc(p, sig) // best effort: it may be gone already
		}
	}
	gone := func() bool {
		for _, g := range groups {
			if g.ours() && groupAlive(g.pgid) {
				return false
			}
			if g.ended != nil {
				select {
				case <-g.ended:
				default:
					return false
				}
			}
		}
		return len(strays()) == 0
	}
	// A process in the middle of execve shows an empty environment for a
	// moment, so "no marked process" is only believed twice in a row.
	settled := func() bool {
		if !gone() {
			return false
		}
		time.Sleep(settleDelay)
		return gone()
	}
	if settled() {
		return nil
	}
	signal(syscall.SIGTERM)
	if waitUntil(ctx, m.cfg.Grace, settled) {
		return errors.Join(errs...)
	}
	if err := cgroupKill(cg); err != nil {
		errs = append(errs, err)
	}
	signal(syscall.SIGKILL)
	// A process forked between the two sweeps gets a second SIGKILL.
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killWait)
	defer cancel()
	ok := waitUntil(kctx, killWait, func() bool {
		if settled() {
			return true
		}
		_ = cgroupKill(cg)
		for _, p := range strays() {
			_ = signalProc(p, syscall.SIGKILL)
		}
		return false
	})
	if !ok {
		var left []string
		for _, g := range groups {
			if g.ours() && groupAlive(g.pgid) {
				left = append(left, strconv.Itoa(g.pgid))
			}
		}
		errs = append(errs, fmt.Errorf("processes survived SIGKILL: groups [%s], other pids %v",
			strings.Join(left, " "), pidsOf(strays())))
	}
	return errors.Join(errs...)
}

// waitUntil polls cond until it is true (true), or d has passed or ctx is
// done (false).
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
			return cond()
		case <-tick.C:
		}
	}
}

// groupAlive reports whether process group pgid has a live member.
// kill(-pgid, 0) fails with ESRCH once every member has been reaped; a
// member that is dead but unreaped (a zombie, typically an orphan whose
// new parent never reaps it) still counts for kill, so a group kill finds
// is confirmed through /proc.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false
	}
	ents, rerr := os.ReadDir("/proc")
	if rerr != nil {
		return true // no /proc: trust kill
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && !st.dead() {
			return true
		}
	}
	return false
}

// stat is what we use of /proc/PID/stat.
type stat struct {
	state   byte
	pgrp    int
	threads int    // threads in the process, the leader included
	start   uint64 // clock ticks after boot
}

// dead reports whether the process is a zombie or being reaped: it runs
// no code and holds no files open. The state is the leader thread's: a
// process whose main thread has exited (pthread_exit in main, or a raw
// exit) shows Z while its other threads run on, so a Z with more than
// one thread is alive.
func (st stat) dead() bool { return (st.state == 'Z' || st.state == 'X') && st.threads <= 1 }

func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	return parseStat(b)
}

// parseStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may hold spaces and parentheses, so fields are counted
// from the last ')'.
func parseStat(b []byte) (stat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, false
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return stat{}, false
	}
	threads, err := strconv.Atoi(f[17])
	if err != nil {
		return stat{}, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], pgrp: pgrp, threads: threads, start: start}, true
}

// procRef is a process found to be the session's: its PID, its start
// time, which tells it from a later process given the same PID, and how
// to check again that the process with that PID is the session's.
type procRef struct {
	pid   int
	start uint64
	ours  func(pid int) bool
}

// errReplaced is signalProc's refusal: the PID no longer names the
// process that was found, or that process is no longer the session's.
var errReplaced = errors.New("the process found is gone, or no longer the session's")

// signalProc sends sig to p without the PID-reuse race of kill(pid): it
// opens a pidfd for the PID first (os.FindProcess), then checks that the
// process is still the session's (p.ours) and that the PID still names
// the process found (same start time, not dead), and only then signals
// it, through the pidfd (pidfd_send_signal). A pidfd names one process
// for good: if the process the PID named when the pidfd was opened ended
// after that, the signal finds no one rather than its PID's next holder;
// if it had already ended and the PID gone to another process before the
// pidfd was opened, the check sees the other's start time (the PID
// cannot have gone away and come back to the process found in between).
// It returns errReplaced when the check fails, and nil for a process that
// ended before the signal.
//
// Where the kernel has no pidfds (before Linux 5.4, or a seccomp filter
// that forbids them), Go signals by PID: the check then still narrows the
// window to the moment between it and the signal.
func signalProc(p procRef, sig syscall.Signal) error {
	h, err := os.FindProcess(p.pid)
	if err != nil {
		return fmt.Errorf("open process %d: %w", p.pid, err)
	}
	defer h.Release()
	if !p.ours(p.pid) {
		return fmt.Errorf("signal process %d: %w", p.pid, errReplaced)
	}
	if st, ok := readStat(p.pid); !ok || st.dead() || st.start != p.start {
		return fmt.Errorf("signal process %d: %w", p.pid, errReplaced)
	}
	if err := h.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal process %d with %s: %w", p.pid, sig, err)
	}
	return nil
}

// pidsOf returns the PIDs of procs, for messages.
func pidsOf(procs []procRef) []int {
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.pid
	}
	return pids
}

// markedPids returns the live processes whose environment has
// SHIFTGATE_SESSION_DIR=dir: the session's processes, including those that
// left its process groups. Processes whose environment cannot be read
// (another user's, without privileges) are skipped.
func markedPids(dir string) []procRef {
	if dir == "" {
		return nil
	}
	marker := []byte(MarkerEnv + "=" + dir + "\x00")
	return livePids("environ", func(env []byte) bool { return hasEnv(env, marker) })
}

// userPids returns the live processes of user uid: those whose real,
// effective or saved user ID is uid. An unprivileged process cannot
// change those, so a process of the session user cannot leave this set
// the way it can leave its process group (setsid) and drop the marker
// (a cleared environment); running a set-user-ID program changes only
// the effective ID.
func userPids(uid uint32) []procRef {
	return livePids("status", func(status []byte) bool { return statusHasUID(status, uid) })
}

// livePids returns the processes other than this one, not zombies, whose
// /proc/PID/file matches; those whose file cannot be read are skipped.
// Each one's ours reads the file again.
func livePids(file string, match func([]byte) bool) []procRef {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	ours := func(pid int) bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
		return err == nil && match(b)
	}
	self := os.Getpid()
	var procs []procRef
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !ours(pid) {
			continue
		}
		// The start time read here may already be a later holder's of
		// the PID: signalProc checks ours again before it believes it.
		if st, ok := readStat(pid); ok && !st.dead() {
			procs = append(procs, procRef{pid: pid, start: st.start, ours: ours})
		}
	}
	return procs
}

// statusHasUID reports whether the "Uid:" line of /proc/PID/status (real,
// effective, saved and filesystem user IDs) has uid as its real, effective
// or saved ID.
func statusHasUID(status []byte, uid uint32) bool {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("Uid:"))
		if !ok {
			continue
		}
		ids := strings.Fields(string(rest))
		for _, id := range ids[:min(len(ids), 3)] {
			if n, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(n) == uid {
				return true
			}
		}
		return false
	}
	return false
}

// hasEnv reports whether the NUL-separated environment env holds the
// entry entry (which ends with NUL).
func hasEnv(env, entry []byte) bool {
	return bytes.HasPrefix(env, entry) || bytes.Contains(env, append([]byte{0}, entry...))
}

// wipe removes dir and everything in it, read-only files and directories
// included: directories are made accessible (never through a symlink)
// before os.RemoveAll, which does not follow symlinks either.
func wipe(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && fi.IsDir() {
		makeWritable(dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	return nil
}

// makeWritable gives the owner rwx on root, a directory (not a symlink),
// and on every directory under it. WalkDir visits a directory before
// reading it, so a directory made accessible is then walked.
//
// Everything happens through an os.Root on root's parent: a process of
// the session that outlived the kill may swap a directory for a symlink
// between the look at it and the chmod, and a chmod by path would then
// follow the symlink out of the session (run as root, it would open up
// any file on the machine, with the mode the apps chose). Through the
// Root, no path resolves outside it and the final chmod does not follow a
// symlink.
func makeWritable(root string) {
	parent, err := os.OpenRoot(filepath.Dir(root))
	if err != nil {
		return
	}
	defer parent.Close()
	makeWritableAt(parent, filepath.Base(root))
}

// makeWritableAt is makeWritable of the entry base of parent.
func makeWritableAt(parent *os.Root, base string) {
	fi, err := parent.Lstat(base)
	if err != nil || !fi.IsDir() {
		return
	}
	addOwnerRWX(parent, base, fi)
	r, err := parent.OpenRoot(base)
	if err != nil {
		return
	}
	defer r.Close()
	// base may have been replaced since the Lstat (by a symlink to
	// another directory of parent): walk only the directory looked at.
	if rfi, err := r.Stat("."); err != nil || !os.SameFile(fi, rfi) {
		return
	}
	_ = fs.WalkDir(r.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == "." {
			return nil
		}
		if fi, err := r.Lstat(path); err == nil && fi.IsDir() {
			addOwnerRWX(r, path, fi)
		}
		return nil
	})
}

// addOwnerRWX gives the directory name of r, which an lstat found as fi,
// owner rwx if it lacks any. The mode is changed through a descriptor of
// the directory, opened without following a symlink and checked to be
// the one found (device and inode): name may have been replaced by a
// symlink since the lstat (a process that outlived the kill may replace
// its entries in a directory it can write, such as /tmp), and Root.Chmod
// would follow that to whatever it names inside the Root (another user's
// file in /tmp) and give it the directory's mode. An agent that is not
// root cannot open its apps' directory without read permission: it
// changes the mode by name, through the Root, as its apps run as its own
// user and gain nothing from a swap.
func addOwnerRWX(r *os.Root, name string, fi fs.FileInfo) {
	perm := fi.Mode().Perm()
	want, ok := fi.Sys().(*syscall.Stat_t)
	if perm&0o700 == 0o700 || !ok {
		return
	}
	dir, err := r.Open(filepath.Dir(name))
	if err != nil {
		return
	}
	defer dir.Close()
	fd, err := syscall.Openat(int(dir.Fd()), filepath.Base(name), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.EACCES) && os.Geteuid() != 0 {
		_ = r.Chmod(name, perm|0o700)
		return
	}
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Dev != want.Dev || st.Ino != want.Ino {
		return
	}
	_ = syscall.Fchmod(fd, uint32(perm|0o700))
}
