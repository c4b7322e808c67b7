// Package session owns what a kiosk session is on the machine: the
// session's apps as real child processes, each in its own process group,
// with a fresh HOME and TMPDIR under the agent's state directory; and the
// teardown that leaves nothing of the session behind (processes,
// files, clipboard).
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
// The wipe walks the directories through an os.Root: a process that
// outlived the kill cannot swap a directory for a symlink and have the
// agent (root, with a session user) chmod or remove a file outside the
// session.
//
// A process that is dead but not yet reaped (a zombie; orphans are
// re-parented to PID 1 or a subreaper, which may never reap them) counts
// as gone: it runs no code and holds no files open.
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
//   - Killing by PID has a reuse window between finding a process and
//     signalling it; pidfds would close it.
//   - Files the apps wrote outside HOME and TMPDIR (for example in /tmp
//     when an app ignores TMPDIR, or in /dev/shm) are not wiped.
//   - The clipboard is cleared through Config.Clipboard only; the package
//     knows no display server.
package session
