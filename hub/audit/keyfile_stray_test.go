package audit_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// strayTemp is the name writeAside gives the audit key written beside
// audit.key (os.CreateTemp's ".audit.key.*"), as a crash leaves it.
const strayTemp = ".audit.key.2024567891"

// TestStrayKeyTempRemoved: a hub or CLI command that crashed while it
// made audit.key left the key it wrote beside it (".audit.key.NNN",
// 0600) in the data directory, where it stayed for good: a copy of the
// secret that every backup of the directory took along. The next start
// removes it, and says so by name; audit.key is kept as it was, also
// when the stray is a hard link to it (a crash after the key was linked
// into place). What only looks like one is left alone: another name, a
// directory, and a symlink, which is neither followed nor its target
// touched.
func TestStrayKeyTempRemoved(t *testing.T) {
	for _, tt := range []struct {
		name    string
		withKey bool // a key in place before the start
		stray   func(t *testing.T, dir, key string)
	}{
		{"beside the key", true, func(t *testing.T, dir, _ string) {
			writeKeyFile(t, dir, strayTemp, bytes.Repeat([]byte{7}, 32), 0o600)
		}},
		{"linked to the key", true, func(t *testing.T, dir, key string) {
			if err := os.Link(key, filepath.Join(dir, strayTemp)); err != nil {
				t.Fatal(err)
			}
		}},
		{"no key yet", false, func(t *testing.T, dir, _ string) {
			writeKeyFile(t, dir, strayTemp, bytes.Repeat([]byte{7}, 32), 0o600)
		}},
		{"damaged key", false, func(t *testing.T, dir, _ string) {
			writeKeyFile(t, dir, audit.KeyFile, nil, 0o600)
			writeKeyFile(t, dir, strayTemp, bytes.Repeat([]byte{7}, 32), 0o600)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			path := filepath.Join(dir, audit.KeyFile)
			var want []byte
			if tt.withKey {
				var err error
				if want, err = audit.LoadOrCreateKey(ctx, dir, noRecords{}); err != nil {
					t.Fatal(err)
				}
			}
			tt.stray(t, dir, path)
			// Not the names this code makes: kept.
			othersKept := notOurs(t, dir, ".audit.key.", ".audit.key.12x", ".audit.key.12.bak", "audit.key.123", ".audit-sign.key.123")
			var logged bytes.Buffer
			key, err := audit.LoadOrCreateKeyLog(ctx, dir, noRecords{}, slog.New(slog.NewTextHandler(&logged, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(dir, strayTemp)); !os.IsNotExist(err) {
				t.Errorf("stray %s after the start: %v, want it removed", strayTemp, err)
			}
			if want != nil && !bytes.Equal(key, want) {
				t.Errorf("key %x, want the one in place %x", key, want)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(onDisk, key) || len(key) != 32 {
				t.Fatalf("key file %x (%v), key %x: want the key read", onDisk, err, key)
			}
			othersKept()
			if !strings.Contains(logged.String(), strayTemp) {
				t.Errorf("log %q: want it to name %s", logged.String(), strayTemp)
			}
			if strings.Contains(logged.String(), string(bytes.Repeat([]byte{7}, 32))) {
				t.Errorf("log %q holds the stray's contents", logged.String())
			}
		})
	}
}

// TestStrayKeyTempNotFollowed: a symlink or a directory by the name of a
// stray was not made by this code; it is left as it is, and what a link
// points at is neither read nor removed.
func TestStrayKeyTempNotFollowed(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	lookalikesKept := lookalikes(t, dir, ".audit.key.111", ".audit.key.222")
	if _, err := audit.LoadOrCreateKey(ctx, dir, noRecords{}); err != nil {
		t.Fatal(err)
	}
	lookalikesKept()
}

// TestStrayKeyTempOfARunningProcessKept: the key another process is
// writing beside audit.key at this moment is not a stray. That process
// holds the data directory's flock while it writes and places the key,
// so a start beside it waits for the lock instead of removing the file
// half-written (and making a second key), and then reads the key put in
// place.
func TestStrayKeyTempOfARunningProcessKept(t *testing.T) {
	theirs := bytes.Repeat([]byte{9}, 32)
	key, err := keyPlacedWhileWaiting(t, "start beside a key being written", audit.KeyFile, strayTemp, theirs,
		func(ctx context.Context, dir string) (string, error) {
			key, err := audit.LoadOrCreateKey(ctx, dir, noRecords{})
			return hex.EncodeToString(key), err
		})
	if want := hex.EncodeToString(theirs); err != nil || key != want {
		t.Fatalf("start beside a key being written: %s, %v: want the key the other put in place, %s", key, err, want)
	}
}

// waitForLockWaiter waits until some process waits for an flock on one
// of paths (/proc/locks lists it with "->"), or until done has a result,
// which it returns with ok false.
func waitForLockWaiter[T any](t *testing.T, done chan T, paths ...string) (r T, ok bool) {
	t.Helper()
	var inos []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		inos = append(inos, ":"+strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)+" ")
	}
	for {
		select {
		case r := <-done:
			return r, false
		default:
		}
		b, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, "->") && slices.ContainsFunc(inos, func(ino string) bool { return strings.Contains(line, ino) }) {
				return r, true
			}
		}
		time.Sleep(time.Millisecond) // a poll, not a deadline
	}
}

