package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/session"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// TestReadCommandsOpen: "open APP" asks for APP in the session live when
// the line is read (as the agent's events announced it; none: an empty
// session ID), "open APP SESSION_ID" in SESSION_ID; any other shape of the
// line is refused on stderr with the accepted commands, and reading goes on.
func TestReadCommandsOpen(t *testing.T) {
	rec := intentRec{live: "s2"}
	var stderr bytes.Buffer
	in := "open emr\nopen mail s1\n  open\temr  s3 \nopen\nopen a b c\nOPEN emr\ntap ana\n"
	readCommands(strings.NewReader(in), &rec, &stderr, slog.New(slog.DiscardHandler))
	if want := [][2]string{{"s2", "emr"}, {"s1", "mail"}, {"s3", "emr"}}; !slices.Equal(rec.opens, want) {
		t.Errorf("opens %q, want %q", rec.opens, want)
	}
	if !slices.Equal(rec.taps, []string{"ana"}) || rec.activities != 7 {
		t.Errorf("taps %q, activities %d; want [ana], 7", rec.taps, rec.activities)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr, want 3 lines (open, open a b c, OPEN emr):\n%s", stderr.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, `accepted commands are "tap NAME", "signout", "activity" and "open APP [SESSION_ID]"`) {
			t.Errorf("stderr line %q", l)
		}
	}

	// No session live when the line is read: the request names none.
	rec = intentRec{}
	readCommands(strings.NewReader("open emr\n"), &rec, io.Discard, slog.New(slog.DiscardHandler))
	if want := [][2]string{{"", "emr"}}; !slices.Equal(rec.opens, want) {
		t.Errorf("opens with no session live %q, want %q", rec.opens, want)
	}
}

// TestRunOpenCommand drives shiftgate-agent run against a complete hub:
// "open APP [SESSION_ID]" on stdin opens one of the live session's apps
// again (app.launched), as a tile of the kiosk UI does, and every request
// that opens nothing is answered on stdout with app.refused and its
// reason: no session open, an app the session was not granted, a session
// other than the live one, and a late line for an ended session, which
// opens nothing in the next worker's session. None of them ends the agent.
func TestRunOpenCommand(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86") // alice is a Nurse: the profile gives her intranet
	installed := intranetInstalled(t)
	stdin, feed := io.Pipe()
	c := k.start(stdin, "run", "--state", k.state, "--authenticator", "soft:"+k.badges)
	defer feed.Close()
	out := &eventCursor{c: c}
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(feed, line+"\n"); err != nil {
			t.Fatalf("stdin %q: %v", line, err)
		}
	}
	refused := func(line, sessionID, app, reason string) {
		t.Helper()
		send(line)
		ev := out.next(t, "app.refused")
		if ev["session_id"] != optional(sessionID) || ev["app"] != app || ev["reason"] != reason || ev["user"] != nil {
			t.Errorf("%q: app.refused %v, want session_id %q, app %q, reason %q and no user", line, ev, sessionID, app, reason)
		}
	}

	out.next(t, "connected")
	refused("open intranet", "", "intranet", "no_session")
	k.authorize("alice")
	out.next(t, "enrollment.armed")
	send("tap alice")
	out.next(t, "credential.registered")
	send("tap alice")
	started := out.next(t, "session.started")
	s1, _ := started["session_id"].(string)
	if apps, _ := started["apps"].([]any); !slices.Contains(apps, any("intranet")) {
		t.Fatalf("session.started %v: no intranet app to open", started)
	}

	refused("open payroll", s1, "payroll", "not_granted")
	refused("open intranet no-such-session", "no-such-session", "intranet", "other_session")

	// The worker's intranet app is gone (closed by mistake, crashed): open
	// starts it again in her session. Where the profile's browser is not
	// installed it cannot, and says so.
	killSessionApps(t, s1)
	if !installed {
		refused("open intranet", s1, "intranet", "error")
	} else {
		send("open intranet")
		if ev := out.next(t, "app.launched"); ev["session_id"] != s1 || ev["user"] != "alice" || ev["app"] != "intranet" {
			t.Errorf("app.launched %v, want intranet in alice's %s", ev, s1)
		}
	}

	send("signout")
	out.next(t, "session.ended")
	refused("open intranet "+s1, s1, "intranet", "no_session")

	// The next worker's session (alice again: the hub grants a new one). A
	// line written for the ended session opens nothing in it, even with
	// its app gone.
	send("tap alice")
	s2, _ := out.next(t, "session.started")["session_id"].(string)
	if s2 == "" || s2 == s1 {
		t.Fatalf("second session %q, first %q", s2, s1)
	}
	killSessionApps(t, s2)
	refused("open intranet "+s1, s1, "intranet", "other_session")
	if installed {
		send("open intranet " + s2)
		if ev := out.next(t, "app.launched"); ev["session_id"] != s2 {
			t.Errorf("app.launched %v, want intranet in %s", ev, s2)
		}
	}
	send("signout") // the session's apps go before the test ends
	out.next(t, "session.ended")

	select {
	case code := <-c.done:
		c.done <- code
		t.Fatalf("the agent exited %d; stderr:\n%s", code, c.stderr.String())
	default:
	}
	want := 0
	if installed {
		want = 2
	}
	if n := strings.Count(c.stdout.String(), `"event":"app.launched"`); n != want {
		t.Errorf("%d app.launched, want %d:\n%s", n, want, c.stdout.String())
	}
}

// intranetInstalled reports whether the program of generic-x86's intranet
// app (a browser) is installed here, so that the session manager can
// start it.
func intranetInstalled(t *testing.T) bool {
	t.Helper()
	p, err := profiles.Get("generic-x86")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.AppsFor("Nurse") {
		if a.ID == "intranet" {
			fi, err := os.Stat(a.Command[0])
			return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
		}
	}
	t.Fatal("generic-x86 gives a Nurse no intranet app")
	return false
}

// optional is s as a JSON field left out when empty reads back.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// eventCursor reads a command's stdout events in order.
type eventCursor struct {
	c    *cmd
	seen int
}

// next returns the next event named name after those returned before,
// failing after 15 s, or at an app.launched or app.refused on the way to
// another event (every open must be answered by the event the test
// expects).
func (o *eventCursor) next(t *testing.T, name string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs := o.c.events(t)
		for ; o.seen < len(evs); o.seen++ {
			ev := evs[o.seen]
			if ev["event"] == name {
				o.seen++
				return ev
			}
			if ev["event"] == "app.launched" || ev["event"] == "app.refused" {
				t.Fatalf("%v while waiting for %s", ev, name)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event; stdout:\n%s\nstderr:\n%s", name, o.c.stdout.String(), o.c.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killSessionApps kills the processes of session id (those whose
// environment names it, as the session manager starts them) and waits
// until none is left: the apps a worker closed, or that crashed.
func killSessionApps(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := sessionPids(id)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of session %s survive SIGKILL", pids, id)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("kill %d: %v", pid, err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sessionPids lists the live (not zombie) processes whose environment has
// the session manager's SHIFTGATE_SESSION=id.
func sessionPids(id string) []int {
	marker := []byte("\x00" + session.IDEnv + "=" + id + "\x00")
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), marker) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
			continue // dead, not reaped yet
		}
		pids = append(pids, pid)
	}
	return pids
}
