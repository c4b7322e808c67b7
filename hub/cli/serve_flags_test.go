package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeFlagsRefusedBeforeDataDir: a --shift-grace longer than the
// login policy takes (12h) and a --listen port out of range are usage
// mistakes (exit 2, naming the flag) found before anything is made. They
// were found only by hub.New and the listen: exit 1, after the data
// directory, its CA, keys and database were made, with "load policy: the
// initial rules" (no word of the flag) or, for the port, "is another hub
// running?".
func TestServeFlagsRefusedBeforeDataDir(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"shift grace over 12h", []string{"serve", "--listen", "127.0.0.1:0", "--shift-grace", "13h"}, "--shift-grace 13h0m0s: give 0 or a duration up to 12h"},
		{"port over 65535", []string{"serve", "--listen", "127.0.0.1:99999"}, "the port must be from 0 to 65535"},
		{"negative port", []string{"serve", "--listen", "127.0.0.1:-1"}, "the port must be from 0 to 65535"},
		{"demo port over 65535", []string{"demo", "--listen", "127.0.0.1:70000", "--exit"}, "the port must be from 0 to 65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "hub")
			code, out, errs := run(t, append(tc.args, "--data", data)...)
			if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 with %q", code, out, errs, tc.want)
			}
			if _, err := os.Lstat(data); err == nil {
				entries, _ := os.ReadDir(data)
				t.Errorf("the refused command made %s: %v", data, entries)
			}
		})
	}
}
