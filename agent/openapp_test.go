package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// appOpens records the calls of Config.OpenApp and answers them with
// launched and err.
type appOpens struct {
	mu       sync.Mutex
	calls    []string // session/app
	launched bool
	err      error
}

func (o *appOpens) open(s Session, app string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, s.ID+"/"+app)
	return o.launched, o.err
}

func (o *appOpens) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

func withAppOpens(o *appOpens, logs *lockedBuffer) harnessOpt {
	return func(_ *harness, cfg *Config) {
		cfg.OpenApp = o.open
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
}

// TestOpenAppStartsGrantedApp: a tap on a tile of the live session's
// (Agent.OpenApp with its ID) has the app opened in that session (Config.OpenApp);
// when it was started again, app.launched says so, with the session, its
// user and the app. One that still runs is not started twice: nothing is
// emitted, and the log says it runs already.
func TestOpenAppStartsGrantedApp(t *testing.T) {
	opens := &appOpens{launched: true}
	var logs lockedBuffer
	h := newHarness(t, withAppOpens(opens, &logs))
	h.connect()
	h.login("s1", "ana", time.Hour) // granted emr and mail

	h.a.OpenApp("s1", "emr")
	got := h.ev.expect(t, EventAppLaunched)[0]
	want := Event{Event: EventAppLaunched, Time: h.clock.Now(), SessionID: "s1", User: "ana", App: "emr"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app.launched (-want +got):\n%s", diff)
	}
	b, err := got.MarshalJSON()
	mustNoErr(t, err)
	if !bytes.Contains(b, []byte(`"event":"app.launched"`)) || !bytes.Contains(b, []byte(`"session_id":"s1"`)) || !bytes.Contains(b, []byte(`"app":"emr"`)) {
		t.Errorf("app.launched on stdout: %s", b)
	}

	opens.mu.Lock()
	opens.launched = false // running already
	opens.mu.Unlock()
	h.a.OpenApp("s1", "mail")
	h.do(func() {})
	h.ev.none(t)
	if diff := cmp.Diff([]string{"s1/emr", "s1/mail"}, opens.got()); diff != "" {
		t.Errorf("OpenApp calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), `msg="app already running: not started again" session=s1 app=mail`) {
		t.Errorf("the log does not say mail runs already:\n%s", logs.String())
	}

	// A failure to start it is logged, and nothing emitted.
	opens.mu.Lock()
	opens.err = errors.New(`"emr" not found in PATH`)
	opens.mu.Unlock()
	h.a.OpenApp("s1", "emr")
	h.do(func() {})
	h.ev.none(t)
	if !strings.Contains(logs.String(), `level=WARN msg="app not opened" session=s1 app=emr err=`) {
		t.Errorf("the log does not say emr failed to open:\n%s", logs.String())
	}
	h.wantState(Active)
}

// TestOpenAppOnlyInLiveSession: a tap on an app tile opens nothing (and
// emits nothing: it is only logged) for an app the session was not
// granted, with no session open, while the session is being torn down
// (the state machine decides, so no app starts once session.ending is
// out, whatever the teardown is doing), or once it has ended.
func TestOpenAppOnlyInLiveSession(t *testing.T) {
	opens := &appOpens{launched: true}
	var logs lockedBuffer
	h := newHarness(t, withGate(), withAppOpens(opens, &logs))
	h.connect()

	h.a.OpenApp("", "emr")
	h.do(func() {})
	if !strings.Contains(logs.String(), `msg="app not opened: no session is open" app=emr state=locked`) {
		t.Errorf("no session: the log does not say why emr was not opened:\n%s", logs.String())
	}

	h.login("s1", "ana", time.Hour)
	h.a.OpenApp("s1", "payroll") // not granted
	h.do(func() {})
	if !strings.Contains(logs.String(), `msg="app not opened: not one of the session's apps" session=s1 app=payroll`) {
		t.Errorf("not granted: the log does not say why payroll was not opened:\n%s", logs.String())
	}

	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns // held by the gate: the teardown is running
	h.a.OpenApp("s1", "emr")
	h.do(func() {})
	if !strings.Contains(logs.String(), `msg="app not opened: the session is ending" session=s1 app=emr`) {
		t.Errorf("ending: the log does not say why emr was not opened:\n%s", logs.String())
	}
	h.gate <- nil
	h.ev.expect(t, EventSessionEnded)
	h.a.OpenApp("s1", "emr")
	h.do(func() {})

	if got := opens.got(); len(got) != 0 {
		t.Errorf("Config.OpenApp called %q, want never", got)
	}
	h.ev.none(t)
	if n := strings.Count(logs.String(), `msg="app not opened: no session is open" app=emr`); n != 2 {
		t.Errorf("%d taps logged as made with no session open, want 2 (before and after the session):\n%s", n, logs.String())
	}
}

// TestOpenAppWithoutOpener: an agent given no Config.OpenApp (the
// headless agent with no apps to open) only logs the tap.
func TestOpenAppWithoutOpener(t *testing.T) {
	var logs lockedBuffer
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.OpenApp("s1", "emr")
	h.do(func() {})
	h.ev.none(t)
	if !strings.Contains(logs.String(), `msg="app not opened: this agent opens no apps" session=s1 app=emr`) {
		t.Errorf("the log does not say why emr was not opened:\n%s", logs.String())
	}
}

// TestOpenAppStaleTapOpensNothingInNextSession: a tap made on one
// worker's session screen carries that session's ID, and reaches the state
// machine whenever the screen's goroutine gets it there: after the session
// ended and the next worker's began, say. It opens nothing in the next
// session, even one granted the same app (it is only logged); a tap that
// names no session is refused alike. The next worker's own tap opens the
// app in the next session.
func TestOpenAppStaleTapOpensNothingInNextSession(t *testing.T) {
	opens := &appOpens{launched: true}
	var logs lockedBuffer
	h := newHarness(t, withAppOpens(opens, &logs))
	h.connect()
	h.login("s1", "ana", time.Hour) // granted emr and mail
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	<-h.teardowns
	h.ev.ended(t)
	h.login("s2", "ben", time.Hour) // granted emr and mail too

	h.a.OpenApp("s1", "emr") // made on ana's screen, delivered in ben's session
	h.a.OpenApp("", "mail")
	h.do(func() {})
	h.ev.none(t)
	if got := opens.got(); len(got) != 0 {
		t.Fatalf("Config.OpenApp called %q in ben's session for taps that were not made in it", got)
	}
	for _, want := range []string{
		`msg="app not opened: the tap was made in another session" session=s2 tapped_in=s1 app=emr`,
		`msg="app not opened: the tap was made in another session" session=s2 tapped_in="" app=mail`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %s:\n%s", want, logs.String())
		}
	}

	h.a.OpenApp("s2", "emr")
	if e := h.ev.expect(t, EventAppLaunched)[0]; e.SessionID != "s2" || e.User != "ben" || e.App != "emr" {
		t.Errorf("app.launched %+v, want emr in ben's s2", e)
	}
	if diff := cmp.Diff([]string{"s2/emr"}, opens.got()); diff != "" {
		t.Errorf("OpenApp calls (-want +got):\n%s", diff)
	}
	h.wantState(Active)
}
