package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// registerKiosk is a complete hub (hubtest: HTTPS and the device channel
// over mutual TLS on 127.0.0.1) with a user alice, and a kiosk north-1
// enrolled with it by this binary's enroll command.
type registerKiosk struct {
	t      *testing.T
	hub    *hubtest.Hub
	state  string
	badges string
}

func newRegisterKiosk(t *testing.T, profile string) *registerKiosk {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{})
	const (
		user  = "urn:ietf:params:scim:schemas:core:2.0:User"
		group = "urn:ietf:params:scim:schemas:core:2.0:Group"
		ext   = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	)
	r := h.Do(t, http.MethodPost, "/scim/v2/Users", fmt.Sprintf(
		`{"schemas":[%q,%q],"userName":"alice","displayName":"Alice Ng","active":true,%q:{"sites":["north"]}}`, user, ext, ext))
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON()["id"].(string)
	if r = h.Do(t, http.MethodPost, "/scim/v2/Groups", fmt.Sprintf(`{"schemas":[%q],"displayName":"Nurse","members":[{"value":%q}]}`, group, id)); r.Status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	r = h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": "north-1", "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	k := &registerKiosk{t: t, hub: h, state: filepath.Join(t.TempDir(), "state"), badges: t.TempDir()}
	var out, errOut syncBuffer
	if c := run(t.Context(), []string{"enroll", "--hub", h.URL, "--ca", filepath.Join(h.DataDir, "ca.pem"), "--code", code,
		"--state", k.state, "--profile", profile}, strings.NewReader(""), &out, &errOut); c != 0 {
		t.Fatalf("enroll: exit %d: %s", c, errOut.String())
	}
	return k
}

// cmd is one run of the binary's run function in a goroutine.
type cmd struct {
	stdout, stderr *syncBuffer
	done           chan int
	cancel         context.CancelFunc
}

func (k *registerKiosk) start(stdin io.Reader, args ...string) *cmd {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cmd{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1), cancel: cancel}
	go func() { c.done <- run(ctx, args, stdin, c.stdout, c.stderr) }()
	k.t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			k.t.Error("command did not stop")
		}
	})
	return c
}

func (k *registerKiosk) register(timeout string) *cmd {
	return k.start(strings.NewReader(""), "register", "--state", k.state, "--authenticator", "soft:"+k.badges, "--key", "alice", "--timeout", timeout)
}

