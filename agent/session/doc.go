// Package session owns what a kiosk session is on the machine: the
// session's apps as real child processes, each in its own process group
// and terminal session (setsid: the agent's controlling terminal is not
// theirs), with a fresh HOME and TMPDIR under the agent's state
// directory; and the teardown that leaves nothing of the session behind
// (processes, files, clipboard).
//
// # Layout
//
// A session with ID id lives in StateDir/sessions/id (mode 0700):
//
//	home/      HOME of every app of the session (0700, empty at start)
//	tmp/       TMPDIR (0700, empty at start)
//	apps.log   the apps' stdout and stderr
//	pids       one line "PGID STARTTIME" per launched app, so that a
//	           later agent can kill what a crashed one left running
//	boot_id    the ID of the boot the pids were recorded in
//
// A session directory is never reused: Start refuses an ID whose
// directory exists, so a new session cannot see an earlier one's files.
//
// # Teardown
//
// Session.Teardown sends SIGTERM to every process group of the session,
// waits up to Config.Grace for the groups to be gone, sends SIGKILL to
// what is left, makes the session directory writable and removes it, and
// clears the clipboard. It tries every step even when one fails and
// reports all failures together.
//
// Where the agent can make cgroup v2 groups (Config.Cgroup), each session
// also has a cgroup, and its apps start inside it (clone3 with
// CLONE_INTO_CGROUP): the teardown signals every process in it and kills
// the rest with cgroup.kill, which takes the whole group at once, also
// while it forks; the cgroup is removed before the session directory, so
// a leftover cgroup always has a directory through which Cleanup finds
// it (Cleanup also ends this state directory's session cgroups that have
// none).
//
// Every app also gets SHIFTGATE_SESSION_DIR=DIR (and SHIFTGATE_SESSION=ID)
// in its environment. Teardown signals every process that carries the
// marker together with the groups, which catches a process that left the
// session's process groups but kept its environment. With a session user
// (Config.RunAs, dedicated to kiosk sessions) it also signals every
// process of that user, which no unprivileged process can leave.
//
// Processes found by their marker, their user or their cgroup are
// signalled through a pidfd: the PID is opened (os.FindProcess), checked
// to still name the process found (the start time it was found with)
// and, when found by marker or user, to still carry it (none leaves the
// session cgroup by itself), and only then signalled through the pidfd,
// which names that one process for good. A process that ended meanwhile
// is not confused with the next one given its PID.
//
// The wipe walks the directories through an os.Root: a process that
// outlived the kill cannot swap a directory for a symlink and have the
// agent (root, with a session user) chmod or remove a file outside the
// session. A directory's mode is changed through a descriptor opened
// without following a symlink, never by name: within the Root too (for
// the sweep below, /tmp), a symlink swapped in is not followed.
//
// With a session user, once its processes have been ended and when no other
// session is live (its files are then as much that session's), the teardown
// (and End, and Cleanup) also removes every entry directly in the shared
// temporary directories (Config.TempDirs: /tmp, /var/tmp, /dev/shm,
// /run/lock and /dev/mqueue) that the session user owns: the files of an
// app that ignores TMPDIR, a browser's cache directory, POSIX shared memory
// and message queues (removing a queue's file in the mqueue file system
// unlinks the queue). Every file of that user
// is a session's, since the user is dedicated to kiosk sessions. Directories
// go with all they hold; symlinks are removed as links, never followed;
// entries of other owners stay. The sweep goes through an os.Root on each
// directory and checks each entry's owner right before removing it. A failure
// fails the teardown, like a failed wipe. The sweep runs only when the kill
// succeeded: while a process of the session user lives, it could swap its
// entries there during the sweep; the failed teardown is retried. Without a
// session user nothing there is touched: the apps' files are then the agent's
// user's.
//
// Every app starts with core dumps off (RLIMIT_CORE 0, soft and hard, so it
// cannot allow them again): a crashed app's memory (the worker's data,
// tokens) is neither written to its working directory nor kept by
// systemd-coredump, which would give it to the session user, that is to
// the next worker's apps. The limit is the agent's own, lowered right
// before every start and put back once the app is forked, one start at a
// time in the process; an agent without CAP_SYS_RESOURCE (not root) may
// not raise it again, and dumps no core after its first start. Every app
// also starts with no descriptor of the agent's but its stdin, stdout and
// stderr: those that C code in the agent opened without close-on-exec (a
// libfido2 hidraw device, pcsc) are marked close-on-exec right before the
// fork (close_range, or /proc/self/fd before Linux 5.11). One that C code
// opens on another thread between that and the fork is inherited: Go runs
// no code of ours between fork and exec. See appstart.go.
//
// Every app starts with a new, empty session keyring (keyrings(7)) of its
// own, not the agent's: systemd gives a service one, which every app would
// otherwise share. With a session user, once its processes are gone, the
// teardown (and End, and Cleanup) also empties that user's user,
// user-session and persistent keyrings, which outlive its processes: a
// Kerberos ticket cache (KEYRING:persistent, Fedora's default) or any key
// an app stored there would otherwise be the next worker's apps'. A failure
// fails the teardown; a keyring the apps revoked, let expire or took every
// permission on is none, as no process of the user can use it any more;
// in one they left searchable but took the permission to write (and so to
// clear) away from, every key is invalidated instead.
// Without a session user they are left alone: they are then the agent's
// user's.
//
// The apps share the agent's IPC namespace, where System V IPC objects
// (shared memory segments, semaphore sets, message queues: shmget,
// semget, msgget) outlive every process of their user, and any process of
// that user finds them by ID. With a session user, under the same
// conditions (the kill succeeded, no other session is live), the teardown
// (and End, and Cleanup) removes every one that the session user owns or
// created (uid or cuid in /proc/sysvipc), with IPC_RMID. A failure fails
// the teardown; an object already gone is none. A new IPC namespace per
// session (CLONE_NEWIPC) would take them with the session's last process,
// but is not used: an X11 app hands its images to the X server in
// System V shared memory (MIT-SHM), which the server, in the kiosk's
// namespace, would not find; and an app started again in the session
// would have to join the namespace of the first (see ipc.go). Without a
// session user they are left alone.
//
// With a session user, once the kill has succeeded, the teardown (and
// End, and Cleanup) detaches the session's mounts before the wipe and the
// sweep: every mount whose mount point is the session's home or
// directory or lies inside one, and, when no other session is live, every
// FUSE mount of the session user (user_id in /proc/self/mountinfo)
// wherever it is. The session user can mount through the set-user-ID
// fusermount (an AppImage mounts itself in /tmp; sshfs, squashfuse), and
// a FUSE mount without allow_other answers everyone else, root included,
// with EACCES, while a mount point in the home makes its removal fail
// with EBUSY: the wipe and the sweep would fail at every retry. The FUSE
// daemons are processes of the session user, so they and their mounts
// are dead by then. Each mount is detached lazily (MNT_DETACH), deepest
// first, through a descriptor of its mount point (O_PATH, O_NOFOLLOW)
// checked to lie on the mount chosen (its mount ID in
// /proc/self/fdinfo), never by a path that a swapped directory could
// redirect to another mount. A mount that stays fails the teardown,
// named. Without a session user nothing is detached.
//
// A process that is dead but not yet reaped (a zombie; orphans are
// re-parented to PID 1 or a subreaper, which may never reap them) counts
// as gone: it runs no code and holds no files open. A process whose main
// thread has exited while others run on also shows as a zombie in
// /proc/PID/stat (the leader's state): it is alive, and is ended.
//
// # Known limits
//
//   - Without a session cgroup and without a session user (Config.RunAs),
//     a process that leaves the session's process groups (setsid, setpgid,
//     a double fork followed by setsid) AND scrubs its environment escapes
//     the teardown. Without a session user, apps run as the agent's user,
//     so they could also signal the agent and, as root, leave their
//     cgroup. Give a session user in production. Without a cgroup the
//     sweeps repeat SIGKILL until nothing is left, or fail the teardown.
//   - Process groups are signalled by number (kill(-pgid)): no pidfd
//     names a group. Once a group of the session has emptied, a new
//     process may take its number for a group of its own (a service
//     systemd starts, a shell's job). A number is no longer signalled once
//     the group is known to have emptied after its leader was reaped, or
//     once a process whose PID it is is not the leader that was launched
//     (group.ours). A group of another that took the number and whose own
//     leader has exited too, leaving members, cannot be told from the
//     session's group whose leader exited, and gets the signal.
//   - Where the kernel offers no pidfds (before Linux 5.4, or a seccomp
//     filter that forbids them), Go signals by PID: the check before the
//     signal then narrows the PID-reuse window but does not close it.
//   - Without a session user, files the apps wrote outside HOME and
//     TMPDIR (in /tmp when an app ignores TMPDIR, in /dev/shm) are not
//     wiped, nor their System V IPC objects or POSIX message queues. With
//     one, only the entries directly in Config.TempDirs are: not what the
//     user left in a directory it does not own (say /tmp/.X11-unix), nor
//     in other directories it may write. Its POSIX message queues go only
//     where the mqueue file system is mounted on a directory of
//     Config.TempDirs (systemd mounts it on /dev/mqueue, in the default
//     list); without such a mount they stay, as the name is all mq_open
//     needs.
//   - A System V shared memory segment of the session user that a process
//     of another user still has attached (the X server, for an app's
//     MIT-SHM images, until it has seen the app's connection close) is
//     only marked for removal: Linux lets a process of its owner attach it
//     by ID until the last detach. What the session user put in another
//     user's object (a message in a queue others may write) stays.
//   - Only FUSE mounts of the session user are detached wherever they
//     are; other mounts it may make through a set-user-ID helper (a USB
//     stick through udisks under /media) only inside the session's home
//     or directory. A FUSE mount of another user directly in one of
//     Config.TempDirs (without allow_other) cannot be looked at, and fails
//     the sweep.
//   - The clipboard is cleared through Config.Clipboard only; the package
//     knows no display server.
package session
