package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateFileSizeLimits: every file the agent reads back from its state
// directory (state.json, session.json, the hub CA) is refused when it is
// larger than maxStateBytes, with an error naming the file, before it is
// read whole; so is a JSON state file with more after its value.
func TestStateFileSizeLimits(t *testing.T) {
	huge := bytes.Repeat([]byte(" "), maxStateBytes+1)
	for _, tc := range []struct {
		name, file string
		data       []byte
		read       func(dir string) error
		want       string
	}{
		{"state.json too large", EnrollmentFile, huge,
			func(dir string) error { _, err := ReadEnrollment(dir); return err }, "larger than"},
		{"session.json too large", SessionFile, huge,
			func(dir string) error { _, err := readSessionState(dir); return err }, "larger than"},
		{"ca.pem too large", CAFile, append([]byte("-----BEGIN CERTIFICATE-----\n"), huge...),
			func(dir string) error { _, err := ClientFromStateDir(Config{StateDir: dir}); return err }, "larger than"},
		{"session.json with more after it", SessionFile, []byte(`{"version":1,"session":null,"pending":[]}{"version":1}`),
			func(dir string) error { _, err := readSessionState(dir); return err }, "more after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := enrolledDir(t, "generic-x86")
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			err := tc.read(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("reading a %d-byte %s: %v, want an error naming it and saying %q", len(tc.data), tc.file, err, tc.want)
			}
		})
	}
}
