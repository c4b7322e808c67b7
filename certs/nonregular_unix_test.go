//go:build unix

package certs_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shiftgate/shiftgate/certs"
)

// Certificate and key files that are no regular file are refused with an
// error that names them, without waiting: a named pipe under ca.pem or a
// key's name made the hub or the agent hang at start, opening it (which
// waits for a writer) and reading it, and a device was read until the size
// limit and then called damaged. If the files are opened as before, these
// tests do not return.
func TestReadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "ca.pem"))
	device := filepath.Join(dir, "bundle.pem")
	if err := os.Symlink("/dev/zero", device); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, want string
	}{
		{"named pipe", fifo, "a named pipe"},
		{"device", device, "a device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := certs.ReadPEMFile(tt.path)
			wantErr(t, err, "not a regular file", tt.want, tt.path)
		})
	}
}

func TestLoadKeyPairRefusesNamedPipe(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
	}{
		{"certificate", certs.ServerCertFile},
		{"key", certs.ServerKeyFile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustHub(t, dir, nil, t0)
			path := filepath.Join(dir, tt.file)
			replaceWithFIFO(t, path)
			_, err := certs.LoadKeyPair(filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile))
			wantErr(t, err, "not a regular file", "a named pipe", path)
		})
	}
}

// A hub CA file that is a named pipe is refused as unreadable, not
// damaged: nothing is known of the CA, and the data dir is left as it is.
func TestLoadOrCreateHubRefusesNamedPipeCA(t *testing.T) {
	for _, file := range []string{certs.CACertFile, certs.CAKeyFile} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			mustHub(t, dir, nil, t0)
			path := filepath.Join(dir, file)
			replaceWithFIFO(t, path)
			_, err := certs.LoadOrCreateHub(dir, nil, t0)
			wantErr(t, err, "not a regular file", "a named pipe", path, "start the hub again")
			if err != nil && strings.Contains(err.Error(), "--new-ca") {
				t.Errorf("err = %v: sends the operator to --new-ca for a CA that may be intact", err)
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
				t.Errorf("%s after the refusal: %v, %v; want the named pipe left as it was", path, fi, err)
			}
		})
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// replaceWithFIFO puts a named pipe that nothing writes to where the file
// path was.
func replaceWithFIFO(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, path)
}

func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}
