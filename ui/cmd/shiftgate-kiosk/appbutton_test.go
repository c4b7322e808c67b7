package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// offlineHub is a hub channel that never comes up.
type offlineHub struct{}

func (offlineHub) Run(ctx context.Context, _ agent.Handler) error { <-ctx.Done(); return nil }
func (offlineHub) Request(context.Context, string, any) (wire.Envelope, error) {
	return wire.Envelope{}, agent.ErrNotConnected
}
func (offlineHub) Reply(context.Context, string, string, any) error { return agent.ErrNotConnected }

// TestAppButtonOpensTheApp: a press on an app tile of the real kiosk goes
// to the agent, which opens the app in the live session
// (Config.OpenApp, the session manager's Sessions.OpenApp in run) and
// emits app.launched; it used to be only logged. A press on a tile of an
// earlier session's screen (it names that session) opens nothing in this
// one. The demo, whose sessions launch no apps, still only logs the press.
func TestAppButtonOpensTheApp(t *testing.T) {
	for _, demo := range []bool{false, true} {
		t.Run(map[bool]string{false: "kiosk", true: "demo"}[demo], func(t *testing.T) {
			state := enrolledState(t)
			// The session the agent restores at start: open, with emr.
			b, err := json.Marshal(map[string]any{"version": 1, "pending": []any{}, "session": map[string]any{
				"id": "s1", "user": "ana", "role": "Nurse", "apps": []string{"emr"},
				"expires_at": time.Now().Add(time.Hour).UTC(), "granted_at": time.Now().UTC(),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(state, agent.SessionFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			opened := make(chan string, 4)
			events := make(chan agent.Event, 16)
			core, err := agent.New(agent.Config{
				StateDir: state, Hub: offlineHub{}, Logger: log,
				Authenticators: func(string) (authenticator.Authenticator, error) { return nil, errors.New("no badges") },
				OpenApp: func(s agent.Session, app string) (bool, error) {
					opened <- s.ID + "/" + app
					return true, nil
				},
				Events: agent.EventFunc(func(e agent.Event) { events <- e }),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- core.Run(ctx) }()
			defer func() { cancel(); <-done }()
			if e := <-events; e.Event != agent.EventSessionStarted || !e.Restored {
				t.Fatalf("first event %+v, want the restored session.started", e)
			}

			press := appButton(options{demo: demo}, log, &agentIntents{a: core})
			press("s1", "emr")
			if demo {
				time.Sleep(100 * time.Millisecond)
				select {
				case got := <-opened:
					t.Errorf("the demo opened %s", got)
				default:
				}
				if !strings.Contains(logs.String(), `msg="demo: app button pressed; the demo launches no apps" session=s1 app=emr`) {
					t.Errorf("the demo did not log the press:\n%s", logs.String())
				}
				return
			}
			select {
			case got := <-opened:
				if got != "s1/emr" {
					t.Errorf("opened %s, want s1/emr", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the press opened nothing:\n%s", logs.String())
			}
			select {
			case e := <-events:
				if e.Event != agent.EventAppLaunched || e.SessionID != "s1" || e.App != "emr" {
					t.Errorf("event %+v, want app.launched of emr in s1", e)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no app.launched")
			}

			press("s0", "emr") // a tile of the screen of a session before s1
			const refused = `msg="app not opened: the tap was made in another session" session=s1 tapped_in=s0 app=emr`
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), refused); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the press for s0 was not refused:\n%s", logs.String())
				}
			}
			select {
			case got := <-opened:
				t.Errorf("a press for s0 opened %s", got)
			case e := <-events:
				t.Errorf("a press for s0: event %+v", e)
			default:
			}
		})
	}
}
