package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Session users of the mount tests (see runas_test.go; 64107 and 64108
// are zombie_test.go's and sweepkill_test.go's).
const (
	uidMounts    = 64110
	uidMountsCln = 64111
	uidOrphan    = 64112
)

var allowMountInfo = cmp.AllowUnexported(mountInfo{})

var parseMountinfoCases = []struct {
	name    string
	in      string
	want    []mountInfo
	wantErr string
}{
	{
		name: "root file system",
		in:   "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n",
		want: []mountInfo{{id: 26, parent: 1, dev: "254:0", root: "/", point: "/", opts: "rw,relatime",
			fstype: "ext4", source: "/dev/vda", superOpts: []string{"rw", "discard"}}},
	},
	{
		name: "optional fields, proc(5)'s example",
		in:   "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
		want: []mountInfo{{id: 36, parent: 35, dev: "98:0", root: "/mnt1", point: "/mnt2", opts: "rw,noatime",
			optional: []string{"master:1"}, fstype: "ext3", source: "/dev/root", superOpts: []string{"rw", "errors=continue"}}},
	},
	{
		name: "several optional fields",
		in:   "67 26 0:45 / /run/user/1000 rw,nosuid,nodev,relatime shared:389 master:12 - tmpfs tmpfs rw,size=1603388k,mode=700,uid=1000,gid=1000",
		want: []mountInfo{{id: 67, parent: 26, dev: "0:45", root: "/", point: "/run/user/1000", opts: "rw,nosuid,nodev,relatime",
			optional: []string{"shared:389", "master:12"}, fstype: "tmpfs", source: "tmpfs",
			superOpts: []string{"rw", "size=1603388k", "mode=700", "uid=1000", "gid=1000"}}},
	},
	{
		name: "sshfs in a session home, a space in the path",
		in:   `812 67 0:61 / /var/lib/shiftgate/homes/3f2a/My\040Drive rw,nosuid,nodev,relatime shared:412 - fuse.sshfs ana@files.example:/srv/ana rw,user_id=64101,group_id=64101`,
		want: []mountInfo{{id: 812, parent: 67, dev: "0:61", root: "/", point: "/var/lib/shiftgate/homes/3f2a/My Drive",
			opts: "rw,nosuid,nodev,relatime", optional: []string{"shared:412"}, fstype: "fuse.sshfs",
			source: "ana@files.example:/srv/ana", superOpts: []string{"rw", "user_id=64101", "group_id=64101"}}},
	},
	{
		name: "an AppImage mounted in /tmp",
		in:   `905 29 0:70 / /tmp/.mount_KioskAQxZ3k ro,nosuid,nodev,relatime shared:430 - fuse.Kiosk\040App.AppImage Kiosk\040App.AppImage ro,user_id=64101,group_id=64101`,
		want: []mountInfo{{id: 905, parent: 29, dev: "0:70", root: "/", point: "/tmp/.mount_KioskAQxZ3k",
			opts: "ro,nosuid,nodev,relatime", optional: []string{"shared:430"}, fstype: "fuse.Kiosk App.AppImage",
			source: "Kiosk App.AppImage", superOpts: []string{"ro", "user_id=64101", "group_id=64101"}}},
	},
	{
		name: "fuseblk",
		in:   `120 26 8:17 / /media/kiosk/USB\040STICK rw,nosuid,nodev,relatime shared:60 - fuseblk /dev/sdb1 rw,user_id=0,group_id=0,default_permissions,allow_other,blksize=4096`,
		want: []mountInfo{{id: 120, parent: 26, dev: "8:17", root: "/", point: "/media/kiosk/USB STICK",
			opts: "rw,nosuid,nodev,relatime", optional: []string{"shared:60"}, fstype: "fuseblk", source: "/dev/sdb1",
			superOpts: []string{"rw", "user_id=0", "group_id=0", "default_permissions", "allow_other", "blksize=4096"}}},
	},
	{
		name: "tab, newline and backslash escaped; an empty source; other backslashes kept",
		in:   `130 26 0:80 /sub\134dir /tmp/a\011b\012c\x\400\12 rw - tmpfs  rw,label=a\054b`,
		want: []mountInfo{{id: 130, parent: 26, dev: "0:80", root: `/sub\dir`, point: "/tmp/a\tb\nc\\x\\400\\12", opts: "rw",
			fstype: "tmpfs", source: "", superOpts: []string{"rw", "label=a,b"}}},
	},
	{
		name: "a namespace file's root",
		in:   "500 28 0:4 net:[4026532281] /run/netns/kiosk rw shared:5 - nsfs nsfs rw",
		want: []mountInfo{{id: 500, parent: 28, dev: "0:4", root: "net:[4026532281]", point: "/run/netns/kiosk", opts: "rw",
			optional: []string{"shared:5"}, fstype: "nsfs", source: "nsfs", superOpts: []string{"rw"}}},
	},
	{
		name: "a whole file",
		in: "21 26 0:20 / /proc rw,relatime - proc proc rw\n" +
			"24 23 0:22 / /dev/shm rw,relatime shared:3 - tmpfs tmpfs rw,size=24683620k\n",
		want: []mountInfo{
			{id: 21, parent: 26, dev: "0:20", root: "/", point: "/proc", opts: "rw,relatime", fstype: "proc", source: "proc", superOpts: []string{"rw"}},
			{id: 24, parent: 23, dev: "0:22", root: "/", point: "/dev/shm", opts: "rw,relatime", optional: []string{"shared:3"},
				fstype: "tmpfs", source: "tmpfs", superOpts: []string{"rw", "size=24683620k"}},
		},
	},
	{name: "empty", in: ""},
	{name: "too few fields", in: "26 1 254:0 / / rw - ext4 /dev/vda", wantErr: "at least 10"},
	{name: "no separator", in: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", wantErr: `no "-"`},
	{name: "a field too many after the separator", in: "26 1 254:0 / / rw - ext4 /dev/vda rw extra", wantErr: "4 fields after"},
	{name: "a field too few after the separator", in: "26 1 254:0 / / rw shared:1 - ext4 rw", wantErr: "2 fields after"},
	{name: "bad mount ID", in: "x 1 254:0 / / rw - ext4 /dev/vda rw", wantErr: "mount ID"},
	{name: "negative parent ID", in: "26 -1 254:0 / / rw - ext4 /dev/vda rw", wantErr: "parent ID"},
	{name: "an empty line between", in: "21 26 0:20 / /proc rw - proc proc rw\n\n24 23 0:22 / /dev/shm rw - tmpfs tmpfs rw\n", wantErr: "line 2"},
}

func TestParseMountinfo(t *testing.T) {
	for _, tc := range parseMountinfoCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMountinfo([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseMountinfo: %v, %v; want an error about %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, allowMountInfo); diff != "" {
				t.Errorf("parseMountinfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMountInfoFUSE(t *testing.T) {
	for _, tc := range []struct {
		fstype    string
		superOpts []string
		fuse      bool
		uid       uint32
		hasUID    bool
	}{
		{"fuse.sshfs", []string{"rw", "user_id=64101", "group_id=64101"}, true, 64101, true},
		{"fuse", []string{"rw", "user_id=0", "group_id=0"}, true, 0, true},
		{"fuseblk", []string{"rw", "user_id=1000"}, true, 1000, true},
		{"fuseblk.ntfs", []string{"rw", "user_id=1000"}, true, 1000, true},
		{"fuse.squashfuse", []string{"ro", "user_id=abc"}, true, 0, false},
		{"fuse.squashfuse", []string{"ro", "user_id=4294967296"}, true, 0, false},
		{"fusectl", []string{"rw"}, false, 0, false},
		{"fuseish", []string{"rw", "user_id=64101"}, false, 64101, true},
		{"tmpfs", []string{"rw", "uid=64101"}, false, 0, false},
	} {
		mi := mountInfo{fstype: tc.fstype, superOpts: tc.superOpts}
		if got := mi.fuse(); got != tc.fuse {
			t.Errorf("%s fuse() = %v, want %v", tc.fstype, got, tc.fuse)
		}
		if uid, ok := mi.userID(); ok != tc.hasUID || (ok && uid != tc.uid) {
			t.Errorf("%s %q userID() = %d, %v; want %d, %v", tc.fstype, tc.superOpts, uid, ok, tc.uid, tc.hasUID)
		}
	}
}

func TestSessionMounts(t *testing.T) {
	mnt := func(id int, point, fstype string, superOpts ...string) mountInfo {
		return mountInfo{id: id, point: point, fstype: fstype, superOpts: append([]string{"rw"}, superOpts...)}
	}
	table := []mountInfo{
		mnt(1, "/", "ext4"),
		mnt(2, "/homes", "ext4"),                                                  // HomeRoot's file system
		mnt(3, "/homes/s1", "fuse.sshfs", "user_id=64101"),                        // sshfs ~
		mnt(4, "/homes/s1/My Drive", "tmpfs"),                                     // a USB stick, say
		mnt(5, "/homes/s1/My Drive/inner", "tmpfs"),                               // nested
		mnt(6, "/homes/s10", "tmpfs"),                                             // another session's: a prefix, not a parent
		mnt(7, "/tmp/.mount_KioskAQxZ3k", "fuse.Kiosk.AppImage", "user_id=64101"), // the session user's, in /tmp
		mnt(8, "/tmp/.mount_OtherXyZ", "fuse.Other.AppImage", "user_id=1000"),     // another user's
		mnt(9, "/media/kiosk/STICK", "fuseblk", "user_id=64101"),
		mnt(10, "/run/user/64101", "tmpfs", "uid=64101"),         // not FUSE: uid= is no user_id=
		mnt(11, "/sys/fs/fuse/connections", "fusectl"),           // not FUSE either
		mnt(12, "/mnt/nouser", "fuse.sshfs"),                     // no user_id
		mnt(13, "/", "fuse.rootfs", "user_id=64101"),             // never "/"
		mnt(14, "/var/lib/shiftgate/sessions/s1/x", "tmpfs"),     // in the session directory
		mnt(15, "/homes/s1/My Drive", "fuse.sshfs", "user_id=1"), // stacked on 4, mounted later
	}
	uid := uint32(64101)
	other := uint32(64102)
	points := func(ms []mountInfo) []string {
		var out []string
		for _, mi := range ms {
			out = append(out, fmt.Sprintf("%d %s", mi.id, mi.point))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		dirs []string
		uid  *uint32
		want []string
	}{
		{
			name: "home and session directory, deepest first, the top of a stack first",
			dirs: []string{"/homes/s1", "/var/lib/shiftgate/sessions/s1"},
			want: []string{"14 /var/lib/shiftgate/sessions/s1/x", "5 /homes/s1/My Drive/inner",
				"15 /homes/s1/My Drive", "4 /homes/s1/My Drive", "3 /homes/s1"},
		},
		{
			name: "and the session user's FUSE mounts wherever they are",
			dirs: []string{"/homes/s1/"},
			uid:  &uid,
			want: []string{"5 /homes/s1/My Drive/inner", "15 /homes/s1/My Drive", "9 /media/kiosk/STICK",
				"4 /homes/s1/My Drive", "7 /tmp/.mount_KioskAQxZ3k", "3 /homes/s1"},
		},
		{
			name: "FUSE mounts of the session user only",
			uid:  &uid,
			want: []string{"9 /media/kiosk/STICK", "7 /tmp/.mount_KioskAQxZ3k", "3 /homes/s1"},
		},
		{
			name: "a user with no mounts",
			uid:  &other,
		},
		{
			name: "no dirs, no user",
		},
		{
			name: "root, empty and relative dirs are ignored",
			dirs: []string{"/", "", "homes/s1", "/.."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := points(sessionMounts(table, tc.dirs, tc.uid))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("sessionMounts (-want +got):\n%s", diff)
			}
		})
	}
}

// formatMountinfo writes ms as the kernel would, escaping what it escapes.
func formatMountinfo(ms []mountInfo) string {
	esc := func(s, special string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if strings.IndexByte(special, c) >= 0 {
				fmt.Fprintf(&b, `\%03o`, c)
				continue
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	const special = " \t\n\\"
	var b strings.Builder
	for _, mi := range ms {
		fmt.Fprintf(&b, "%d %d %s %s %s %s", mi.id, mi.parent, mi.dev, esc(mi.root, special), esc(mi.point, special), mi.opts)
		for _, o := range mi.optional {
			b.WriteString(" " + o)
		}
		opts := make([]string, len(mi.superOpts))
		for i, o := range mi.superOpts {
			opts[i] = esc(o, special+",")
		}
		fmt.Fprintf(&b, " - %s %s %s\n", esc(mi.fstype, special), esc(mi.source, special), strings.Join(opts, ","))
	}
	return b.String()
}

// FuzzParseMountinfo: the parser never panics, and what it parses reads
// back the same once written as the kernel writes it.
func FuzzParseMountinfo(f *testing.F) {
	for _, tc := range parseMountinfoCases {
		f.Add(tc.in)
	}
	uid := uint32(64101)
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := parseMountinfo([]byte(in))
		if err != nil {
			return
		}
		for _, mi := range ms {
			mi.fuse()
			mi.userID()
		}
		for _, mi := range sessionMounts(ms, []string{"/homes/s1"}, &uid) {
			if mi.point == "/" || !filepath.IsAbs(mi.point) {
				t.Fatalf("sessionMounts chose %q", mi.point)
			}
		}
		again, err := parseMountinfo([]byte(formatMountinfo(ms)))
		if err != nil {
			t.Fatalf("parse what was parsed and written again: %v", err)
		}
		if diff := cmp.Diff(ms, again, allowMountInfo); diff != "" {
			t.Fatalf("parsed, written and parsed again (-first +again):\n%s", diff)
		}
	})
}

// readMounts returns this process's mounts.
func readMounts(t *testing.T) []mountInfo {
	t.Helper()
	b, err := os.ReadFile(mountinfoPath)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := parseMountinfo(b)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// mountsIn returns the mount points of the mounts on dir or inside it (dir
// may be gone; its parent must not).
func mountsIn(t *testing.T, dir string) []string {
	t.Helper()
	dir = filepath.Join(resolved(t, filepath.Dir(dir)), filepath.Base(dir))
	var out []string
	for _, mi := range readMounts(t) {
		if mi.point == dir || strings.HasPrefix(mi.point, dir+"/") {
			out = append(out, mi.point)
		}
	}
	return out
}

// mounted reports whether path is a mount point.
func mounted(t *testing.T, path string) bool {
	t.Helper()
	return slices.Contains(mountsIn(t, path), filepath.Join(resolved(t, filepath.Dir(path)), filepath.Base(path)))
}

func resolved(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unmountAllIn detaches, when the test ends, every mount left in dirs, so
// that no failed test leaves a mount behind (or a temporary directory it
// cannot remove). Call it after the t.TempDir calls that made dirs: it
// runs before their removal.
func unmountAllIn(t *testing.T, dirs ...string) {
	t.Helper()
	resolvedDirs := make([]string, len(dirs))
	for i, d := range dirs {
		resolvedDirs[i] = resolved(t, d)
	}
	t.Cleanup(func() {
		// Again while that helps: a mount under a dead FUSE mount is
		// reached only once that one is gone.
		for progress := true; progress; {
			progress = false
			var errs []error
			for _, mi := range sessionMounts(readMounts(t), resolvedDirs, nil) {
				if err := syscall.Unmount(mi.point, syscall.MNT_DETACH); err != nil {
					errs = append(errs, fmt.Errorf("unmount %s: %w", mi.point, err))
					continue
				}
				progress = true
			}
			if !progress && len(errs) > 0 {
				t.Errorf("test cleanup: %v", errors.Join(errs...))
			}
		}
	})
}

// mkdirOwned makes dir (and its parents), owned by uid.
func mkdirOwned(t *testing.T, dir string, uid uint32) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, int(uid), int(uid)); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs mounts a tmpfs of uid's on dir (made if missing), with a
// file in it: a mount a session could leave (a USB stick, say), made as
// root can.
func mountTmpfs(t *testing.T, dir string, uid uint32) {
	t.Helper()
	mkdirOwned(t, dir, uid)
	if err := syscall.Mount("kiosk-test", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=1m,mode=0700,uid=%d,gid=%d", uid, uid)); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), []byte("worker data"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mountDeadFUSE mounts a FUSE file system of user uid on dir (made if
// missing, owned by uid) as fusermount mounts one for that user (user_id,
// no allow_other), and closes the /dev/fuse descriptor at once, which ends
// the connection: the mount of a FUSE daemon (sshfs, an AppImage) that
// the teardown's kill has ended. Root, not being uid, gets EACCES for
// anything in it, as the test checks.
func mountDeadFUSE(t *testing.T, dir string, uid uint32, subtype string) {
	t.Helper()
	mkdirOwned(t, dir, uid)
	fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/fuse (the FUSE tests need the fuse module): %v", err)
	}
	defer syscall.Close(fd)
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d", fd, uid, uid)
	if err := syscall.Mount(subtype, dir, "fuse."+subtype, syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		t.Fatalf("mount FUSE on %s: %v", dir, err)
	}
}

// TestRunAsTeardownDetachesMounts: with a session user, a teardown
// detaches the mounts the session leaves, then wipes the home and sweeps
// the shared temporary directories: a tmpfs (and one in it) in the home,
// whose mount point would make the wipe fail with EBUSY; the session
// user's dead FUSE mounts in the home, directly in a shared temporary
// directory (an AppImage) and elsewhere, which root cannot look into
// (EACCES), so the wipe and the sweep would fail at every retry. Another
// user's FUSE mount and a mount outside the session stay.
func TestRunAsTeardownDetachesMounts(t *testing.T) {
	needRoot(t)
	freeUID(t, uidMounts)
	cfg, shared, elsewhere := runAsConfig(t, uidMounts), sharedTemp(t), t.TempDir()
	cfg.TempDirs = []string{shared}
	homes := cfg.HomeRoot
	unmountAllIn(t, cfg.StateDir, filepath.Dir(homes), filepath.Dir(shared), elsewhere)
	s := startReady(t, mustNew(t, cfg), "mounts", shApp("w", "echo ready; exec sleep 60"))

	stick := filepath.Join(s.Home(), "My Drive")
	mountTmpfs(t, stick, uidMounts)
	mountTmpfs(t, filepath.Join(stick, "inner"), uidMounts)
	mountDeadFUSE(t, filepath.Join(s.Home(), ".cache", "squash"), uidMounts, "squashfuse")
	appImage := filepath.Join(shared, ".mount_KioskAQxZ3k")
	mountDeadFUSE(t, appImage, uidMounts, "Kiosk.AppImage")
	ours := filepath.Join(elsewhere, "ours")
	mountDeadFUSE(t, ours, uidMounts, "sshfs")
	theirs := filepath.Join(elsewhere, "theirs")
	mountDeadFUSE(t, theirs, theirUID, "sshfs")
	system := filepath.Join(elsewhere, "system")
	mountTmpfs(t, system, 0)
	if _, err := os.Lstat(appImage); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("lstat of the session user's dead FUSE mount as root: %v, want EACCES", err)
	}

	if err := s.Teardown(t.Context()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	assertNoDir(t, s.Home())
	assertNoDir(t, appImage)
	for _, dir := range []string{s.Dir(), homes, shared} {
		if left := mountsIn(t, dir); len(left) != 0 {
			t.Errorf("mounts left in %s: %q", dir, left)
		}
	}
	if mounted(t, ours) {
		t.Errorf("the session user's FUSE mount %s is still mounted", ours)
	}
	for _, p := range []string{theirs, system} {
		if !mounted(t, p) {
			t.Errorf("%s, not the session's, was unmounted", p)
		}
	}
}

// TestRunAsCleanupDetachesMounts: a restarted agent detaches the mounts a
// crashed one's session left, in its home and in a shared temporary
// directory, and those of a home whose session directory is gone.
func TestRunAsCleanupDetachesMounts(t *testing.T) {
	needRoot(t)
	freeUID(t, uidMountsCln)
	cfg, shared := runAsConfig(t, uidMountsCln), sharedTemp(t)
	cfg.TempDirs = []string{shared}
	state, homes := cfg.StateDir, cfg.HomeRoot
	unmountAllIn(t, state, filepath.Dir(homes), filepath.Dir(shared))
	s := startReady(t, mustNew(t, cfg), "crashed", shApp("w", "echo ready; exec sleep 60"))
	mountTmpfs(t, filepath.Join(s.Home(), "stick"), uidMountsCln)
	appImage := filepath.Join(shared, ".mount_KioskAQxZ3k")
	mountDeadFUSE(t, appImage, uidMountsCln, "Kiosk.AppImage")
	orphan := filepath.Join(homes, "orphan") // its session directory is gone
	mountTmpfs(t, filepath.Join(orphan, "stick"), uidMountsCln)
	mountDeadFUSE(t, orphan, uidMountsCln, "sshfs")

	if err := mustNew(t, cfg).Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, p := range []string{s.Home(), s.Dir(), appImage, orphan} {
		assertNoDir(t, p)
	}
	for _, dir := range []string{state, homes, shared} {
		if left := mountsIn(t, dir); len(left) != 0 {
			t.Errorf("mounts left in %s: %q", dir, left)
		}
	}
}

// TestDetachMountRefusesMovedPath: a mount is detached only through its
// own root. When a directory on the way to the chosen mount point has been
// swapped for a symlink to another mount (UMOUNT_NOFOLLOW protects only
// the last component), nothing is unmounted.
func TestDetachMountRefusesMovedPath(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	unmountAllIn(t, base)
	chosen := filepath.Join(base, "home", "sub", "mnt")
	victim := filepath.Join(base, "system", "mnt")
	mountTmpfs(t, chosen, 0)
	mountTmpfs(t, victim, 0)
	var mi mountInfo
	for _, m := range readMounts(t) {
		if m.point == resolved(t, chosen) {
			mi = m
		}
	}
	if mi.id == 0 {
		t.Fatalf("%s not in mountinfo", chosen)
	}
	moved := filepath.Join(base, "home", "moved")
	if err := os.Rename(filepath.Dir(chosen), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(victim), filepath.Dir(chosen)); err != nil {
		t.Fatal(err)
	}
	if err := detachMount(mi); !errors.Is(err, errMountMoved) {
		t.Errorf("detach through a swapped path: %v, want errMountMoved", err)
	}
	if !mounted(t, victim) || !mounted(t, filepath.Join(moved, "mnt")) {
		t.Fatal("a mount was unmounted through a swapped path")
	}
	// Swapped back, the mount is detached.
	if err := os.Remove(filepath.Dir(chosen)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, filepath.Dir(chosen)); err != nil {
		t.Fatal(err)
	}
	if err := detachMount(mi); err != nil {
		t.Fatalf("detach: %v", err)
	}
	if mounted(t, chosen) {
		t.Errorf("%s still mounted", chosen)
	}
	if !mounted(t, victim) {
		t.Errorf("%s unmounted", victim)
	}
}

// TestDetachMountsNeedsRunAs: without a session user the apps' mounts, like
// their files, are the agent's user's: nothing is detached.
func TestDetachMountsNeedsRunAs(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	unmountAllIn(t, dir)
	mountTmpfs(t, filepath.Join(dir, "mnt"), 0)
	m, err := New(Config{StateDir: t.TempDir(), Cgroup: NoCgroup})
	if err != nil {
		t.Fatal(err)
	}
	uid := uint32(0)
	if n, err := m.detachMounts([]string{dir}, &uid); n != 0 || err != nil {
		t.Errorf("detachMounts without RunAs: %d, %v; want 0, nil", n, err)
	}
	if !mounted(t, filepath.Join(dir, "mnt")) {
		t.Error("a mount was detached without RunAs")
	}
}

// TestRunAsCleanupDetachesOrphanHomeMounts: at start, with no session
// directory left (a teardown removed it, then failed on the home), the
// home's mounts are detached before it is removed: a sshfs mounted on the
// home itself, which hides whose the home is (Cleanup leaves alone what is
// not a session home) until it is detached, over a tmpfs in the home.
func TestRunAsCleanupDetachesOrphanHomeMounts(t *testing.T) {
	needRoot(t)
	freeUID(t, uidOrphan)
	cfg := runAsConfig(t, uidOrphan)
	homes := cfg.HomeRoot
	unmountAllIn(t, cfg.StateDir, filepath.Dir(homes))
	m := mustNew(t, cfg)
	orphan := filepath.Join(homes, "orphan")
	mountTmpfs(t, filepath.Join(orphan, "stick"), uidOrphan)
	mountDeadFUSE(t, orphan, uidOrphan, "sshfs")
	if err := m.Cleanup(t.Context()); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	assertNoDir(t, orphan)
	if left := mountsIn(t, homes); len(left) != 0 {
		t.Errorf("mounts left in %s: %q", homes, left)
	}
}
