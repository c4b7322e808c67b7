package ui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// waitLimit bounds every wait in these tests; only reached when one fails.
const waitLimit = 10 * time.Second

const (
	scimUser  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimExt   = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	scimPatch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// rendered is the screen as it was right after a redraw.
type rendered struct {
	screen Screen
	texts  []string
	at     time.Time // wall clock
}

func (r rendered) shows(texts ...string) bool {
	for _, w := range texts {
		if !slices.Contains(r.texts, w) {
			return false
		}
	}
	return true
}

// kiosk is the kiosk screen driven through the real agent core, against a
// real hub in this process (HTTPS and the device channel over mutual TLS
// on 127.0.0.1, SQLite in a temporary directory), with soft badges that
// make genuine WebAuthn registrations and assertions.
//
// Fyne's test driver runs fyne.Do at once, on the calling goroutine, so
// the harness plays Fyne's event loop itself: one goroutine (loop) applies
// the agent's events to the Model and runs every UI action, as the real
// driver's main goroutine does; tests talk to it through ui().
type kiosk struct {
	t     testing.TB
	hub   *hubtest.Hub
	clock *testClock
	core  *agent.Agent
	trace *tracingHub
	m     *Model
	w     fyne.Window
	name  string // the kiosk's device name

	events  chan agent.Event
	renders chan rendered
	do      chan func()
	last    rendered
}

func startKiosk(t testing.TB) *kiosk {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{})
	k := &kiosk{t: t, hub: h, name: "north-1", clock: newTestClock(time.Now()),
		events: make(chan agent.Event, 256), renders: make(chan rendered, 4096), do: make(chan func())}

	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("agent log:\n%s", logs.String())
			logMu.Unlock()
		}
	})

	// Enroll the kiosk through the real flow: an admin's one-time code,
	// then agent.Enroll (key generated here, CSR to the hub).
	r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": k.name, "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	state, badges := filepath.Join(t.TempDir(), "state"), t.TempDir()
	code, _ := r.JSON()["code"].(string)
	if _, err := agent.Enroll(context.Background(), agent.EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, "ca.pem"),
		Code: code, StateDir: state, Profile: "generic-x86"}); err != nil {
		t.Fatalf("enroll: %v", err)
	}

	sessions, err := agent.NewSessions(state, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() }) // after the core stops (cleanups run last first)
	labels := map[string]string{}
	for _, apps := range sessions.Profile().Apps {
		for _, a := range apps {
			labels[a.ID] = a.Label
		}
	}
	src, err := agent.ParseAuthenticator("soft:"+badges, authenticator.SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.Config{
		StateDir: state, Authenticators: src, Clock: k.clock, Logger: log,
		IdleTimeout: sessions.IdleTimeout(),
		MaxSession:  sessions.MaxSession(),
		Teardown:    sessions.End,
		Events: agent.EventFunc(func(e agent.Event) {
			if e.Event == agent.EventSessionStarted {
				s := e
				s.Apps = nil // the session's HOME and TMPDIR, but no browser in tests
				sessions.Start(s)
			}
			k.events <- e
		}),
	}
	client, err := agent.ClientFromStateDir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.trace = newTracingHub(client)
	cfg.Hub = k.trace
	if k.core, err = agent.New(cfg); err != nil {
		t.Fatal(err)
	}

	a := test.NewTempApp(t)
	a.Settings().SetTheme(Theme())
	var m *Model
	m = New(Options{
		Intents: k.core, Badges: []string{"dana", "spare", "stranger"}, AppLabels: labels,
		Now: k.clock.Now, Location: time.UTC,
		OnRender: func(s Screen) {
			if m != nil { // New renders once before it returns
				k.renders <- rendered{screen: s, texts: screenTexts(m.Content()), at: time.Now()}
			}
		},
	})
	k.m = m
	k.w = test.NewTempWindow(t, m.Content())
	m.Attach(k.w)
	k.w.Resize(fyne.NewSize(1280, 800))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.loop(ctx) })
	done := make(chan error, 1)
	go func() { done <- k.core.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		wg.Wait()
	})
	return k
}

