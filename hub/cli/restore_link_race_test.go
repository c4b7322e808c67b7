package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRestoreThroughLinkedDatabase: an operator keeps the database on
// another volume, DIR/hub.db a symbolic link to it. Restore replaces the
// file the link leads to, on that volume, and keeps the link: a regular
// hub.db in its place would put the database on DIR's volume without a
// word. The replaced database is kept beside the file it was, and a link
// to a file not there yet (a new machine, the volume mounted and the link
// made before the restore) is restored there. A link whose directory is
// missing (a volume not mounted) is refused, changing nothing.
func TestRestoreThroughLinkedDatabase(t *testing.T) {
	live := t.TempDir()
	seedBackupHub(t, live)
	backup, head := takeBackup(t, live)
	for _, tc := range []struct {
		name     string
		relative bool // the link's text is relative to DIR
		dbThere  bool // the volume holds a database already
	}{
		{"absolute link to a database", false, true},
		{"relative link to a database", true, true},
		{"link to a file not there yet", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, vol := filepath.Join(root, "d"), filepath.Join(root, "vol")
			copyFiles(t, live, dir, audit.KeyFile)
			if err := os.MkdirAll(vol, 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.dbThere {
				copyFiles(t, live, vol, hub.DBFile)
			}
			target := filepath.Join(vol, hub.DBFile)
			text := target
			if tc.relative {
				text = filepath.Join("..", "vol", hub.DBFile)
			}
			link := filepath.Join(dir, hub.DBFile)
			if err := os.Symlink(text, link); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup)
			if code != 0 {
				t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
			}
			if got, err := os.Readlink(link); err != nil || got != text {
				t.Errorf("DIR/hub.db after the restore: link to %q (%v); want the link to %q kept", got, err, text)
			}
			if fi, err := os.Lstat(target); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("the database on the volume: %v, %v; want a regular file, 0600", fi, err)
			}
			if !strings.Contains(stdout, "restored: "+target+"\n") {
				t.Errorf("restore's summary does not name the file restored, %s:\n%s", target, stdout)
			}
			asides, _ := filepath.Glob(filepath.Join(vol, hub.DBFile+".replaced-*"))
			if tc.dbThere && len(asides) == 0 {
				t.Errorf("the replaced database is not kept on the volume: %v", asides)
			}
			if inDir, _ := filepath.Glob(filepath.Join(dir, hub.DBFile+".replaced-*")); len(inDir) != 0 {
				t.Errorf("put aside in DIR: %v; want the link left as it is", inDir)
			}
			for _, d := range []string{dir, vol} {
				if left, _ := filepath.Glob(filepath.Join(d, ".shiftgate-restore-*")); len(left) != 0 {
					t.Errorf("temporary files left: %v", left)
				}
			}
			if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head); code != 0 {
				t.Errorf("audit verify of the restored database: exit %d %q %q", code, out, errs)
			}
		})
	}

	t.Run("link into a missing directory", func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, "d")
		copyFiles(t, live, dir, audit.KeyFile)
		target := filepath.Join(root, "unmounted", hub.DBFile)
		if err := os.Symlink(target, filepath.Join(dir, hub.DBFile)); err != nil {
			t.Fatal(err)
		}
		// The link leads nowhere: snapshot cannot read it.
		before := snapshot(t, dir, "hub.lock", hub.DBFile)
		delete(before, "hub.lock")
		code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "a link to "+target) || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("restore through a link into a missing directory: exit %d, stdout %q, stderr %q; want it refused", code, stdout, stderr)
		}
		after := snapshot(t, dir, "hub.lock", hub.DBFile)
		delete(after, "hub.lock")
		if !maps(before, after) {
			t.Errorf("the refused restore changed the directory:\nbefore %v\nafter  %v", before, after)
		}
		if got, err := os.Readlink(filepath.Join(dir, hub.DBFile)); err != nil || got != target {
			t.Errorf("the link after the refusal: %q, %v", got, err)
		}
	})
}

