package session

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// System V IPC objects (shared memory segments, semaphore sets and message
// queues: shmget, semget, msgget) belong to the IPC namespace, not to a
// process: they outlive every process of their creator, and any process of
// the same user finds them (ipcs lists them; an IPC_PRIVATE key hides
// nothing, the ID is all shmat or msgrcv needs). The apps share the
// agent's IPC namespace, so what a worker's app put in one is the next
// worker's apps' (the same session user) to read. With a session user,
// whose processes are all the sessions' and all ended by then, every
// object it owns or created is what a session left: sweepIPC removes it.
//
// POSIX message queues (mq_open) are files of the mqueue file system,
// mounted at /dev/mqueue, which the sweep of Config.TempDirs removes like
// /tmp's (unlinking the file unlinks the queue); POSIX shared memory and
// semaphores are files in /dev/shm already.
//
// A new IPC namespace per session (CLONE_NEWIPC, which the agent, as root,
// may make) would take every such object with the session's last process,
// without a sweep. It is not used: an X11 app shares its images with the X
// server through System V shared memory (MIT-SHM) by segment ID, which the
// server, in the kiosk's namespace, would not find in the app's (toolkits
// fall back to the slower socket, or fail to draw); and an app started
// again in the session (Session.Open) would have to join the namespace of
// the first, which the agent would have to hold, per session, for as long.

// sysvipcDir holds one table per kind of System V IPC object of the
// reader's IPC namespace.
const sysvipcDir = "/proc/sysvipc"

// ipcTables are the System V IPC kinds, named as their tables in
// sysvipcDir and as rmIPC knows them.
func ipcTables() []string { return []string{"shm", "sem", "msg"} }

// rmIPC removes the System V IPC object of kind table with ID id.
func rmIPC(table string, id int) error {
	switch table {
	case "shm":
		// A segment still attached (the X server attaches an app's
		// MIT-SHM segments until the app disconnects) is destroyed at
		// its last detach; its key is gone at once.
		_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return err
	case "sem":
		_, _, errno := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID, 0, 0, 0)
		return errnoErr(errno)
	case "msg":
		_, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
		return errnoErr(errno)
	}
	return fmt.Errorf("unknown System V IPC kind %q", table)
}

// rmIPCAs is rmIPC as user uid, the object's owner or creator. IPC_RMID
// takes the owner, the creator or CAP_SYS_ADMIN, which an agent running as
// root may lack (a container's default capabilities, a systemd unit's
// CapabilityBoundingSet) while it has CAP_SETUID, which running the apps
// as uid needs anyway; without this every teardown after an app left an
// object would fail, and be retried, for good. Only the effective user ID
// changes, on a thread of its own that ends with it (onNewThread).
func rmIPCAs(uid uint32, table string, id int) error {
	return onNewThread(func() error {
		if _, _, errno := syscall.RawSyscall(sysSetresuid, ^uintptr(0), uintptr(uid), ^uintptr(0)); errno != 0 {
			return fmt.Errorf("as uid %d: setresuid: %w", uid, errno)
		}
		return rmIPC(table, id)
	})
}

func errnoErr(errno unix.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}

// ipcObject is a System V IPC object as /proc/sysvipc lists it.
type ipcObject struct {
	id        int
	uid, cuid uint32
}

// parseSysvipc parses a table of /proc/sysvipc: a header line naming the
// columns (the ID is the second: shmid, semid or msqid), then one line per
// object. The owner (uid) and creator (cuid) are found by their column's
// name: the tables differ in their other columns, and kernels have added
// some. A line that cannot be read is an error: the object it lists might
// be the session user's.
func parseSysvipc(b []byte) ([]ipcObject, error) {
	header, rest, _ := bytes.Cut(b, []byte("\n"))
	cols := bytes.Fields(header)
	iUID, iCUID := -1, -1
	for i, c := range cols {
		switch string(c) {
		case "uid":
			iUID = i
		case "cuid":
			iCUID = i
		}
	}
	if len(cols) < 2 || iUID < 0 || iCUID < 0 {
		return nil, fmt.Errorf("no id, uid and cuid columns in header %q", header)
	}
	var objs []ipcObject
	for line := range bytes.Lines(rest) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < len(cols) {
			return objs, fmt.Errorf("line %q: %d columns, want %d", bytes.TrimSpace(line), len(f), len(cols))
		}
		id, err1 := strconv.ParseInt(string(f[1]), 10, 32)
		uid, err2 := strconv.ParseUint(string(f[iUID]), 10, 32)
		cuid, err3 := strconv.ParseUint(string(f[iCUID]), 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil || id < 0 {
			return objs, fmt.Errorf("line %q: %v", bytes.TrimSpace(line), err)
		}
		objs = append(objs, ipcObject{id: int(id), uid: uint32(uid), cuid: uint32(cuid)})
	}
	return objs, nil
}

// sweepIPC removes every System V IPC object of the agent's IPC namespace
// (which the apps share) that user uid (the session user, see
// Manager.sweepUID) owns or created, and returns how many it removed.
// Callers sweep only once every process of uid is gone: one still running
// could make another object meanwhile. An object removed meanwhile (EINVAL,
// EIDRM) is none; one the agent may not remove (EPERM: no CAP_SYS_ADMIN)
// it removes as uid (rmIPCAs). It goes on after a failure and returns all
// failures joined. It logs a count per kind: keys and sizes may say what
// an app did.
//
// The owner is not checked again right before the removal, as the kernel
// offers no way to: none is needed, since no process of uid is left to
// change its objects, and an ID names one object until it is removed and
// is given to another only after tens of thousands of objects more have
// been made in its slot.
func (m *Manager) sweepIPC(uid uint32) (int, error) {
	var errs []error
	total := 0
	for _, table := range ipcTables() {
		path := sysvipcDir + "/" + table
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a kernel without System V IPC
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep System V IPC: %w", err))
			continue
		}
		objs, err := parseSysvipc(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep System V IPC: read %s: %w", path, err))
		}
		n := 0
		for _, o := range objs {
			if o.uid != uid && o.cuid != uid {
				continue
			}
			err := rmIPC(table, o.id)
			if errors.Is(err, unix.EPERM) {
				err = rmIPCAs(uid, table, o.id)
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIDRM) {
				continue
			} else if err != nil {
				errs = append(errs, fmt.Errorf("sweep System V IPC: remove %s %d of uid %d: %w", table, o.id, uid, err))
				continue
			}
			n++
		}
		if n > 0 {
			m.log.Info("removed System V IPC objects of the session user", "kind", table, "objects", n, "uid", uid)
		}
		total += n
	}
	return total, errors.Join(errs...)
}