// loop is Fyne's goroutine: events from the agent and UI actions, in turn.
func (k *kiosk) loop(ctx context.Context) {
	for {
		select {
		case e := <-k.events:
			k.m.Emit(e)
		case f := <-k.do:
			f()
		case <-ctx.Done():
			return
		}
	}
}

// ui runs f on the UI goroutine and waits for it.
func (k *kiosk) ui(f func()) {
	done := make(chan struct{})
	k.do <- func() {
		defer close(done)
		f()
	}
	<-done
}

// tap presses the button labelled text, as a finger would.
func (k *kiosk) tap(text string) {
	k.t.Helper()
	var texts []string
	found := false
	k.ui(func() {
		if b := findButton(k.m.Content(), text); b != nil {
			test.Tap(b)
			found = true
			return
		}
		texts = screenTexts(k.m.Content())
	})
	if !found {
		k.t.Fatalf("no button %q on screen %s: %q", text, k.last.screen, texts)
	}
}

// tick lets d pass on the kiosk's clock and runs the screen's clock tick.
func (k *kiosk) tick(d time.Duration) {
	k.clock.Advance(d)
	k.ui(k.m.Tick)
}

// waitScreen waits until screen is drawn showing texts, and returns it.
func (k *kiosk) waitScreen(screen Screen, texts ...string) rendered {
	k.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case r := <-k.renders:
			k.last = r
			if r.screen == screen && r.shows(texts...) {
				return r
			}
		case <-deadline:
			k.t.Fatalf("timed out waiting for screen %s showing %q; last drawn: %s %q", screen, texts, k.last.screen, k.last.texts)
		}
	}
}

