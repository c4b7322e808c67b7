package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	uidIPC     = 64140
	uidIPCCln  = 64141
	uidIPCWipe = 64142
	// ipcTestEnv selects the role of the test binary in
	// TestSysvIPCDoesNotOutliveSession: "put" is worker A's app.
	ipcTestEnv = "SHIFTGATE_TEST_IPC"
	// ipcTestKey is the System V key of worker A's keyed segment: what
	// the next worker's app would shmget(key, 0, 0) to read it.
	ipcTestKey = 0x5a6b7c00
)

// ipcObjects lists the System V IPC objects of kind table ("shm", "sem",
// "msg") in the test's IPC namespace.
func ipcObjects(t *testing.T, table string) []ipcObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sysvipcDir, table))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseSysvipc(b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// ipcOf returns "table id" for every System V IPC object that user uid
// owns or created.
func ipcOf(t *testing.T, uid uint32) []string {
	t.Helper()
	var list []string
	for _, table := range ipcTables() {
		for _, o := range ipcObjects(t, table) {
			if o.uid == uid || o.cuid == uid {
				list = append(list, fmt.Sprintf("%s %d", table, o.id))
			}
		}
	}
	return list
}

func semget(key, nsems, flag int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, uintptr(key), uintptr(nsems), uintptr(flag))
	return int(id), errnoErr(errno)
}

func msgget(key, flag int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(key), uintptr(flag), 0)
	return int(id), errnoErr(errno)
}

// msgsnd sends text on message queue id as a message of type 1.
func msgsnd(id int, text string) error {
	buf := make([]byte, int(unsafe.Sizeof(0))+len(text))
	*(*int)(unsafe.Pointer(&buf[0])) = 1 // mtype, a C long
	copy(buf[unsafe.Sizeof(0):], text)
	_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(text)), unix.IPC_NOWAIT, 0, 0)
	return errnoErr(errno)
}

// mqOpen creates POSIX message queue name (no leading slash: that is
// libc's) and returns its descriptor.
func mqOpen(name string) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600, 0, 0, 0)
	return int(fd), errnoErr(errno)
}

func mqUnlink(name string) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
	return errnoErr(errno)
}

// shmWithData makes a System V shared memory segment with key and puts
// text in it.
func shmWithData(key int, text string) (int, error) {
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		return -1, fmt.Errorf("shmget: %w", err)
	}
	b, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return id, fmt.Errorf("shmat: %w", err)
	}
	copy(b, text)
	return id, unix.SysvShmDetach(b)
}

// giveShm makes user uid the owner of segment id; its creator stays.
func giveShm(id int, uid uint32) error {
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); err != nil {
		return err
	}
	d.Perm.Uid = uid
	_, err := unix.SysvShmCtl(id, unix.IPC_SET, &d)
	return err
}

// mountMqueue mounts the mqueue file system, the POSIX message queues of
// the test's IPC namespace, on a directory of its own, as systemd does on
// /dev/mqueue, and returns it.
func mountMqueue(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mqueue")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("mqueue", dir, "mqueue", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mount mqueue on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("test cleanup: unmount %s: %v", dir, err)
		}
	})
	return dir
}