// wait returns the first event named name on stdout, failing after 10 s.
func (c *cmd) wait(t *testing.T, name string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, ev := range c.events(t) {
			if ev["event"] == name {
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event; stdout:\n%s\nstderr:\n%s", name, c.stdout.String(), c.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// events parses stdout: every line must be a JSON event with event and time.
func (c *cmd) events(t *testing.T) []map[string]any {
	t.Helper()
	var evs []map[string]any
	out := c.stdout.String()
	for line := range strings.Lines(out) {
		if !strings.HasSuffix(line, "\n") {
			break // being written
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["event"] == nil || ev["time"] == nil {
			t.Fatalf("stdout line %q is not a JSON event (%v)", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// exit waits for the command's exit status.
func (c *cmd) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case code := <-c.done:
		c.done <- code // for the cleanup
		return code
	case <-time.After(within):
		t.Fatalf("still running after %s; stdout:\n%s\nstderr:\n%s", within, c.stdout.String(), c.stderr.String())
		return 0
	}
}

func (k *registerKiosk) authorize(userName string) {
	k.t.Helper()
	if r := k.hub.API(k.t, http.MethodPost, "/api/v1/enrollments", map[string]string{"user": userName, "device": "north-1"}); r.Status != http.StatusAccepted {
		k.t.Fatalf("enrollment: %d %s", r.Status, r.Body)
	}
}

// An admin authorises an enrollment while register waits: register
// registers the soft key alice, says so, and exits 0; the kiosk's run then
// signs alice in with that key.
func TestRegisterThenRun(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")
	reg := k.register("30s")
	if ev := reg.wait(t, "connected"); ev["device_name"] != "north-1" || ev["site"] != "north" {
		t.Errorf("connected = %v", ev)
	}
	k.authorize("alice")
	if code := reg.exit(t, 10*time.Second); code != 0 {
		t.Fatalf("register: exit %d; stderr:\n%s", code, reg.stderr.String())
	}
	var names []string
	var registered map[string]any
	for _, ev := range reg.events(t) {
		names = append(names, ev["event"].(string))
		if ev["event"] == "credential.registered" {
			registered = ev
		}
	}
	if want := "connected enrollment.armed credential.registered enrollment.ended"; strings.Join(names, " ") != want {
		t.Errorf("events %v, want %s", names, want)
	}
	if registered["user"] != "alice" || registered["display_name"] != "Alice Ng" {
		t.Errorf("credential.registered = %v", registered)
	}
	if strings.Contains(reg.stdout.String(), "session.") || strings.Contains(reg.stdout.String(), "login.") {
		t.Errorf("register touched a session:\n%s", reg.stdout.String())
	}

	stdin, feed := io.Pipe()
	agent := k.start(stdin, "run", "--state", k.state, "--authenticator", "soft:"+k.badges)
	defer feed.Close()
	agent.wait(t, "connected")
	io.WriteString(feed, "tap alice\n")
	if ev := agent.wait(t, "session.started"); ev["user"] != "alice" || ev["role"] != "Nurse" {
		t.Errorf("session.started = %v", ev)
	}
	io.WriteString(feed, "signout\n") // the session's apps go before the test ends
	if ev := agent.wait(t, "session.ended"); ev["reason"] != "signout" {
		t.Errorf("session.ended = %v", ev)
	}
	if strings.Contains(agent.stdout.String(), "login.refused") {
		t.Errorf("run refused a login:\n%s", agent.stdout.String())
	}
}

// With nothing authorised, register gives up after --timeout and says how
// to get an enrollment.
func TestRegisterNothingPending(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")
	reg := k.register("1s")
	reg.wait(t, "connected")
	if code := reg.exit(t, 10*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, reg.stderr.String())
	}
	want := `shiftgate-agent: no enrollment pending for this kiosk (none came within 1s): run this command again and, while it waits, ask an admin to POST /api/v1/enrollments {"user":"USERNAME","device":"north-1"}`
	if !strings.Contains(reg.stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, reg.stderr.String())
	}
	for _, ev := range reg.events(t) {
		if ev["event"] != "connected" {
			t.Errorf("event %v", ev)
		}
	}
}

// A kiosk whose profile allows only some key models (rpi5-touch): the hub
// refuses the soft key's model, saying so, and register passes it on.
func TestRegisterModelNotAllowed(t *testing.T) {
	k := newRegisterKiosk(t, "rpi5-touch")
	reg := k.register("30s")
	reg.wait(t, "connected")
	k.authorize("alice")
	if code := reg.exit(t, 10*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, reg.stderr.String())
	}
	for _, want := range []string{
		`shiftgate-agent: registration refused: the hub refused key "alice" for alice: its model, AAGUID 5f0a6c7e-3b1d-4c9a-9e2f-8d4b7a1c6e35, is not allowed on this kiosk's profile rpi5-touch (allowedAAGUIDs)`,
		`with a key of an allowed model, run this command again and, while it waits, ask an admin to POST /api/v1/enrollments {"user":"alice","device":"north-1"}`,
	} {
		if !strings.Contains(reg.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, reg.stderr.String())
		}
	}
	if ev := reg.wait(t, "credential.refused"); ev["reason"] != "model_not_allowed" || ev["user"] != "alice" {
		t.Errorf("credential.refused = %v, want reason model_not_allowed", ev)
	}
	if ev := reg.wait(t, "enrollment.ended"); ev["reason"] != "refused" {
		t.Errorf("enrollment.ended = %v", ev)
	}
}

// SIGINT (ctx cancelled) while register waits: a clean stop, exit 130.
func TestRegisterInterrupted(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")
	reg := k.register("30s")
	reg.wait(t, "connected")
	reg.cancel()
	if code := reg.exit(t, 5*time.Second); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, reg.stderr.String())
	}
	if want := "shiftgate-agent: interrupted (context canceled): no credential was registered\n"; !strings.HasSuffix(reg.stderr.String(), want) {
		t.Errorf("stderr does not end with %q:\n%s", want, reg.stderr.String())
	}
}
