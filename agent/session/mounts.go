package session

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Mounts a session leaves. The session user can mount through set-user-ID
// helpers: fusermount (an AppImage mounts itself, sshfs, squashfuse) on a
// directory it owns, in its home or directly in /tmp. A FUSE mount made
// without allow_other answers every other user, root included, with
// EACCES: the wipe of the home and the sweep of the shared temporary
// directories cannot look into it, and fail at every retry. Any mount
// point in the home also makes its removal fail with EBUSY. So, with a
// session user and once the kill has ended its processes (the FUSE
// daemons among them: the mounts are dead by then), the teardown detaches
// the session's mounts before it wipes and sweeps (Manager.detachMounts).

const (
	mountinfoPath = "/proc/self/mountinfo"
	// oPath is O_PATH, the same on every Linux architecture Go runs on:
	// a descriptor that names a file without opening it, so the file
	// itself is neither checked for permission nor asked (no FUSE
	// request).
	oPath = 0x200000
	// maxDetachRounds bounds the passes of detachMounts; each pass but
	// the last detaches at least one mount, and a session's processes,
	// ended by then, make no new ones.
	maxDetachRounds = 8
)

// errMountMoved is detachMount's refusal: the mount point's path no longer
// leads to the mount that was chosen.
var errMountMoved = errors.New("the path no longer leads to the mount found there")

// mountInfo is a line of /proc/PID/mountinfo (see proc_pid_mountinfo(5)),
// its paths, names and super options unescaped.
type mountInfo struct {
	id, parent int
	dev        string   // major:minor
	root       string   // the directory of the file system mounted
	point      string   // the mount point, from the reader's root
	opts       string   // per-mount options
	optional   []string // "shared:N", "master:N" …
	fstype     string   // "ext4", "fuse.sshfs" …
	source     string
	superOpts  []string // per-superblock options, one an element
}

// fuse reports whether mi is a FUSE mount (fuse, fuseblk, or either with
// a subtype: fuse.sshfs).
func (mi mountInfo) fuse() bool {
	for _, t := range []string{"fuse", "fuseblk"} {
		if mi.fstype == t || strings.HasPrefix(mi.fstype, t+".") {
			return true
		}
	}
	return false
}

// userID returns the user_id super option of a FUSE mount: the user who
// mounted it, the only one (with root, under allow_root) it answers
// unless it was mounted allow_other.
func (mi mountInfo) userID() (uint32, bool) {
	for _, o := range mi.superOpts {
		if v, ok := strings.CutPrefix(o, "user_id="); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			return uint32(n), err == nil
		}
	}
	return 0, false
}

// parseMountinfo parses the content of /proc/PID/mountinfo. A line it
// cannot parse fails it: a mount skipped could be the one that makes the
// wipe fail.
func parseMountinfo(b []byte) ([]mountInfo, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	var ms []mountInfo
	for i, line := range strings.Split(s, "\n") {
		mi, err := parseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, line, err)
		}
		ms = append(ms, mi)
	}
	return ms, nil
}

// parseMountinfoLine parses one line of mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// mount ID, parent ID, major:minor, root, mount point, mount options, zero
// or more optional fields ended by "-", then file system type, source and
// super options. The kernel escapes space, tab, newline and backslash in
// the paths, type and source (and also comma and '=' in super option
// values) as a backslash and three octal digits (unescapeMount), so
// fields are separated by single spaces; an empty source leaves an empty
// field.
func parseMountinfoLine(line string) (mountInfo, error) {
	f := strings.Split(line, " ")
	if len(f) < 10 {
		return mountInfo{}, fmt.Errorf("%d fields, want at least 10", len(f))
	}
	sep := slices.Index(f[6:], "-")
	if sep < 0 {
		return mountInfo{}, errors.New(`no "-" after the optional fields`)
	}
	sep += 6
	if n := len(f) - sep - 1; n != 3 {
		return mountInfo{}, fmt.Errorf("%d fields after the optional fields, want 3", n)
	}
	id, err := strconv.ParseUint(f[0], 10, 31)
	if err != nil {
		return mountInfo{}, fmt.Errorf("mount ID: %w", err)
	}
	parent, err := strconv.ParseUint(f[1], 10, 31)
	if err != nil {
		return mountInfo{}, fmt.Errorf("parent ID: %w", err)
	}
	mi := mountInfo{
		id:       int(id),
		parent:   int(parent),
		dev:      f[2],
		root:     unescapeMount(f[3]),
		point:    unescapeMount(f[4]),
		opts:     f[5],
		optional: slices.Clone(f[6:sep]),
		fstype:   unescapeMount(f[sep+1]),
		source:   unescapeMount(f[sep+2]),
	}
	if len(mi.optional) == 0 {
		mi.optional = nil
	}
	for o := range strings.SplitSeq(f[sep+3], ",") {
		mi.superOpts = append(mi.superOpts, unescapeMount(o))
	}
	return mi, nil
}

