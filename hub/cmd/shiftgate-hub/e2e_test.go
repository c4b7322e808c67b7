package main_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/agenttest"
)

// agentProc is a running shiftgate-agent and its state directory.
type agentProc struct {
	*agenttest.Proc
	state string
}

// hubEnv is a hub process with its tokens.
type hubEnv struct {
	t           *testing.T
	dir, url    string
	client      *http.Client
	scim, admin string
	stop        func() int
}

func startHubEnv(t *testing.T) *hubEnv {
	dir := filepath.Join(t.TempDir(), "hub")
	addr, client, stop := startHub(t, dir)
	_, port, _ := strings.Cut(addr, ":")
	e := &hubEnv{t: t, dir: dir, url: "https://localhost:" + port, client: client, stop: stop}
	e.scim = e.cli("token", "create", "--data", dir, "--name", "idp", "--scope", "scim")
	e.admin = e.cli("token", "create", "--data", dir, "--name", "ops", "--scope", "admin")
	return e
}

// cli runs a shiftgate-hub subcommand that must succeed; it returns stdout.
func (e *hubEnv) cli(args ...string) string {
	e.t.Helper()
	code, out, errOut := run(e.t, args...)
	if code != 0 {
		e.t.Fatalf("shiftgate-hub %v: exit %d: %s", args, code, errOut)
	}
	return strings.TrimSpace(out)
}

