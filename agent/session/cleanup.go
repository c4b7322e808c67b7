package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidsFile, in a session directory, records "PGID STARTTIME" per app.
const pidsFile = "pids"

// bootFile, in a session directory, holds the ID of the boot its pids
// were recorded in (recordedThisBoot).
const bootFile = "boot_id"

// LeftoverError is Cleanup's failure on one leftover session, which
// Session names: the agent tells the hub which session's apps or files
// may have survived (wire.CleanupReport). Cleanup's error wraps one per
// session it failed on.
type LeftoverError struct {
	Session string
	Err     error
}

func (e *LeftoverError) Error() string { return "session " + e.Session + ": " + e.Err.Error() }
func (e *LeftoverError) Unwrap() error { return e.Err }

// Cleanup removes what sessions of an earlier, crashed agent left under
// StateDir/sessions: it ends their recorded process groups and marked
// processes (SIGTERM, Grace, SIGKILL), removes their directories and, if
// anything was left, clears the clipboard. With Config.RunAs it also ends
// every process of the session user and then detaches its FUSE mounts,
// removes the session homes left in HomeRoot (see Manager.sessionHome)
// with the mounts in them, and removes what that user owns in the shared
// temporary directories (Config.TempDirs), empties its keyrings and
// removes its System V IPC objects. Sessions started by this Manager are
// not touched. Call it when the agent starts, before Start; after it
// failed, call it again until it succeeds (what it could not end or
// remove is found again, and a clipboard it could not clear is cleared).
//
// It gives up when ctx is done: the wait after SIGTERM is cut short (as
// in Teardown), the clipboard clearer gets ctx, and no further step is
// started. The call then fails, and the next call does what it left. A
// try that went on would only hold up its caller: the agent, which keeps
// the kiosk locked until a try succeeds, could neither say why
// (cleanup.failed) and try again, nor stop.
func (m *Manager) Cleanup(ctx context.Context) error {
	ents, err := os.ReadDir(m.root)
	if err != nil {
		return fmt.Errorf("clean up sessions: %w", err)
	}
	var errs []error
	// cut reports whether ctx is done; the first time it is, it says so
	// in the error.
	gaveUp := false
	cut := func() bool {
		if ctx.Err() == nil {
			return false
		}
		if !gaveUp {
			gaveUp = true
			errs = append(errs, fmt.Errorf("gave up before the end: %w", context.Cause(ctx)))
		}
		return true
	}
	m.mu.Lock()
	// What an earlier try removed is not found again, but the clipboard
	// it could not clear may still hold the last worker's data.
	found := m.clipboardOwed
	m.mu.Unlock()
	for _, e := range ents {
		if cut() {
			break
		}
		name := e.Name()
		m.mu.Lock()
		_, live := m.live[name]
		m.mu.Unlock()
		if live {
			continue
		}
		found = true
		m.log.Warn("removing leftover session", "session", name)
		if !e.IsDir() || !ValidID(name) {
			// Not ours to interpret; nothing can run from it.
			if err := wipe(filepath.Join(m.root, name)); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := m.cleanupOne(ctx, name); err != nil {
			errs = append(errs, &LeftoverError{Session: name, Err: err})
		}
	}
	// Homes whose session directory is gone (a crash between the two, or
	// a teardown that removed the directory but failed on the home):
	// removed below, once the session user's processes are ended.
	var orphans []string
	if m.homes != "" {
		homes, err := os.ReadDir(m.homes)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range homes {
			m.mu.Lock()
			_, live := m.live[e.Name()]
			m.mu.Unlock()
			if live {
				continue
			}
			if _, err := os.Lstat(filepath.Join(m.root, e.Name())); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
			orphans = append(orphans, filepath.Join(m.homes, e.Name()))
		}
	}
	// Session cgroups of this state directory whose session directory
	// is gone (removed by hand, or a teardown that could not kill
	// everything was retried by a process that is gone).
	if m.cgroups != "" {
		prefix := cgroupName(m.root, "")
		ents, err := os.ReadDir(m.cgroups)
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range ents {
			id, ok := strings.CutPrefix(e.Name(), prefix)
			if !ok || !e.IsDir() || !ValidID(id) {
				continue
			}
			m.mu.Lock()
			_, live := m.live[id]
			m.mu.Unlock()
			if live {
				continue
			}
			found = true
			if cut() {
				break
			}
			cg := filepath.Join(m.cgroups, e.Name())
			m.log.Warn("ending leftover session cgroup", "session", id)
			if err := m.kill(ctx, "", cg, nil, nil); err != nil {
				errs = append(errs, err)
			} else if err := removeKilledCgroup(cg); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Processes of the session user that escaped every session's
	// process group and marker (a crashed agent's); then its FUSE
	// mounts, wherever they are (one on a home hides the home's owner
	// from sessionHome), the leftover homes with the mounts in them, and
	// what the session user left in the shared temporary directories.
	uid := m.sweepUID("")
	ended := uid != nil // every process of the session user is gone (see removeRemains)
	if uid != nil && len(userPids(*uid)) > 0 {
		found = true
		if cut() {
			ended = false
		} else {
			m.log.Warn("ending leftover processes of the session user", "uid", *uid)
			if err := m.kill(ctx, "", "", nil, uid); err != nil {
				errs = append(errs, err)
				ended = false
			}
		}
	}
	if ended && !cut() {
		n, err := m.detachMounts(nil, uid)
		if n > 0 {
			found = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, path := range orphans {
		if !m.sessionHome(path) {
			m.log.Warn("not a session home: left alone", "path", path)
			continue
		}
		found = true
		if cut() {
			break
		}
		m.log.Warn("removing leftover session home", "session", filepath.Base(path))
		if ended {
			if _, err := m.detachMounts([]string{path}, nil); err != nil {
				errs = append(errs, err)
			}
		}
		if err := wipe(path); err != nil {
			errs = append(errs, err)
		}
	}
	if ended && !cut() {
		n, err := m.sweepTemp(*uid)
		if n > 0 {
			found = true
		}
		if err != nil {
			errs = append(errs, err)
		}
		if err := clearKeyrings(*uid); err != nil {
			errs = append(errs, err)
		}
		n, err = m.sweepIPC(*uid)
		if n > 0 {
			found = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if found && m.cfg.Clipboard != nil {
		// A try that gave up before the clipboard leaves it to the next,
		// as one whose clearer failed does.
		cleared := false
		if !cut() {
			err := m.cfg.Clipboard(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("clear clipboard: %w", err))
			}
			cleared = err == nil
		}
		m.mu.Lock()
		m.clipboardOwed = !cleared
		m.mu.Unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up sessions: %w", err)
	}
	return nil
}

// cleanupOne ends the processes of session id recorded on disk or marked
// in their environment, and removes its directory. It does not touch the
// clipboard.
func (m *Manager) cleanupOne(ctx context.Context, id string) error {
	dir := filepath.Join(m.root, id)
	var errs []error
	recs, err := readPids(filepath.Join(dir, pidsFile))
	if err != nil {
		errs = append(errs, err)
	}
	thisBoot := recordedThisBoot(dir)
	var groups []group
	for _, r := range recs {
		// A recorded group may have ended and its number been reused by
		// an unrelated process since: see groupOurs.
		if groupOurs(r.pgid, r.start, dir, thisBoot) {
			groups = append(groups, group{pgid: r.pgid, start: r.start})
		}
	}
	cg := ""
	if m.cgroups != "" {
		cg = filepath.Join(m.cgroups, cgroupName(m.root, id))
	}
	sweep := m.sweepUID(id)
	home := ""
	if m.homes != "" {
		home = filepath.Join(m.homes, id)
	}
	killed := m.kill(ctx, dir, cg, groups, sweep)
	if killed != nil {
		errs = append(errs, killed)
	}
	if _, err := m.removeRemains(killed, dir, home, cg, sweep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sessionHome reports whether path, an entry of HomeRoot, can be a
// session's home: named like a session, and a directory (not a symlink)
// owned by the session user, or an empty one owned by the agent (made,
// and not handed over yet, when the agent stopped). Anything else was put
// there by someone else and is not Cleanup's to remove (a HomeRoot given
// as /home, say).
func (m *Manager) sessionHome(path string) bool {
	if !ValidID(filepath.Base(path)) {
		return false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return false
	case st.Uid == m.cfg.RunAs.UID:
		return true
	case st.Uid == uint32(os.Geteuid()):
		ents, err := os.ReadDir(path)
		return err == nil && len(ents) == 0
	}
	return false
}

type pidRecord struct {
	pgid  int
	start uint64
}

// readPids reads a pids file; a missing file is no records.
func readPids(path string) ([]pidRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var recs []pidRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r, ok := parsePidLine(sc.Text())
		if !ok {
			// A crash can cut the last line short; the marker sweep still
			// finds that app.
			continue
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return recs, fmt.Errorf("read %s: %w", path, err)
	}
	return recs, nil
}

func parsePidLine(line string) (pidRecord, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		return pidRecord{}, false
	}
	// A pid_t is 32 bits, and kill(2) reads -pgid from the low ones:
	// 4294967297 would be kill(-1).
	n, err := strconv.ParseInt(a, 10, 32)
	pgid := int(n)
	if err != nil || pgid <= 1 { // never kill(-1) or kill(0)
		return pidRecord{}, false
	}
	start, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return pidRecord{}, false
	}
	return pidRecord{pgid: pgid, start: start}, true
}

// groupOurs reports whether process group pgid is the one recorded for
// the session in dir: its leader is the recorded process (same start
// time; a zombie too, as no other process can have its PID), one of its
// live members carries the session's marker, or, for records of this boot
// (thisBoot), no process has the leader's PID any more and a live member
// started no earlier than the leader. That last is a member left in the
// app's group by a leader that exited (a launcher that handed over) and
// that cleared its environment: it never left the group, and Teardown
// ends it too (group.ours). No process gets the group's number as its PID
// while the group has a member, so a process with the leader's PID that
// is not the leader means the number is another's; a group of another
// that took the number and whose own leader has exited too, leaving
// members, cannot be told from the session's, as for Teardown. Records of
// another boot, or of a directory that does not say (recordedThisBoot),
// name no process that runs now: they are believed only for the leader or
// a marked member.
func groupOurs(pgid int, start uint64, dir string, thisBoot bool) bool {
	st, ok := readStat(pgid)
	if ok && st.pgrp == pgid && st.start == start {
		return true
	}
	orphans := !ok && thisBoot
	marker := []byte(MarkerEnv + "=" + dir + "\x00")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.pgrp != pgid || st.dead() {
			continue
		}
		if orphans && st.start >= start {
			return true
		}
		if env, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && hasEnv(env, marker) {
			return true
		}
	}
	return false
}

// bootIDFile names the running boot: a random UUID the kernel draws at
// every boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// runningBoot reads the running boot's ID; ok is false when it cannot be
// read.
func runningBoot() (id string, ok bool) {
	b, err := os.ReadFile(bootIDFile)
	id = strings.TrimSpace(string(b))
	return id, err == nil && id != ""
}

// recordBoot writes the running boot's ID to dir's bootFile, through a
// temporary file renamed into place, so that a crash leaves the whole ID
// or none. It is not synced: a file a power cut loses only makes the
// records another boot's, which they then are. ok is false, and nothing
// is written, when the boot's ID cannot be read.
func recordBoot(dir string) (ok bool, err error) {
	id, ok := runningBoot()
	if !ok {
		return false, nil
	}
	path := filepath.Join(dir, bootFile)
	f, err := os.CreateTemp(dir, "."+bootFile+".tmp-*") // 0600
	if err != nil {
		return true, fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.WriteString(id)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return true, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// recordedThisBoot reports whether the records in session directory dir
// were written in the running boot: its bootFile names it. File times
// cannot tell: a kiosk without a real-time clock boots with the clock it
// saved before (fake-hwclock, systemd-timesyncd), so after a power cut a
// file of the previous boot can look newer than this boot's start. A
// directory without the file (made by an older agent, or one that could
// not read the boot's ID) counts as another boot's.
func recordedThisBoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, bootFile))
	if err != nil {
		return false
	}
	id, ok := runningBoot()
	return ok && string(b) == id
}