// TestRestoreCommandDuringReplace: a CLI command takes no hub.lock, so
// one may start while restore replaces the database, after its log is
// folded in and before the copy takes its name. Its write must not be
// lost without a word in the file put aside (nor its log left beside
// the restored file): the command either fails or its write is in the
// restored hub. Once synchronously (the command runs to its end before
// restore goes on) and once with the command holding the old file open
// while restore renames it.
func TestRestoreCommandDuringReplace(t *testing.T) {
	for _, wait := range []bool{true, false} {
		name := "command ends first"
		if !wait {
			name = "command holds the old file across the renames"
		}
		t.Run(name, func(t *testing.T) {
			live := t.TempDir()
			seedBackupHub(t, live)
			backup, head := takeBackup(t, live)
			db := filepath.Join(live, hub.DBFile)
			type result struct {
				code int
				errs string
			}
			done := make(chan result, 1)
			create := func() {
				code, _, errs := run(t, "token", "create", "--data", live, "--name", "meanwhile", "--scope", "scim")
				done <- result{code, errs}
			}
			hook := func() {
				if wait {
					create()
					return
				}
				opened := openedFiles(t, db)
				go create()
				// On until the command has the old file open.
				for deadline := time.Now().Add(10 * time.Second); openedFiles(t, db) <= opened; {
					if time.Now().After(deadline) {
						t.Error("the command never opened the database")
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
			stderr := &callOn{after: "log folded into it", fn: hook}
			var stdout strings.Builder
			if code := cli.Run(t.Context(), []string{"restore", "--data", live, "--from", backup}, &stdout, stderr); code != 0 {
				t.Fatalf("restore: exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
			if !stderr.done {
				t.Fatalf("restore never said it folded the old log:\n%s", stderr.String())
			}
			res := <-done
			t.Logf("token create during the restore: exit %d, %s", res.code, strings.TrimSpace(res.errs))
			_, list, _ := run(t, "token", "list", "--data", live)
			if res.code == 0 && !strings.Contains(list, "meanwhile") {
				t.Errorf("token create during the restore succeeded, but its token is not in the restored hub (token list %q): lost without a word", list)
			}
			if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
				t.Errorf("a log of %d bytes is beside the restored database, with no process of its own", fi.Size())
			}
			if code, out, errs := run(t, "audit", "verify", "--data", live, "--anchor", head); code != 0 {
				t.Errorf("audit verify of the restored database: exit %d %q %q", code, out, errs)
			}

			// The replaced database, put back as the restore's summary
			// says, is a hub's database as before: taken out of WAL
			// mode, it is put back in it by the first writer.
			asides, _ := filepath.Glob(db + ".replaced-*")
			var aside string
			for _, p := range asides {
				if !strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") && !strings.HasSuffix(p, "-journal") {
					aside = filepath.Base(p)
				}
			}
			if aside == "" {
				t.Fatalf("the replaced database is not kept: %v", asides)
			}
			back := filepath.Join(t.TempDir(), "back")
			copyFiles(t, live, back, audit.KeyFile)
			for _, p := range asides {
				name := filepath.Base(p)
				copyFiles(t, live, back, name)
				if err := os.Rename(filepath.Join(back, name), filepath.Join(back, hub.DBFile+strings.TrimPrefix(name, aside))); err != nil {
					t.Fatal(err)
				}
			}
			if code, _, errs := run(t, "token", "create", "--data", back, "--name", "after", "--scope", "scim"); code != 0 {
				t.Errorf("token create on the replaced database put back: %s", errs)
			}
			if code, out, errs := run(t, "audit", "verify", "--data", back); code != 0 {
				t.Errorf("audit verify of the replaced database put back: exit %d %q %q", code, out, errs)
			}
		})
	}
}

// openedFiles counts this process's descriptors open on path.
func openedFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if to, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && to == path {
			n++
		}
	}
	return n
}

// TestRestoreAdviceNewMachine: a restore onto a new machine after a
// disaster is DIR with the audit.key put back and nothing else. What
// restore says about the files a backup lacks must hold there: with
// kiosks enrolled in the backup, the hub refuses to start without the
// CA (as it then does), which must come back from the backup of the data
// directory, a new CA (--new-ca) meaning every kiosk enrolls again; with
// none enrolled, the hub makes a new CA. It says not to start the hub
// before they are back.
func TestRestoreAdviceNewMachine(t *testing.T) {
	for _, kiosks := range []int{0, 2} {
		t.Run(map[int]string{0: "no kiosk enrolled", 2: "kiosks enrolled"}[kiosks], func(t *testing.T) {
			live := t.TempDir()
			seedBackupHub(t, live)
			withHub(t, live, func(st store.Store, _ *lifecycle.Engine) {
				now := time.Now()
				for i, name := range []string{"north-1", "north-2", "north-3"} {
					d := store.Device{ID: name, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}
					if i >= kiosks {
						d.State = store.DeviceDisabled
					}
					if _, err := st.CreateDevice(t.Context(), d); err != nil {
						t.Fatal(err)
					}
				}
			})
			backup, _ := takeBackup(t, live)
			dir := filepath.Join(t.TempDir(), "new")
			copyFiles(t, live, dir, audit.KeyFile)

			code, stdout, stderr := run(t, "restore", "--data", dir, "--from", backup)
			if code != 0 {
				t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
			}
			want := []string{
				"not in " + dir + ", and not in a backup: audit-sign.key, ca.pem, ca-key.pem",
				"audit-sign.key: without it the hub makes a new export signing key",
			}
			var wantNot []string
			if kiosks > 0 {
				want = append(want,
					"the restored database has 2 enrolled kiosks",
					"put both back from the backup of the data directory",
					"--new-ca",
					"every kiosk must then enroll again",
					"next: put back the files above, then start the hub")
			} else {
				want = append(want, "the restored database has no enrolled kiosk: the hub makes a new CA as it starts")
				wantNot = append(wantNot, "refuses to start")
			}
			for _, w := range want {
				if !strings.Contains(stderr, w) {
					t.Errorf("restore's advice lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range wantNot {
				if strings.Contains(stderr, w) {
					t.Errorf("restore's advice says %q:\n%s", w, stderr)
				}
			}

			// The advice holds: the hub does as it says.
			s, err := hub.New(t.Context(), hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
			if kiosks > 0 {
				if err == nil || !strings.Contains(err.Error(), "kiosks are enrolled") {
					t.Errorf("a hub on the restored directory without its CA: %v; want it refused", err)
				}
			} else if err != nil {
				t.Errorf("a hub on the restored directory with no kiosk enrolled: %v", err)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}
