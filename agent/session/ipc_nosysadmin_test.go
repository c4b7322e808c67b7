package session

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	uidIPCNoAdmin = 64143
	// ipcNoAdminEnv makes the test binary, run without CAP_SYS_ADMIN,
	// the agent that sweeps the objects of the user it names.
	ipcNoAdminEnv = "SHIFTGATE_TEST_IPC_NOADMIN"
	capSysAdmin   = 21
)

// TestSweepIPCWithoutSysAdmin: IPC_RMID takes the object's owner or
// creator, or CAP_SYS_ADMIN. An agent that runs as root without it (a
// container's default capabilities, a unit's CapabilityBoundingSet) but
// with CAP_SETUID, which running the apps as the session user needs
// anyway, still removes the session user's objects: otherwise every
// teardown after an app left one would fail, and be retried, for good.
func TestSweepIPCWithoutSysAdmin(t *testing.T) {
	if v := os.Getenv(ipcNoAdminEnv); v != "" {
		sweepWithoutSysAdmin(t, v)
		return
	}
	needRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("this test drops CAP_SYS_ADMIN with util-linux's setpriv: %v", err)
	}
	uid := uint32(uidIPCNoAdmin)
	if left := ipcOf(t, uid); len(left) != 0 {
		t.Fatalf("IPC objects %v of uid %d already exist: pick another uid", left, uid)
	}
	t.Cleanup(func() { removeIPCOf(t, uid) })
	// Made as the session user's apps make them: owner and creator uid.
	err = onNewThread(func() error {
		if _, _, errno := syscall.RawSyscall(sysSetresuid, ^uintptr(0), uintptr(uid), ^uintptr(0)); errno != 0 {
			return fmt.Errorf("setresuid: %w", errno)
		}
		_, err1 := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
		_, err2 := semget(unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
		_, err3 := msgget(unix.IPC_PRIVATE, unix.IPC_CREAT|0o600)
		return errors.Join(err1, err2, err3)
	})
	if err != nil {
		t.Fatalf("the session user's IPC objects: %v", err)
	}
	if objs := ipcOf(t, uid); len(objs) != 3 {
		t.Fatalf("IPC objects of uid %d: %v, want 3", uid, objs)
	}
	cmd := exec.Command(setpriv, "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin",
		os.Args[0], "-test.run=^TestSweepIPCWithoutSysAdmin$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ipcNoAdminEnv+"="+strconv.FormatUint(uint64(uid), 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the sweep without CAP_SYS_ADMIN: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("swept without CAP_SYS_ADMIN")) {
		t.Errorf("the sweep without CAP_SYS_ADMIN did not run:\n%s", out)
	}
	if left := ipcOf(t, uid); len(left) != 0 {
		t.Errorf("System V IPC objects of the session user left by a sweep without CAP_SYS_ADMIN: %v", left)
	}
}

// sweepWithoutSysAdmin is the agent of TestSweepIPCWithoutSysAdmin.
func sweepWithoutSysAdmin(t *testing.T, uidStr string) {
	uid, err := strconv.ParseUint(uidStr, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil || caps&(1<<capSysAdmin) != 0 {
				t.Fatalf("CAP_SYS_ADMIN not dropped (CapEff %s, %v): the test proves nothing", strings.TrimSpace(v), err)
			}
		}
	}
	m := mustNew(t, Config{StateDir: t.TempDir(), Cgroup: NoCgroup, TempDirs: []string{}})
	n, err := m.sweepIPC(uint32(uid))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept without CAP_SYS_ADMIN: %d objects", n)
}