// sessionMounts returns the mounts of ms that are a session's to detach,
// deepest mount point first (of mounts stacked on one point, the last
// mounted, the one on top, first): every mount whose mount point is one of
// dirs or lies inside one (the session's home and directory, absolute
// paths without symlinks) and, when uid is set, every FUSE mount of user
// *uid wherever it is (user_id: the user who mounted it through
// fusermount; set only when every process of the user, a user dedicated to
// kiosk sessions, belongs to the session and is gone). Nothing else: not
// a mount on "/", not a dir that is "/" or relative.
func sessionMounts(ms []mountInfo, dirs []string, uid *uint32) []mountInfo {
	var within []string
	for _, d := range dirs {
		if filepath.IsAbs(d) && filepath.Clean(d) != "/" {
			within = append(within, filepath.Clean(d))
		}
	}
	ours := func(mi mountInfo) bool {
		if !filepath.IsAbs(mi.point) || filepath.Clean(mi.point) == "/" {
			return false
		}
		for _, d := range within {
			if mi.point == d || strings.HasPrefix(mi.point, d+"/") {
				return true
			}
		}
		if uid != nil && mi.fuse() {
			if u, ok := mi.userID(); ok && u == *uid {
				return true
			}
		}
		return false
	}
	type chosen struct {
		mi    mountInfo
		order int // line in mountinfo: later lines were mounted later
	}
	var cs []chosen
	for i, mi := range ms {
		if ours(mi) {
			cs = append(cs, chosen{mi, i})
		}
	}
	slices.SortFunc(cs, func(a, b chosen) int {
		if c := cmp.Compare(strings.Count(b.mi.point, "/"), strings.Count(a.mi.point, "/")); c != 0 {
			return c
		}
		return cmp.Compare(b.order, a.order)
	})
	out := make([]mountInfo, len(cs))
	for i, c := range cs {
		out[i] = c.mi
	}
	return out
}

// detachMounts detaches, lazily (MNT_DETACH), every mount of the session:
// those whose mount point lies in one of dirs (the session's directory and
// home) and, with uid set (Manager.sweepUID), every FUSE mount of that
// user; see sessionMounts. It returns how many it detached. It goes on
// after a failure; the mounts still there at the end fail it, each named
// with its mount point.
//
// Callers detach only once the session's processes are gone: a FUSE daemon
// of the session is dead by then, so its mount is, and a process of the
// session user can no longer move its directories around. Even so, a
// mount is detached through a descriptor checked to be that mount
// (detachMount), never by a path that could have been changed since.
//
// Only an agent that runs as root with a session user detaches: without
// one, the apps' files and mounts are the agent's user's, and nothing is
// touched.
func (m *Manager) detachMounts(dirs []string, uid *uint32) (int, error) {
	if m.cfg.RunAs == nil || os.Geteuid() != 0 {
		return 0, nil
	}
	dirs = resolveParents(dirs)
	detached := 0
	failed := map[int]error{}
	defer func() {
		if detached > 0 {
			// A count, not the mount points: their names may say what
			// the worker did.
			m.log.Info("detached the mounts the session user left", "mounts", detached)
		}
	}()
	progress := true
	for round := 0; ; round++ {
		b, err := os.ReadFile(mountinfoPath)
		if err != nil {
			return detached, fmt.Errorf("detach the session's mounts: %w", err)
		}
		ms, err := parseMountinfo(b)
		if err != nil {
			return detached, fmt.Errorf("detach the session's mounts: %s: %w", mountinfoPath, err)
		}
		chosen := sessionMounts(ms, dirs, uid)
		if len(chosen) == 0 {
			return detached, nil
		}
		if !progress || round == maxDetachRounds {
			var errs []error
			for _, mi := range chosen {
				err := failed[mi.id]
				if err == nil {
					err = errors.New("still mounted")
				}
				errs = append(errs, fmt.Errorf("detach mount %s (%s): %w", mi.point, mi.fstype, err))
			}
			return detached, errors.Join(errs...)
		}
		progress = false
		for _, mi := range chosen {
			if err := detachMount(mi); err != nil {
				failed[mi.id] = err
				continue
			}
			delete(failed, mi.id)
			detached++
			progress = true
		}
	}
}

// detachMount lazily unmounts mi without trusting its path. It opens the
// mount point (O_PATH: no permission check, no request to a FUSE daemon;
// O_NOFOLLOW: a symlink there is opened as a link, on its parent's mount),
// checks that the descriptor lies on mount mi.id (fdinfo's mnt_id), and
// unmounts what the descriptor names, through its /proc/self/fd link: a
// path swapped afterwards (a directory on the way renamed and replaced by
// a symlink) changes nothing. UMOUNT_NOFOLLOW would protect only the last
// component of a path, and would refuse the /proc/self/fd link, which is
// the one thing this follows. umount also refuses a descriptor that is
// not the root of its mount (EINVAL).
func detachMount(mi mountInfo) error {
	fd, err := syscall.Open(mi.point, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer syscall.Close(fd)
	id, err := fdMountID(fd)
	if err != nil {
		return err
	}
	if id != mi.id {
		return fmt.Errorf("%w (mount %d, want %d)", errMountMoved, id, mi.id)
	}
	if err := syscall.Unmount("/proc/self/fd/"+strconv.Itoa(fd), syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount: %w", err)
	}
	return nil
}

// fdMountID returns the ID of the mount descriptor fd lies on, from
// /proc/self/fdinfo/FD: stat would ask a FUSE daemon, and be refused.
func fdMountID(fd int) (int, error) {
	path := "/proc/self/fdinfo/" + strconv.Itoa(fd)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("mnt_id:")); ok {
			id, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return 0, fmt.Errorf("%s: mnt_id: %w", path, err)
			}
			return id, nil
		}
	}
	return 0, fmt.Errorf("%s: no mnt_id", path)
}

// resolveParents returns dirs with their parents' symlinks resolved, as
// mountinfo shows mount points, and the empty ones dropped. Only the
// parents: they are the agent's (StateDir/sessions, HomeRoot), which no
// session user can change, while the last component, the session's own
// directory, is named as it is (it is in a directory the session user
// cannot write, so it cannot have been replaced by a symlink either).
func resolveParents(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if p, err := filepath.EvalSymlinks(filepath.Dir(d)); err == nil {
			d = filepath.Join(p, filepath.Base(d))
		}
		out = append(out, d)
	}
	return out
}
