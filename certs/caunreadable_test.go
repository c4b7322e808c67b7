package certs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/certs"
)

// A hub CA file that cannot be read (here something other than a file
// under its name; as well an I/O error of a failing disk, or no file
// descriptor left) is not damaged: nothing says what it holds, and the
// same start may succeed once the cause is fixed. The error names the
// file and the system's error and says to check and start again; it
// does not send the operator to the backup, nor to --new-ca, which
// would cut every kiosk off for a CA that may be intact. It did both.
// A file that was read and is no CA file (one over the size limit) is
// still damaged.
func TestLoadOrCreateHubUnreadableCANotDamaged(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		break_     func(t *testing.T, path string)
		wantErr    string
		wantAdvice bool
	}{
		{
			name:    "CA certificate a directory (EISDIR on read)",
			file:    certs.CACertFile,
			break_:  replaceWithDir,
			wantErr: "is a directory",
		},
		{
			name:    "CA key a directory",
			file:    certs.CAKeyFile,
			break_:  replaceWithDir,
			wantErr: "not a regular file",
		},
		{
			name: "CA certificate over the size limit",
			file: certs.CACertFile,
			break_: func(t *testing.T, path string) {
				if err := os.WriteFile(path, make([]byte, 1<<20+1), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:    "larger than",
			wantAdvice: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustHub(t, dir, nil, t0)
			path := filepath.Join(dir, tt.file)
			tt.break_(t, path)
			before := fileModes(t, dir)

			_, err := certs.LoadOrCreateHub(dir, nil, t0)
			if err == nil {
				t.Fatal("LoadOrCreateHub: no error")
			}
			msg := err.Error()
			for _, want := range []string{tt.wantErr, path} {
				if !strings.Contains(msg, want) {
					t.Errorf("err = %v, want it to contain %q", err, want)
				}
			}
			for _, advice := range []string{"restore ", "--new-ca"} {
				if got := strings.Contains(msg, advice); got != tt.wantAdvice {
					t.Errorf("err = %v: says %q: %v, want %v", err, advice, got, tt.wantAdvice)
				}
			}
			if !tt.wantAdvice {
				for _, want := range []string{"check the disk", "start the hub again"} {
					if !strings.Contains(msg, want) {
						t.Errorf("err = %v, want it to say %q", err, want)
					}
				}
			}
			if diff := cmp.Diff(before, fileModes(t, dir)); diff != "" {
				t.Errorf("refusal changed the data dir (-before +after):\n%s", diff)
			}
		})
	}
}

// replaceWithDir puts an empty directory where the file path was.
func replaceWithDir(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
}