// TestDamagedKeyDeletedWhileWaiting: a start that found audit.key damaged
// (beside an empty trail) and waits for the lock to replace it, while
// the file is deleted (an operator moving it away): it makes the key
// as a missing one. It used to fail the start with "no such file",
// having locked the deleted file, and read the path again instead of
// making a key.
func TestDamagedKeyDeletedWhileWaiting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := writeKeyFile(t, dir, audit.KeyFile, nil, 0o600)
	// Another process holds the locks a replacement takes: the data
	// directory's, and (as an older build took it) the damaged file's.
	var held []*os.File
	for _, p := range []string{dir, path} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	result := loadBlocked(t, "start beside a damaged key being replaced", func() (string, error) {
		key, err := audit.LoadOrCreateKey(ctx, dir, noRecords{})
		return hex.EncodeToString(key), err
	}, dir, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for _, f := range held {
		f.Close()
	}
	key, err := result()
	if err != nil {
		t.Fatalf("damaged key deleted while the start waited to replace it: %v, want a new key", err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil || hex.EncodeToString(onDisk) != key || len(key) != hex.EncodedLen(32) {
		t.Fatalf("key file %x (%v), key %s: want the key made", onDisk, err, key)
	}
}

// holdDirLock takes the data directory's flock, as a process making a
// key holds it; closing the returned file (or the test's end) releases
// it.
func holdDirLock(t *testing.T, dir string) *os.File {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return d
}

// loadBlocked runs load in the background, where it is to wait for the
// flock another process holds on one of paths, and returns once it
// waits: a load that returns first fails the test at once, as what (the
// start under test) did not wait for the lock. result waits for what load
// returned. load names what it loaded in a form fit to print (a key in
// hex, a signer by its key ID), so that no failure prints a private key.
func loadBlocked(t *testing.T, what string, load func() (string, error), paths ...string) (result func() (string, error)) {
	t.Helper()
	type loaded struct {
		name string
		err  error
	}
	done := make(chan loaded, 1)
	go func() {
		name, err := load()
		done <- loaded{name, err}
	}()
	if r, ok := waitForLockWaiter(t, done, paths...); !ok {
		t.Fatalf("%s returned %s, %v without waiting for the lock", what, r.name, r.err)
	}
	return func() (string, error) {
		r := <-done
		return r.name, r.err
	}
}

// keyPlacedWhileWaiting plays another process making the key file name:
// holding the data directory's lock, it has written its key, theirs,
// beside name as stray when load (what) starts on a new data directory.
// Once load waits for that lock, having left the stray alone, the other
// process links it into place as name and ends; keyPlacedWhileWaiting
// returns what load returned (see loadBlocked).
func keyPlacedWhileWaiting(t *testing.T, what, name, stray string, theirs []byte, load func(ctx context.Context, dir string) (string, error)) (string, error) {
	t.Helper()
	ctx, dir := t.Context(), t.TempDir()
	d := holdDirLock(t, dir)
	tmp := writeKeyFile(t, dir, stray, theirs, 0o600)
	result := loadBlocked(t, what, func() (string, error) { return load(ctx, dir) }, dir)
	if b, err := os.ReadFile(tmp); err != nil || !bytes.Equal(b, theirs) {
		t.Fatalf("the other process's %s being written: %q, %v: want it untouched", name, b, err)
	}
	// The other process puts its key in place and ends.
	if err := os.Link(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	d.Close()
	return result()
}

// notOurs writes, in dir, files by names that a start is to keep: names
// that look like, but are not, those of a file a crash left. kept fails
// the test unless each is still there as it was.
func notOurs(t *testing.T, dir string, names ...string) (kept func()) {
	t.Helper()
	for _, name := range names {
		writeKeyFile(t, dir, name, []byte("not ours"), 0o600)
	}
	return func() {
		t.Helper()
		for _, name := range names {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != "not ours" {
				t.Errorf("%s: %q, %v: want it left as it was", name, b, err)
			}
		}
	}
}

// lookalikes makes, in dir, what has the name of a file a crash left but
// was not made by the code that removes those: a symlink by the name
// link, to a file outside dir, and a directory by the name sub. kept
// fails the test unless both are still there as they were and what the
// link points at was neither removed nor changed.
func lookalikes(t *testing.T, dir, link, sub string) (kept func()) {
	t.Helper()
	elsewhere := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(elsewhere, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if b, err := os.ReadFile(elsewhere); err != nil || string(b) != "someone else's" {
			t.Errorf("symlink target: %q, %v: want it as it was", b, err)
		}
		if target, err := os.Readlink(filepath.Join(dir, link)); err != nil || target != elsewhere {
			t.Errorf("symlink %s: %q, %v: want it left as it was", link, target, err)
		}
		if fi, err := os.Lstat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("directory %s: %v, %v: want it left as it was", sub, fi, err)
		}
	}
}