// rootsIPC makes one System V IPC object of each kind as root, and a
// POSIX message queue, which every sweep must leave; and a segment root
// created but gave to uid, which the sweep of uid must remove. It returns
// the objects that must stay ("table id") and the queue's name.
func rootsIPC(t *testing.T, uid uint32) (keep []string, queue string, given int) {
	t.Helper()
	var errs []error
	shm, err := shmWithData(unix.IPC_PRIVATE, "root's")
	errs = append(errs, err)
	sem, err := semget(unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
	errs = append(errs, err)
	msg, err := msgget(unix.IPC_PRIVATE, unix.IPC_CREAT|0o600)
	errs = append(errs, err)
	given, err = shmWithData(unix.IPC_PRIVATE, "given away")
	errs = append(errs, err, giveShm(given, uid))
	queue = fmt.Sprintf("shiftgate-test-root-%d", uid)
	fd, err := mqOpen(queue)
	errs = append(errs, err)
	t.Cleanup(func() {
		_ = rmIPC("shm", shm)
		_ = rmIPC("sem", sem)
		_ = rmIPC("msg", msg)
		_ = rmIPC("shm", given)
		_ = unix.Close(fd)
		_ = mqUnlink(queue)
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("root's IPC objects: %v", err)
	}
	return []string{fmt.Sprintf("shm %d", shm), fmt.Sprintf("sem %d", sem), fmt.Sprintf("msg %d", msg)}, queue, given
}

// TestSysvIPCDoesNotOutliveSession: what a worker's app leaves in System V
// IPC objects (a shared memory segment with data in it, under a key the
// next worker's app could shmget; a semaphore set; a message queue with a
// message; a segment it created and gave to another user) or in a POSIX
// message queue is gone once the session has ended, as the session user's
// processes are: otherwise the next worker's apps, the same user in the
// same IPC namespace, could attach and read it. Objects of other users
// stay, and a segment root gave to the session user goes. Once after a
// teardown, twice after a crashed agent's successor's Cleanup.
func TestSysvIPCDoesNotOutliveSession(t *testing.T) {
	if os.Getenv(ipcTestEnv) == "put" {
		ipcPut()
		return
	}
	needRoot(t)
	bin := filepath.Join(reachableDir(t), "session.test")
	copyExecutable(t, os.Args[0], bin)
	app := App{ID: "ipc", Command: []string{bin, "-test.run=^TestSysvIPCDoesNotOutliveSession$", "-test.count=1"},
		Env: []string{ipcTestEnv + "=put"}}
	for _, tc := range []struct {
		name string
		uid  uint32
		end  func(t *testing.T, cfg Config, s *Session)
	}{
		{"teardown", uidIPC, func(t *testing.T, _ Config, s *Session) {
			if err := s.Teardown(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
		{"cleanup after a crash", uidIPCCln, func(t *testing.T, cfg Config, _ *Session) {
			if err := mustNew(t, cfg).Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
		// A crash after the session directory was wiped, before the
		// sweep: Cleanup finds the session user's processes and objects
		// all the same.
		{"cleanup after a crash in the wipe", uidIPCWipe, func(t *testing.T, cfg Config, s *Session) {
			if err := os.RemoveAll(s.Dir()); err != nil {
				t.Fatal(err)
			}
			if err := mustNew(t, cfg).Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			freeUID(t, tc.uid)
			if left := ipcOf(t, tc.uid); len(left) != 0 {
				t.Fatalf("IPC objects %v of uid %d already exist: pick another uid", left, tc.uid)
			}
			// What a failed run leaves would fail the next one.
			t.Cleanup(func() { removeIPCOf(t, tc.uid) })
			mq := mountMqueue(t)
			keep, rootQueue, given := rootsIPC(t, tc.uid)
			cfg := runAsConfig(t, tc.uid)
			cfg.TempDirs = []string{mq}
			s := startReady(t, mustNew(t, cfg), "worker-a", app)
			log := waitFor(t, filepath.Join(s.Dir(), "apps.log"), "ready")
			if strings.Contains(log, "failed") {
				t.Fatalf("worker A's app could not make its IPC objects; the test proves nothing:\n%s", log)
			}
			// Its four, and the one root gave it.
			if objs := ipcOf(t, tc.uid); len(objs) != 5 {
				t.Fatalf("IPC objects of the session user before the end: %v, want 5:\n%s", objs, log)
			}
			queue := filepath.Join(mq, fmt.Sprintf("shiftgate-test-%d", tc.uid))
			assertKept(t, queue)

			tc.end(t, cfg, s)

			if left := ipcOf(t, tc.uid); len(left) != 0 {
				t.Errorf("System V IPC objects of the session user left after the session: %v", left)
			}
			if _, err := unix.SysvShmGet(ipcTestKey, 0, 0); !errors.Is(err, unix.ENOENT) {
				t.Errorf("shmget of worker A's key after the session: %v, want ENOENT", err)
			}
			assertNoDir(t, queue)
			var all []string
			for _, table := range ipcTables() {
				for _, o := range ipcObjects(t, table) {
					all = append(all, fmt.Sprintf("%s %d", table, o.id))
				}
			}
			for _, k := range keep {
				if !slices.Contains(all, k) {
					t.Errorf("root's %s removed, want it kept", k)
				}
			}
			if slices.Contains(all, fmt.Sprintf("shm %d", given)) {
				t.Errorf("the segment root gave to the session user (shm %d) kept, want it removed", given)
			}
			assertKept(t, filepath.Join(mq, rootQueue))
		})
	}
}

// removeIPCOf ends the processes of uid that a failed run left (the
// test's uid is the test's alone: freeUID) and removes what ipcPut, run
// as uid, leaves.
func removeIPCOf(t *testing.T, uid uint32) {
	for _, p := range userPids(uid) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	for _, table := range ipcTables() {
		for _, o := range ipcObjects(t, table) {
			if o.uid == uid || o.cuid == uid {
				_ = rmIPC(table, o.id)
			}
		}
	}
	_ = mqUnlink(fmt.Sprintf("shiftgate-test-%d", uid))
}

// ipcPut is worker A's app: it leaves one object of each kind, with data
// where the kind holds some, says so, and waits to be ended.
func ipcPut() {
	runtime.LockOSThread()
	say := func(what string, err error) {
		if err != nil {
			fmt.Printf("%s failed: %v\n", what, err)
		}
	}
	_, err := shmWithData(ipcTestKey, "worker A's secret")
	say("keyed shm", err)
	given, err := shmWithData(unix.IPC_PRIVATE, "worker A's other secret")
	if err == nil {
		err = giveShm(given, theirUID)
	}
	say("shm given away", err)
	_, err = semget(unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
	say("sem", err)
	msg, err := msgget(unix.IPC_PRIVATE, unix.IPC_CREAT|0o600)
	if err == nil {
		err = msgsnd(msg, "worker A's message")
	}
	say("msg", err)
	// The descriptor dies with the process; the queue does not.
	_, err = mqOpen("shiftgate-test-" + strconv.Itoa(os.Getuid()))
	say("mq", err)
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

// TestParseSysvipc: the tables of /proc/sysvipc as the kernel writes them
// (the owner and creator found by their columns' names, which differ in
// place between the tables), and what a sweep must not take for nothing.
func TestParseSysvipc(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      string
		want    []ipcObject
		wantErr bool
	}{
		{"shm", `       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
         0         32  1600                  4096  1234  1234      0 64140 64140     0     0 1700000000 1700000000 1700000000                     0                     0
1516928000          5   600                 65536  1300     0      1     0     0 64140 64140          0          0 1700000001                  4096                     0
`, []ipcObject{{id: 32, uid: 64140, cuid: 0}, {id: 5, uid: 0, cuid: 64140}}, false},
		{"sem", `       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
         0          7   600          1  1000  1000  1000  1000          0 1700000000
`, []ipcObject{{id: 7, uid: 1000, cuid: 1000}}, false},
		{"msg", `       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime
         0          3   600           18          1  1234     0 64140 64140 64140 64140 1700000000          0 1700000000
`, []ipcObject{{id: 3, uid: 64140, cuid: 64140}}, false},
		{"empty table", "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n", nil, false},
		{"no header", "", nil, true},
		{"header without cuid", "key shmid perms uid\n0 1 600 0\n", nil, true},
		{"short line", "key semid perms nsems uid gid cuid cgid\n0 7 600 1 1000\n", nil, true},
		{"bad uid", "key semid perms nsems uid gid cuid cgid\n0 7 600 1 x 0 0 0\n", nil, true},
		{"negative id", "key semid perms nsems uid gid cuid cgid\n0 -7 600 1 0 0 0 0\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSysvipc([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseSysvipc: %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("parseSysvipc = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseSysvipc: no table makes the parser panic, and what it returns
// is what the table's lines say.
func FuzzParseSysvipc(f *testing.F) {
	f.Add([]byte("key shmid perms size cpid lpid nattch uid gid cuid cgid\n0 32 1600 4096 1 1 0 64140 64140 0 0\n"))
	f.Add([]byte("key semid perms nsems uid gid cuid cgid\n0 7 600 1 1000 1000 1000 1000\n\n"))
	f.Add([]byte("uid cuid\n1 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := parseSysvipc(b)
		if err == nil && len(objs) > strings.Count(string(b), "\n") {
			t.Errorf("%d objects from %d lines", len(objs), strings.Count(string(b), "\n"))
		}
		for _, o := range objs {
			if o.id < 0 {
				t.Errorf("negative id %d", o.id)
			}
		}
	})
}

// TestRmIPCGone: removing an object that is gone already answers EINVAL
// or EIDRM, which the sweep takes for nothing to do.
func TestRmIPCGone(t *testing.T) {
	needRoot(t)
	shm, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatal(err)
	}
	sem, err := semget(unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := msgget(unix.IPC_PRIVATE, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatal(err)
	}
	for table, id := range map[string]int{"shm": shm, "sem": sem, "msg": msg} {
		if err := rmIPC(table, id); err != nil {
			t.Fatalf("remove %s %d: %v", table, id, err)
		}
		if err := rmIPC(table, id); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
			t.Errorf("remove %s %d again: %v, want EINVAL or EIDRM", table, id, err)
		}
	}
}
