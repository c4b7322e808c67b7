package cli_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListCommandsNeedAHub: token list and device list, like
// the other commands that only read an existing hub, refuse a
// data directory without one (a mistyped --data) instead of creating an
// empty hub there and printing an empty table.
func TestListCommandsNeedAHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"token", "list", "--data", dir},
		{"device", "list", "--data", dir},
		{"site", "list", "--data", dir},
	} {
		code, out, errs := run(t, args...)
		if code != 1 || !strings.Contains(errs, "holds no hub") || !strings.Contains(errs, "check --data") || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 saying there is no hub there", args, code, out, errs)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory was created: %v", err)
	}
}

// TestTokenCreateSaysWhereItGoes: only a SCIM token is for the identity
// provider; an admin or metrics token is not told to go there.
func TestTokenCreateSaysWhereItGoes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ scope, want string }{
		{"scim", "identity provider"},
		{"admin", "/api/v1"},
		{"metrics", "Prometheus"},
	} {
		code, out, errs := run(t, "token", "create", "--data", dir, "--name", tc.scope+"-test", "--scope", tc.scope)
		if code != 0 || !strings.HasPrefix(out, "sgt_") {
			t.Fatalf("token create --scope %s: exit %d, stdout %q, stderr %q", tc.scope, code, out, errs)
		}
		if !strings.Contains(errs, "shown once") || !strings.Contains(errs, tc.want) {
			t.Errorf("--scope %s: stderr %q; want it to say the token is shown once and mention %q", tc.scope, errs, tc.want)
		}
		if tc.scope != "scim" && strings.Contains(errs, "identity provider") {
			t.Errorf("--scope %s: stderr %q sends a non-SCIM token to the identity provider", tc.scope, errs)
		}
	}
}

// TestDeviceCodeSaysHowToEnroll: after the code, the installer is told the
// kiosk's command, with the CA file and the bound profile; the code's
// value stays on stdout only (stderr may be logged).
func TestDeviceCodeSaysHowToEnroll(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1", "--profile", "rpi5-touch")
	if code != 0 {
		t.Fatalf("device code: exit %d, stderr %q", code, errs)
	}
	c := strings.TrimSpace(out)
	if strings.Contains(c, "\n") || c == "" {
		t.Fatalf("stdout %q: want only the code", out)
	}
	for _, want := range []string{"shiftgate-agent enroll", "--code -", "--profile rpi5-touch", filepath.Join(dir, "ca.pem")} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not contain %q", errs, want)
		}
	}
	if strings.Contains(errs, c) {
		t.Errorf("stderr %q repeats the one-time code", errs)
	}
}

// TestShiftGraceHelpClaimsNoDefault: without --shift-grace, serve and
// import shifts use the stored login policy's grace, so their help must
// not print a fixed "(default 15m0s)" as if it applied.
func TestShiftGraceHelpClaimsNoDefault(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"import", "shifts", "-h"}} {
		code, _, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		i := strings.Index(errs, "-shift-grace")
		if i < 0 {
			t.Fatalf("%v: no -shift-grace in %q", args, errs)
		}
		help := errs[i:]
		if j := strings.Index(help[1:], "\n  -"); j >= 0 {
			help = help[:j+1]
		}
		if strings.Contains(help, "(default 15m0s)") {
			t.Errorf("%v: %q claims a fixed default", args, help)
		}
		if !strings.Contains(help, "stored") {
			t.Errorf("%v: %q does not say the stored policy's value applies", args, help)
		}
	}
}

// TestUsageListsOptionalFlags: the overview, asked for, goes to stdout
// (so it pipes into grep or less) and shows the optional flags the READMEs
// lead with (device code --profile, demo --exit).
func TestUsageListsOptionalFlags(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, errs := run(t, arg)
		if code != 0 || errs != "" {
			t.Errorf("%s: exit %d, stderr %q; want 0 and the usage on stdout", arg, code, errs)
		}
		for _, want := range []string{"device code   --data DIR --site SITE --name NAME [--profile PROFILE]", "demo   --data DIR [--listen ADDR] [--exit]"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: usage on stdout does not contain %q:\n%s", arg, want, out)
			}
		}
	}
	// Without a command it is a usage mistake: stderr, exit 2.
	if code, out, errs := run(t); code != 2 || out != "" || !strings.Contains(errs, "Usage:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errs)
	}
}

// TestServeHelpPublicURL: serve's help gives the default public URL that
// the hub really uses (localhost, never an IP address, which it refuses)
// and asks for a DNS name.
func TestServeHelpPublicURL(t *testing.T) {
	_, _, errs := run(t, "serve", "-h")
	i := strings.Index(errs, "-public-url")
	if i < 0 {
		t.Fatalf("no -public-url in %q", errs)
	}
	help := errs[i:]
	if j := strings.Index(help[1:], "\n  -"); j >= 0 {
		help = help[:j+1]
	}
	if strings.Contains(help, "https://LISTEN") || !strings.Contains(help, "https://localhost:PORT") || !strings.Contains(help, "DNS name") {
		t.Errorf("--public-url help %q; want the localhost default and a DNS name asked for", help)
	}
}
