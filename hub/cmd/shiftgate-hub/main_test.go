package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// bin and agentBin are the shiftgate-hub and shiftgate-agent binaries,
// built once for these tests.
var bin, agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sghub")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "shiftgate-hub")
	agentBin = filepath.Join(dir, "shiftgate-agent")
	out, err := exec.Command("go", "build", "-o", dir+"/", ".", "../../../agent/cmd/shiftgate-agent").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build shiftgate-hub and shiftgate-agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary to completion and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	}
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return 0, o.String(), e.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHub runs `shiftgate-hub serve` as a process until the test ends.
func startHub(t *testing.T, dir string) (addr string, client *http.Client, stop func() int) {
	t.Helper()
	return startHubArgs(t, dir)
}

// startHubArgs is startHub with more serve flags before --data and
// --listen (which win over the same flags in them).
func startHubArgs(t *testing.T, dir string, serve ...string) (addr string, client *http.Client, stop func() int) {
	t.Helper()
	addr = freeAddr(t)
	args := append(append([]string{"serve"}, serve...), "--data", dir, "--listen", addr)
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "hub listening") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("hub did not start; log:\n%s", logs.String())
	}
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	}
	t.Cleanup(func() { stop() })
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatalf("serve wrote no ca.pem: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return addr, client, stop
}

func TestServeTokenSCIM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, c, stop := startHub(t, dir)
	for _, f := range []string{"ca-key.pem", "server-key.pem", "audit.key", "audit-sign.key", "hub.db"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz over HTTPS with the hub CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	// Plain HTTP is not served.
	if r, err := http.Get("http://" + addr + "/healthz"); err == nil && r.StatusCode == 200 {
		t.Error("plain HTTP answered 200")
	}
	// A token created while the hub runs works at once, and only once shown.
	code, out, errOut := run(t, "token", "create", "--data", dir, "--name", "okta", "--scope", "scim")
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errOut)
	}
	tok := strings.TrimSpace(out)
	if !regexp.MustCompile(`^sgt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("token %q has an unexpected form", tok)
	}
	req, _ := http.NewRequest("POST", "https://"+addr+"/scim/v2/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"e2e.user"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("SCIM create with the new token = %d", resp.StatusCode)
	}
	_, list, _ := run(t, "token", "list", "--data", dir)
	if !strings.Contains(list, "okta") || strings.Contains(list, tok[21:]) {
		t.Errorf("token list shows %q", list)
	}
	db, err := os.ReadFile(filepath.Join(dir, "hub.db"))
	if err == nil && bytes.Contains(db, []byte(tok[21:])) {
		t.Error("the token secret is stored in the database in plaintext")
	}
	if code := stop(); code != 0 {
		t.Errorf("hub exited %d on SIGTERM", code)
	}
	code, out, _ = run(t, "audit", "verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "OK: 3 records") {
		t.Errorf("audit verify = %d %q, want OK with policy.update (the seeded policy), token.create and user.create", code, out)
	}
	code, out, _ = run(t, "audit", "export", "--data", dir)
	// Three records and the signature trailer.
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "\n{\"signature\":{") || !strings.Contains(out, `"action":"user.create"`) || !strings.Contains(out, `"action":"policy.update"`) {
		t.Errorf("audit export = %d %q", code, out)
	}
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := run(t, "demo", "--data", dir, "--listen", freeAddr(t), "--exit")
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, s := range []string{"Joiner", "Mover", "Leaver", "site:north-ward", "deprovisioned", "user.deprovision", "chain verified",
		"[north-ward-1] event=session.started", "2 kiosk session(s) torn down and acknowledged", "[south-ward-1] event=session.ended user=dana.kim reason=deprovisioned"} {
		if !strings.Contains(out, s) {
			t.Errorf("demo output lacks %q:\n%s", s, out)
		}
	}
	if code, _, _ := run(t, "audit", "verify", "--data", dir); code != 0 {
		t.Errorf("audit verify after demo = %d", code)
	}
}

// TestAuditTamper edits the SQLite file behind the hub's back: an edited,
// a deleted and a reordered record must each be named by audit verify.
func TestAuditTamper(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	if code, out, e := run(t, "demo", "--data", base, "--listen", freeAddr(t), "--exit"); code != 0 {
		t.Fatalf("demo: %d %s %s", code, out, e)
	}
	cases := []struct {
		name    string
		sql     string
		wantSeq int
	}{
		{"edited", `UPDATE audit SET actor = 'nobody' WHERE seq = 5`, 5},
		{"edited detail", `UPDATE audit SET detail = CAST('{}' AS BLOB) WHERE seq = 7`, 7},
		{"deleted", `DELETE FROM audit WHERE seq = 4`, 4},
		{"reordered", `UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = -1`, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			copyDir(t, base, dir)
			db, err := sql.Open("sqlite3", filepath.Join(dir, "hub.db"))
			if err != nil {
				t.Fatal(err)
			}
			// The log is append-only in the schema too; a tamperer has to
			// drop the guards first.
			if _, err := db.Exec(tc.sql); err == nil {
				t.Errorf("the database accepted %q with its guards in place", tc.sql)
			}
			rows, _ := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'`)
			var triggers []string
			for rows.Next() {
				var n string
				rows.Scan(&n)
				triggers = append(triggers, n)
			}
			rows.Close()
			for _, n := range triggers {
				if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			db.Close()
			code, out, errOut := run(t, "audit", "verify", "--data", dir)
			if code == 0 {
				t.Fatalf("audit verify passed a tampered log: %s", out)
			}
			if want := fmt.Sprintf("record %d", tc.wantSeq); !strings.Contains(out+errOut, want) {
				t.Errorf("audit verify did not name %s:\n%s%s", want, out, errOut)
			}
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // the hub's state is files; the demo's kiosks and badges are not needed
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	dir := t.TempDir()
	full := t.TempDir() // not new, not empty: no place for a demo
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve"}, 2, "serve needs --data"},
		{[]string{"token", "create", "--data", dir, "--name", "x", "--scope", "root"}, 2, "unknown token scope"},
		{[]string{"token", "revoke", "--data", dir, "--id", "nope"}, 1, "holds no hub"},
		{[]string{"serve", "--data", dir, "--listen", "127.0.0.1:1", "--public-url", "http://x"}, 2, "want https://"},
		{[]string{"demo", "--data", full}, 2, "new or empty"},
		{[]string{"site", "set", "--data", dir, "--name", "north", "--time-zone", "Mars/Olympus"}, 2, "Run 'shiftgate-hub site set -h' for its flags."},
		{[]string{"serve", "--data", dir, "--bogus"}, 2, "Run 'shiftgate-hub serve -h' for its flags."},
	} {
		code, _, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d stderr %q; want exit %d mentioning %q", tc.args, code, errOut, tc.code, tc.want)
		}
		// A mistake in a command line is the mistake and where to look,
		// not the overview (kept for no arguments at all).
		if code == 2 && tc.args != nil && (strings.Contains(errOut, "Usage:") || strings.Count(errOut, "\n") != 2) {
			t.Errorf("%v: stderr %q; want the mistake and one line pointing to -h", tc.args, errOut)
		}
	}
	// A key file others can read is refused with what to do about it.
	d := filepath.Join(t.TempDir(), "d")
	if code, _, e := run(t, "token", "create", "--data", d, "--name", "a", "--scope", "scim"); code != 0 {
		t.Fatalf("token create: %s", e)
	}
	if code, _, e := run(t, "token", "revoke", "--data", d, "--id", "nope"); code != 1 || !strings.Contains(e, "token list") {
		t.Errorf("token revoke of an unknown ID: exit %d, %q; want exit 1 pointing to token list", code, e)
	}
	os.Chmod(filepath.Join(d, "audit.key"), 0o644)
	if code, _, e := run(t, "audit", "verify", "--data", d); code == 0 || !strings.Contains(e, "chmod 600") {
		t.Errorf("world-readable audit.key: exit %d, %q", code, e)
	}
}