// createUser provisions userName over SCIM, at site, in the role group.
func (k *kiosk) createUser(userName, displayName, site, role string) string {
	k.t.Helper()
	body := fmt.Sprintf(`{"schemas":[%q,%q],"userName":%q,"displayName":%q,"active":true,%q:{"sites":[%q]}}`,
		scimUser, scimExt, userName, displayName, scimExt, site)
	r := k.hub.Do(k.t, http.MethodPost, "/scim/v2/Users", body)
	if r.Status != http.StatusCreated {
		k.t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON()["id"].(string)
	r = k.hub.Do(k.t, http.MethodPost, "/scim/v2/Groups", fmt.Sprintf(`{"schemas":[%q],"displayName":%q,"members":[{"value":%q}]}`, scimGroup, role, id))
	if r.Status != http.StatusCreated {
		k.t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	return id
}

// authorizeEnrollment is the supervisor's POST /api/v1/enrollments.
func (k *kiosk) authorizeEnrollment(userName string) {
	k.t.Helper()
	r := k.hub.API(k.t, http.MethodPost, "/api/v1/enrollments", map[string]string{"user": userName, "device": k.name})
	if r.Status != http.StatusAccepted {
		k.t.Fatalf("enrollment: %d %s", r.Status, r.Body)
	}
}

// enroll registers badge for userName through the enrollment screens.
func (k *kiosk) enroll(userName, displayName, badge string) {
	k.t.Helper()
	k.authorizeEnrollment(userName)
	k.waitScreen(ScreenEnrollment, "Enrollment: tap the badge for "+displayName)
	k.tap(badge)
	k.waitScreen(ScreenVerifying, "Enrolling the badge…")
	k.waitScreen(ScreenEnrolled, "Badge enrolled for "+displayName)
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")
}

// signIn taps badge and waits for the active screen.
func (k *kiosk) signIn(badge string, texts ...string) rendered {
	k.t.Helper()
	k.tap(badge)
	k.waitScreen(ScreenVerifying, "Checking your badge…")
	return k.waitScreen(ScreenActive, texts...)
}

// session returns the user's only session in the hub's store once it has
// ended there.
func (k *kiosk) endedSession(userID string) store.Session {
	k.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ss, err := k.hub.Store().ListSessions(context.Background(), store.SessionQuery{UserID: userID})
		if err != nil {
			k.t.Fatal(err)
		}
		for _, s := range ss {
			if !s.Ended.IsZero() {
				return s
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("no ended session of %s in the hub: %+v", userID, ss)
		}
		time.Sleep(5 * time.Millisecond) // the hub records asynchronously; nothing to await
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tracingHub is the real hub client with the moments that matter for the
// revoke-to-locked figure noted: a session.revoke push received, and the
// ack for it written to the channel.
type tracingHub struct {
	agent.HubClient
	mu       sync.Mutex
	received map[string]time.Time // push ID → when it arrived
	acks     chan ackTrace
}

type ackTrace struct {
	id            string
	received, ack time.Time
}

func newTracingHub(c agent.HubClient) *tracingHub {
	return &tracingHub{HubClient: c, received: map[string]time.Time{}, acks: make(chan ackTrace, 64)}
}

func (t *tracingHub) Run(ctx context.Context, h agent.Handler) error {
	return t.HubClient.Run(ctx, tracingHandler{Handler: h, t: t})
}

func (t *tracingHub) Reply(ctx context.Context, re, typ string, data any) error {
	err := t.HubClient.Reply(ctx, re, typ, data)
	at := time.Now()
	t.mu.Lock()
	received, ok := t.received[re]
	delete(t.received, re)
	t.mu.Unlock()
	if ok && err == nil && typ == wire.TypeAck {
		select {
		case t.acks <- ackTrace{id: re, received: received, ack: at}:
		default: // nobody is measuring
		}
	}
	return err
}

type tracingHandler struct {
	agent.Handler
	t *tracingHub
}

func (h tracingHandler) Push(env wire.Envelope) {
	if env.Type == wire.TypeSessionRevoke {
		h.t.mu.Lock()
		h.t.received[env.ID] = time.Now()
		h.t.mu.Unlock()
	}
	h.Handler.Push(env)
}

// --- tests --------------------------------------------------------------

// TestKioskThroughRealCore drives the screen through the agent core
// against a real hub: enrollment of a badge on screen, sign-in, every way
// a session ends (forced sign-out, the Sign out button, deprovisioning over
// SCIM), and refusals by the kiosk and by the hub.
func TestKioskThroughRealCore(t *testing.T) {
	k := startKiosk(t)
	danaID := k.createUser("dana.kim", "Dana Kim", "north", "Nurse")
	k.createUser("ola.berg", "Ola Berg", "south", "Picker")
	k.waitScreen(ScreenLocked, "Tap your badge", "Online", "north · north-1")

	// A badge the hub has never seen is refused on the kiosk itself.
	k.tap("stranger")
	k.waitScreen(ScreenRefused, "Badge not recognised. Ask your supervisor.", "[dana]")
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")

	// A supervisor enrolls Dana's badge on screen; tapping it again for
	// a second enrollment is refused (already enrolled) and the
	// enrollment stays armed for another badge.
	k.enroll("dana.kim", "Dana Kim", "dana")
	k.authorizeEnrollment("dana.kim")
	k.waitScreen(ScreenEnrollment, "Enrollment: tap the badge for Dana Kim")
	k.tap("dana")
	k.waitScreen(ScreenEnrollFailed, "This badge is already enrolled", "Tap a different badge.")
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenEnrollment, "Enrollment: tap the badge for Dana Kim")
	k.tap("spare")
	k.waitScreen(ScreenEnrolled, "Badge enrolled for Dana Kim")
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")

	// Sign in: the active screen shows who, the role, the apps.
	r := k.signIn("dana", "Dana Kim", "Nurse", "[Intranet]", "[Sign out]")
	if !slices.ContainsFunc(r.texts, func(s string) bool { return strings.HasPrefix(s, "Session ends at ") }) {
		t.Errorf("active screen without the session's end: %q", r.texts)
	}

	// Force sign-out from the hub: the session is torn down and the
	// screen says why, then locks.
	if r := k.hub.API(t, http.MethodPost, "/api/v1/users/dana.kim/signout", nil); r.Status != http.StatusOK {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	ended := k.waitScreen(ScreenEnded, "Signed out by a supervisor")
	if slices.Contains(ended.texts, "Dana Kim") {
		t.Errorf("ended screen still shows the user: %q", ended.texts)
	}
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")

	// Sign out with the button (the second badge works too): the hub
	// records the end.
	k.signIn("spare", "Dana Kim")
	k.tap("Sign out")
	k.waitScreen(ScreenEnded, "Signed out")

	// Deprovisioned over SCIM while signed in: access removed.
	k.signIn("dana", "Dana Kim")
	patch := fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"Replace","path":"active","value":false}]}`, scimPatch)
	if r := k.hub.Do(t, http.MethodPatch, "/scim/v2/Users/"+danaID, patch); r.Status != http.StatusOK {
		t.Fatalf("deprovision: %d %s", r.Status, r.Body)
	}
	k.waitScreen(ScreenEnded, "Access removed by your organisation", "Ask your supervisor if you think this is wrong.")
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")

	// The hub refuses the deprovisioned user's badge, and a worker of
	// another site.
	k.tap("dana")
	k.waitScreen(ScreenRefused, "Badge not recognised. Ask your supervisor.")
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked)
	k.enroll("ola.berg", "Ola Berg", "stranger")
	k.tap("stranger")
	k.waitScreen(ScreenRefused, "You can't sign in at this kiosk.")
}

// TestKioskSignoutReported: the hub learns of a sign-out from the screen.
func TestKioskSignoutReported(t *testing.T) {
	k := startKiosk(t)
	id := k.createUser("dana.kim", "Dana Kim", "north", "Nurse")
	k.waitScreen(ScreenLocked, "Online")
	k.enroll("dana.kim", "Dana Kim", "dana")
	k.signIn("dana", "Dana Kim")
	k.ui(func() { k.m.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape}) }) // Escape signs out
	k.waitScreen(ScreenEnded, "Signed out")
	if s := k.endedSession(id); s.EndReason != wire.ReasonSignout {
		t.Errorf("hub recorded the end as %q, want signout", s.EndReason)
	}
}

// TestKioskIdleTimeout: without input for the profile's idle timeout the
// core ends the session (idle) and tells the hub; input on the screen
// starts the timeout again.
func TestKioskIdleTimeout(t *testing.T) {
	k := startKiosk(t)
	id := k.createUser("dana.kim", "Dana Kim", "north", "Nurse")
	k.waitScreen(ScreenLocked, "Online")
	k.enroll("dana.kim", "Dana Kim", "dana")
	k.signIn("dana", "Dana Kim")
	start := k.clock.Now()                // the session opened now: idle from here
	const idle = 5 * time.Minute          // generic-x86's idleTimeout
	k.clock.waitTimer(t, start.Add(idle)) // the core armed the timeout

	k.clock.Advance(4 * time.Minute)
	k.ui(func() { test.MoveMouse(k.w.Canvas(), fyne.NewPos(900, 300)) }) // the worker moves the mouse
	k.clock.Advance(4 * time.Minute)
	// The check at 5:00 found the input and looks again at 9:00 (had
	// the input not reached the core, the session would have ended).
	k.clock.waitTimer(t, start.Add(4*time.Minute+idle))
	k.clock.Advance(time.Minute)
	k.waitScreen(ScreenEnded, "Signed out after inactivity")
	if s := k.endedSession(id); s.EndReason != wire.ReasonIdle {
		t.Errorf("hub recorded the end as %q, want idle", s.EndReason)
	}
	k.tick(DefaultMessageFor)
	k.waitScreen(ScreenLocked, "Tap your badge")
}
