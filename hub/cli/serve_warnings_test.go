package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeSessionWarningsCapped: a --session-warnings lead time longer
// than any session a login policy can give (its max_session is at most
// 24h) is a usage mistake (exit 2, naming the flag) found before anything
// is made: serve took 100000h, and every kiosk then warned as its
// session started. 24h itself is taken: with it, serve goes on to the
// next flag's check.
func TestServeSessionWarningsCapped(t *testing.T) {
	for _, tc := range []struct {
		name, warnings, want string
	}{
		{"far over", "100000h", `--session-warnings "100000h": 100000h is longer than any session (at most 24h)`},
		{"one over, among others", "10m,24h0m1s", `--session-warnings "10m,24h0m1s": 24h0m1s is longer than any session (at most 24h)`},
		// --log-format is checked after --session-warnings: its
		// mistake shows that 24h passed.
		{"the longest session", "24h,2m", "--log-format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "hub")
			code, out, errs := run(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--log-format", "xml", "--session-warnings", tc.warnings)
			if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 with %q", code, out, errs, tc.want)
			}
			if _, err := os.Lstat(data); err == nil {
				t.Errorf("the refused command made %s", data)
			}
		})
	}
}