// TestSecondHubRefused: a second serve or demo on a data directory a hub
// is running on is refused at once, naming the directory and the running
// hub's PID, even on another --listen (it would otherwise run a second
// scheduler and push fan-out on the same database); the first hub goes on
// serving, and once it has stopped the directory is free again.
func TestSecondHubRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr, c, stop := startHub(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "hub.lock"))
	if err != nil {
		t.Fatalf("no hub.lock while serve runs: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	for _, args := range [][]string{
		{"serve", "--data", dir, "--listen", freeAddr(t)},
		{"demo", "--data", dir, "--listen", freeAddr(t), "--exit"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		cmd := exec.CommandContext(ctx, bin, args...)
		var e bytes.Buffer
		cmd.Stderr = &e
		err := cmd.Run()
		cancel()
		want := dir + ": another hub (shiftgate-hub serve or demo) is running on it (PID " + pid + ")"
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(e.String(), want) {
			t.Errorf("second %s: %v, stderr %q; want exit 1 and %q", args[0], err, e.String(), want)
		}
	}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the first hub stopped answering: %v", err)
	}
	resp.Body.Close()
	if code := stop(); code != 0 {
		t.Errorf("hub exited %d on SIGTERM", code)
	}
	startHub(t, dir) // the lock went with the process
}

// TestSystemdUnit: the systemd unit shipped in hub/deploy starts the hub
// with its ExecStart (the test's data directory and address in place of
// the unit's), its --data is the unit's StateDirectory, and the hub stops
// cleanly on the unit's KillSignal.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../../deploy/shiftgate-hub.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line %q is not KEY=VALUE", line)
		}
		if _, dup := unit[section+"."+k]; dup && k != "SystemCallFilter" {
			t.Errorf("unit sets %s twice", k)
		}
		unit[section+"."+k] = v
	}
	cmdline := strings.Fields(unit["Service.ExecStart"])
	if len(cmdline) < 2 || cmdline[0] != "/usr/local/bin/shiftgate-hub" || cmdline[1] != "serve" {
		t.Fatalf("ExecStart %q, want /usr/local/bin/shiftgate-hub serve ...", unit["Service.ExecStart"])
	}
	var data string
	for i, f := range cmdline {
		if f == "--data" && i+1 < len(cmdline) {
			data = cmdline[i+1]
		}
	}
	if want := "/var/lib/" + unit["Service.StateDirectory"]; data != want {
		t.Errorf("--data %q, want the StateDirectory %q", data, want)
	}
	if unit["Service.KillSignal"] != "SIGTERM" || unit["Service.User"] == "" || unit["Service.User"] == "root" {
		t.Errorf("unit: KillSignal %q, User %q; want SIGTERM and a user of its own", unit["Service.KillSignal"], unit["Service.User"])
	}
	addr, client, stop := startHubArgs(t, t.TempDir(), cmdline[2:]...)
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Errorf("the hub exited %d on SIGTERM, want 0", code)
	}
}
