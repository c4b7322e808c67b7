package cli_test

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
)

// TestCommandGroupHelp: "shiftgate-hub COMMAND -h", which the overview and
// the READMEs point to, works for the commands made of subcommands too
// (token, device, …): it lists their subcommands on stdout and exits 0,
// instead of "unknown token command "-h"" and exit 2.
func TestCommandGroupHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"token", []string{"token  create --data DIR --name NAME", "token  list", "token  rotate", "token  revoke"}},
		{"device", []string{"device code   --data DIR --site SITE --name NAME", "device list"}},
		{"site", []string{"site   set ", "site   list"}},
		{"audit", []string{"audit  verify --data DIR", "--checkpoints LOG --public-key PEM", "audit  verify --export FILE", "audit  export", "audit  public-key"}},
		{"import", []string{"import shifts --data DIR"}},
		{"review", []string{"review start", "review list", "review show", "review run"}},
		{"admin", []string{"admin  bootstrap --data DIR"}},
	} {
		for _, arg := range []string{"-h", "--help", "help"} {
			code, out, errs := run(t, tc.cmd, arg)
			if code != 0 || errs != "" {
				t.Errorf("%s %s: exit %d, stderr %q; want 0 and the command's usage on stdout", tc.cmd, arg, code, errs)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s %s: stdout does not contain %q:\n%s", tc.cmd, arg, w, out)
				}
			}
			for line := range strings.Lines(out) {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "shiftgate-hub" && f[1] != tc.cmd {
					t.Errorf("%s %s: lists another command: %q", tc.cmd, arg, line)
				}
			}
			if want := "Run 'shiftgate-hub " + tc.cmd + " SUBCOMMAND -h' for a subcommand's flags."; !strings.Contains(out, want) {
				t.Errorf("%s %s: stdout does not say %q:\n%s", tc.cmd, arg, want, out)
			}
		}
	}
	// A subcommand's -h still lists its flags, and a command that is one
	// (serve) is unchanged.
	if code, _, errs := run(t, "token", "create", "-h"); code != 0 || !strings.Contains(errs, "-scope string") {
		t.Errorf("token create -h: exit %d, stderr %q; want its flags", code, errs)
	}
	if code, _, errs := run(t, "serve", "-h"); code != 0 || !strings.Contains(errs, "-public-url string") {
		t.Errorf("serve -h: exit %d, stderr %q; want its flags", code, errs)
	}
}

// TestNewHubFromCLIGetsSigningKey: a hub that token create, device code or
// admin bootstrap makes in a new directory (as hub/README.md allows,
// before the first serve) gets its audit export signing key at once, so
// that the first serve does not warn that the hub "predates signed exports
// or its signing key was lost" and ask for a new public key to be handed
// to auditors. An existing hub's missing signing key is left to serve,
// which warns about it as it should.
func TestNewHubFromCLIGetsSigningKey(t *testing.T) {
	for _, args := range [][]string{
		{"token", "create", "--name", "idp", "--scope", "scim"},
		{"device", "code", "--site", "north", "--name", "north-1"},
		{"admin", "bootstrap", "--name", "ada@example.org"},
	} {
		t.Run(args[0], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "hub")
			if code, _, errs := run(t, append(args, "--data", dir)...); code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errs)
			}
			for _, f := range []string{audit.SignKeyFile, audit.PublicKeyFile} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%v made a hub without %s: %v", args, f, err)
				}
			}
			if logs := startHubLogs(t, dir); strings.Contains(logs, "made a new audit export signing key") {
				t.Errorf("the first start after %v warned of a new signing key:\n%s", args, logs)
			}
			if code, out, errs := run(t, "audit", "export", "--data", dir); code != 0 || !strings.Contains(out, `{"signature":`) {
				t.Errorf("audit export: exit %d, stderr %q; want a signed export:\n%s", code, errs, out)
			}
		})
	}

	// A hub with records whose signing key is gone: the CLI does not make
	// one silently; the next serve does, and warns.
	dir := filepath.Join(t.TempDir(), "hub")
	if code, _, errs := run(t, "token", "create", "--data", dir, "--name", "idp", "--scope", "scim"); code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errs)
	}
	for _, f := range []string{audit.SignKeyFile, audit.PublicKeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := run(t, "token", "create", "--data", dir, "--name", "ops", "--scope", "admin"); code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, audit.SignKeyFile)); !os.IsNotExist(err) {
		t.Errorf("token create on an existing hub made %s (%v): serve makes it, and warns", audit.SignKeyFile, err)
	}
	if logs := startHubLogs(t, dir); !strings.Contains(logs, "made a new audit export signing key") {
		t.Errorf("serve on a hub with records and no signing key did not warn:\n%s", logs)
	}
}

// startHubLogs opens the hub in dir as serve does, closes it, and returns
// what it logged.
func startHubLogs(t *testing.T, dir string) string {
	t.Helper()
	var logs bytes.Buffer
	s, err := hub.New(t.Context(), hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	s.Close()
	return logs.String()
}

// TestDeviceCodeBeforeFirstServe: a code made before the hub first
// started points to a ca.pem that does not exist yet, and says so.
func TestDeviceCodeBeforeFirstServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	code, _, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-1")
	if code != 0 {
		t.Fatalf("device code: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, filepath.Join(dir, "ca.pem")+" (written when the hub first starts: shiftgate-hub serve --data "+dir+")") {
		t.Errorf("stderr %q does not say ca.pem is written at the first serve", errs)
	}
	// Once it exists, the hint is the plain path.
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, errs = run(t, "device", "code", "--data", dir, "--site", "north", "--name", "north-2")
	if strings.Contains(errs, "written when the hub first starts") || !strings.Contains(errs, filepath.Join(dir, "ca.pem")+" copied") {
		t.Errorf("stderr %q; want the plain ca.pem path", errs)
	}
}

// TestSiteSetZoneMessage: a time zone mistake reads as a command-line
// mistake, without the API's "invalid request" prefix.
func TestSiteSetZoneMessage(t *testing.T) {
	code, _, errs := run(t, "site", "set", "--data", t.TempDir(), "--name", "north", "--time-zone", "Europe/Nowhere")
	if code != 2 || strings.Contains(errs, "invalid request") || !strings.Contains(errs, `--time-zone: time zone "Europe/Nowhere" is not an IANA time zone name`) {
		t.Errorf("exit %d, stderr %q; want 2 and the mistake without \"invalid request\"", code, errs)
	}
}

// TestDemoPortInUse: a --listen port in use is found before the demo
// seeds anything into --data, so the same directory takes the next try
// with another port, which may be 0 (the system's choice).
func TestDemoPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errs := run(t, "demo", "--data", dir, "--listen", busy.Addr().String(), "--exit")
	if code != 1 || !strings.Contains(errs, "pick another --listen") || !strings.Contains(errs, "DEMO_ADDR") {
		t.Errorf("demo on a port in use: exit %d, stdout %q, stderr %q; want 1 and to pick another --listen", code, out, errs)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "hub.lock" {
			t.Errorf("demo on a port in use left %s in --data", e.Name())
		}
	}

	code, out, errs = run(t, "demo", "--data", dir, "--listen", "127.0.0.1:0", "--exit")
	if code != 0 {
		t.Fatalf("demo again, on port 0: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	m := regexp.MustCompile(`listening on https://127\.0\.0\.1:(\d+) `).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("no port in the demo's output:\n%s", out)
	}
	if want := "web console https://localhost:" + m[1] + "/console/"; !strings.Contains(out, want) {
		t.Errorf("demo output lacks %q:\n%s", want, out)
	}
}