// call sends a JSON request with a bearer token and returns status and body.
func (e *hubEnv) call(method, path, tok, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (e *hubEnv) user(name, ext string) string {
	e.t.Helper()
	status, m := e.call("POST", "/scim/v2/Users", e.scim, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"],"userName":%q,"active":true,"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":%s}`, name, ext))
	if status != 201 {
		e.t.Fatalf("create user %s: %d %v", name, status, m)
	}
	return m["id"].(string)
}

func (e *hubEnv) group(name string, members ...string) {
	e.t.Helper()
	ms := make([]string, len(members))
	for i, m := range members {
		ms[i] = `{"value":"` + m + `"}`
	}
	if status, m := e.call("POST", "/scim/v2/Groups", e.scim, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`","members":[`+strings.Join(ms, ",")+`]}`); status != 201 {
		e.t.Fatalf("create group: %d %v", status, m)
	}
}

// kiosk enrolls a kiosk with the CLI code and the agent binary, and starts it.
func (e *hubEnv) kiosk(name, site, badges string) *agentProc {
	e.t.Helper()
	code := e.cli("device", "code", "--data", e.dir, "--site", site, "--name", name)
	state := filepath.Join(e.t.TempDir(), name)
	out, err := exec.Command(agentBin, "enroll", "--hub", e.url, "--ca", filepath.Join(e.dir, "ca.pem"), "--code", code, "--state", state, "--profile", "generic-x86").CombinedOutput()
	if err != nil {
		e.t.Fatalf("enroll %s: %v\n%s", name, err, out)
	}
	a := startAgent(e.t, name, state, badges)
	a.Wait("connected", 15*time.Second)
	return a
}

func startAgent(t *testing.T, name, state, badges string) *agentProc {
	t.Helper()
	return &agentProc{agenttest.Start(t, name, agentBin, "run", "--state", state, "--authenticator", "soft:"+badges, "--warning", "2s"), state}
}

// TestKioskEndToEnd runs the hub and two kiosk agents as processes: SCIM
// joiner → kiosk enrollment → badge registration → tap on both kiosks →
// SCIM leaver → both sessions end as deprovisioned and are acknowledged.
func TestKioskEndToEnd(t *testing.T) {
	e := startHubEnv(t)
	badges := t.TempDir()
	dana := e.user("dana.kim", `{"sites":["north"]}`)
	e.group("Nurse", dana)
	k1 := e.kiosk("north-1", "north", badges)
	k2 := e.kiosk("north-2", "north", badges)

	if status, m := e.call("POST", "/api/v1/enrollments", e.admin, `{"user":"dana.kim","device":"north-1"}`); status != 202 {
		t.Fatalf("enrollment: %d %v", status, m)
	}
	time.Sleep(200 * time.Millisecond) // the enroll.start push reaches the kiosk
	k1.Send("tap dana")
	if ev := k1.Wait("credential.registered", 10*time.Second); ev["user"] != "dana.kim" {
		t.Errorf("registered %v", ev)
	}
	k1.Send("tap dana")
	s1 := k1.Wait("session.started", 10*time.Second)
	k2.Send("tap dana")
	s2 := k2.Wait("session.started", 10*time.Second)
	if s1["user"] != "dana.kim" || s1["session_id"] == nil || s1["expires_at"] == nil || s1["role"] != "Nurse" {
		t.Errorf("session.started = %v", s1)
	}
	// The session has its own home on the kiosk, with files in it.
	home := filepath.Join(k1.state, "sessions", s1["session_id"].(string), "home")
	if st, err := os.Stat(home); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("session home %s: %v", home, err)
	}
	if err := os.WriteFile(filepath.Join(home, "patient-notes.txt"), []byte("confidential"), 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if status, m := e.call("PATCH", "/scim/v2/Users/"+dana, e.scim, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`); status != 200 {
		t.Fatalf("deactivate: %d %v", status, m)
	}
	for _, k := range []*agentProc{k1, k2} {
		if ev := k.Wait("session.ended", 5*time.Second); ev["reason"] != "deprovisioned" {
			t.Errorf("%s: session.ended = %v", k.Name(), ev)
		}
	}
	t.Logf("SCIM leaver → both kiosks ended their sessions in %v", time.Since(start))
	if _, err := os.Stat(filepath.Dir(home)); !os.IsNotExist(err) {
		t.Errorf("the session's directory survived its teardown: %v", err)
	}
	waitAcks(t, e.dir, []string{s1["session_id"].(string), s2["session_id"].(string)})

	// The badge is dead now.
	k1.Send("tap dana")
	if ev := k1.Wait("login.refused", 10*time.Second); ev["reason"] != "not_recognised" {
		t.Errorf("tap after deprovisioning: %v", ev)
	}
}

// waitAcks waits until the hub database records acknowledgements of the
// revocations of these sessions.
func waitAcks(t *testing.T, dir string, sessions []string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "hub.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range sessions {
		for {
			var acked int64
			err := db.QueryRow(`SELECT COALESCE(MAX(acked), 0) FROM revocations WHERE session_id = ?`, s).Scan(&acked)
			if err == nil && acked > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("revocation of session %s not acknowledged in the hub database (err %v)", s, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestKioskOfflineThenBack: a kiosk that is down when its session is
// force-signed-out applies the revocation as soon as it reconnects.
func TestKioskOfflineThenBack(t *testing.T) {
	e := startHubEnv(t)
	badges := t.TempDir()
	ola := e.user("ola", `{"sites":["north"]}`)
	e.group("Picker", ola)
	k := e.kiosk("north-1", "north", badges)
	e.call("POST", "/api/v1/enrollments", e.admin, `{"user":"ola","device":"north-1"}`)
	time.Sleep(200 * time.Millisecond)
	k.Send("tap ola")
	k.Wait("credential.registered", 10*time.Second)
	k.Send("tap ola")
	s := k.Wait("session.started", 10*time.Second)
	state := k.state
	k.Stop()

	if status, m := e.call("POST", "/api/v1/users/ola/signout", e.admin, ""); status != 200 || m["sessions_ended"] != 1.0 {
		t.Fatalf("signout: %d %v", status, m)
	}
	back := startAgent(t, "north-1 again", state, badges)
	if ev := back.Wait("session.ended", 15*time.Second); ev["reason"] != "forced" || ev["session_id"] != s["session_id"] {
		t.Errorf("after reconnecting: %v", ev)
	}
	waitAcks(t, e.dir, []string{s["session_id"].(string)})
}

// TestShiftEnd: a session granted inside a shift ends at the shift's end,
// with a warning first, by the kiosk itself.
func TestShiftEnd(t *testing.T) {
	e := startHubEnv(t)
	badges := t.TempDir()
	now := time.Now().UTC()
	sam := e.user("sam", fmt.Sprintf(`{"sites":["north"],"shifts":[{"start":%q,"end":%q}]}`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(8*time.Second).Format(time.RFC3339)))
	e.group("Nurse", sam)
	k := e.kiosk("north-1", "north", badges)
	e.call("POST", "/api/v1/enrollments", e.admin, `{"user":"sam","device":"north-1"}`)
	time.Sleep(200 * time.Millisecond)
	k.Send("tap sam")
	k.Wait("credential.registered", 10*time.Second)
	k.Send("tap sam")
	k.Wait("session.started", 10*time.Second)
	k.Wait("session.warning", 15*time.Second)
	if ev := k.Wait("session.ended", 15*time.Second); ev["reason"] != "shift_end" {
		t.Errorf("session.ended = %v, want reason shift_end", ev)
	}
	// Outside the shift nobody gets in.
	k.Send("tap sam")
	if ev := k.Wait("login.refused", 10*time.Second); ev["reason"] != "outside_shift" {
		t.Errorf("tap after the shift: %v", ev)
	}
}

// TestUnenrolledKioskRefused: a kiosk whose certificate the hub does not
// know cannot open the channel.
func TestDisabledKioskRefused(t *testing.T) {
	e := startHubEnv(t)
	k := e.kiosk("north-1", "north", t.TempDir())
	state := k.state
	if status, m := e.call("POST", "/api/v1/devices/north-1/disable", e.admin, ""); status != 200 {
		t.Fatalf("disable: %d %v", status, m)
	}
	k.Wait("disconnected", 10*time.Second)
	k.Stop()
	again := startAgent(t, "north-1 disabled", state, t.TempDir())
	ev, ok := again.Next(10 * time.Second)
	if !ok || ev["event"] != "device.refused" || ev["reason"] == "" || ev["hint"] == "" {
		t.Fatalf("a disabled kiosk's first event: %v (%v), want device.refused with a reason and a hint", ev, ok)
	}
	// The log says it too; stderr is read apart from the events, so it
	// may come a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for l := again.Logs(); !strings.Contains(l, "hub channel refused"); l = again.Logs() {
		if time.Now().After(deadline) {
			t.Fatalf("the agent log does not say the hub refused the kiosk:\n%s", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClonedBadgeSuspended: a copy of a badge file is a cloned key; its
// stale sign counter suspends the credential for both copies.
func TestClonedBadgeSuspended(t *testing.T) {
	e := startHubEnv(t)
	original, clone := t.TempDir(), t.TempDir()
	uid := e.user("vic", `{"sites":["north"]}`)
	e.group("Nurse", uid)
	k1 := e.kiosk("north-1", "north", original)
	k2 := e.kiosk("north-2", "north", clone)
	e.call("POST", "/api/v1/enrollments", e.admin, `{"user":"vic","device":"north-1"}`)
	time.Sleep(200 * time.Millisecond)
	k1.Send("tap vic")
	k1.Wait("credential.registered", 10*time.Second)
	copyFile(t, filepath.Join(original, "vic.json"), filepath.Join(clone, "vic.json"))
	for range 2 {
		k1.Send("tap vic")
		k1.Wait("session.started", 10*time.Second)
		k1.Send("signout")
		k1.Wait("session.ended", 10*time.Second)
	}
	k2.Send("tap vic")
	if ev := k2.Wait("login.refused", 10*time.Second); ev["reason"] != "not_recognised" {
		t.Errorf("cloned badge: %v", ev)
	}
	k1.Send("tap vic")
	if ev := k1.Wait("login.refused", 10*time.Second); ev["reason"] != "not_recognised" {
		t.Errorf("original badge after the clone was seen: %v", ev)
	}
	if out := e.cli("audit", "export", "--data", e.dir); !strings.Contains(out, `"action":"credential.suspended"`) {
		t.Error("no credential.suspended audit record")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
