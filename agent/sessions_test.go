package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// enrolledDir is a state directory enrolled with profile.
func enrolledDir(t *testing.T, profile string) string {
	t.Helper()
	dir := t.TempDir()
	mustNoErr(t, writeJSON(filepath.Join(dir, EnrollmentFile), Enrollment{
		Version: stateVersion, HubURL: "https://hub.example:8443", DeviceID: "d1", Profile: profile,
		// The test hubs' relying party (a hub behind another name than
		// the kiosk enrolled with, set by hand as the README says).
		Origin: testOrigin, RPID: testRPID,
	}))
	return dir
}

func ordersClearClipboard(p *profiles.Profile) bool {
	return slices.ContainsFunc(p.Teardown, func(s profiles.Step) bool { return s.Action == profiles.ActionClearClipboard })
}

// TestProfileClearClipboardStepUsesClearer: every shipped profile orders
// clear-clipboard; with a clearer (WithClipboard, what the kiosk UI gives)
// each teardown calls it, and a clearer that fails fails the teardown, so
// the agent keeps the session and retries it.
func TestProfileClearClipboardStepUsesClearer(t *testing.T) {
	for _, profile := range []string{"generic-x86", "rpi5-touch", "thinclient-nfc"} {
		t.Run(profile, func(t *testing.T) {
			var calls atomic.Int32
			var fail atomic.Bool
			s, err := NewSessions(enrolledDir(t, profile), slog.New(slog.DiscardHandler), WithClipboard(func(context.Context) error {
				calls.Add(1)
				if fail.Load() {
					return errors.New("no display")
				}
				return nil
			}))
			mustNoErr(t, err)
			if !ordersClearClipboard(s.Profile()) {
				t.Fatalf("profile %s no longer orders clear-clipboard", profile)
			}
			if !s.ClearsClipboard() {
				t.Error("ClearsClipboard() = false with a clearer")
			}
			s.Start(Event{SessionID: "s1", User: "ana"})
			mustNoErr(t, s.End(t.Context(), Session{ID: "s1", User: "ana"}))
			if n := calls.Load(); n != 1 {
				t.Errorf("clipboard cleared %d times by the teardown, want 1", n)
			}
			fail.Store(true)
			s.Start(Event{SessionID: "s2", User: "bob"})
			if err := s.End(t.Context(), Session{ID: "s2", User: "bob"}); err == nil || !strings.Contains(err.Error(), "clipboard") {
				t.Errorf("teardown with a failing clearer: %v, want a clipboard error", err)
			}
		})
	}
}

// TestNoClipboardClearerWarnsOnce: the headless agent has no clipboard
// clearer: it says once, at start, that the profile's clear-clipboard step
// cannot be done, and its teardowns say they skipped it rather than
// claiming it done.
func TestNoClipboardClearerWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)))
	mustNoErr(t, err)
	if s.ClearsClipboard() {
		t.Error("ClearsClipboard() = true without a clearer")
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"the kiosk profile's clear-clipboard teardown step cannot be done here"); n != 1 {
		t.Errorf("%d warnings about the clear-clipboard step at start, want 1:\n%s", n, logs.String())
	}
	for _, id := range []string{"s1", "s2"} {
		s.Start(Event{SessionID: id, User: "ana"})
		mustNoErr(t, s.End(t.Context(), Session{ID: id, User: "ana"}))
	}
	if n := strings.Count(logs.String(), "clear-clipboard teardown step cannot be done"); n != 1 {
		t.Errorf("%d warnings about the step, want only the one at start:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "teardown step skipped: clear-clipboard"); n != 2 {
		t.Errorf("%d teardowns said they skipped clear-clipboard, want 2:\n%s", n, logs.String())
	}
}

// Without a session user the agent says at start that the apps can read
// its state; with one, it does not, and the apps' homes lie under the
// given root.
func TestSessionUserOption(t *testing.T) {
	var logs bytes.Buffer
	_, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)))
	mustNoErr(t, err)
	if !strings.Contains(logs.String(), "session apps run as the agent's own user") {
		t.Errorf("no warning that the apps run as the agent's user:\n%s", logs.String())
	}
	logs.Reset()
	homes := filepath.Join(t.TempDir(), "homes")
	_, err = NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)), WithSessionUser(64105, 64105, homes)) // an unused ID: nobody (65534) is refused
	mustNoErr(t, err)
	if strings.Contains(logs.String(), "session apps run as the agent's own user") {
		t.Errorf("warned about the agent's user with a session user given:\n%s", logs.String())
	}
	if fi, err := os.Stat(homes); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("home root: %v, %v; want a directory 0711", fi, err)
	}
	if _, _, err := LookupSessionUser("no-such-user-shiftgate"); err == nil {
		t.Error("LookupSessionUser of an unknown user: no error")
	}
	if uid, gid, err := LookupSessionUser("0"); err != nil || uid != 0 || gid != 0 {
		t.Errorf("LookupSessionUser(\"0\") = %d, %d, %v; want root's IDs", uid, gid, err)
	}
}

// The kiosk binaries' --session-user and --session-homes go together.
func TestSessionUserFlags(t *testing.T) {
	if opts, err := SessionUserFlags("", ""); err != nil || len(opts) != 0 {
		t.Errorf("no flags: %d options, %v", len(opts), err)
	}
	if _, err := SessionUserFlags("nobody", ""); err == nil || !strings.Contains(err.Error(), "--session-homes") {
		t.Errorf("user without homes: %v", err)
	}
	if _, err := SessionUserFlags("", "/var/lib/x"); err == nil || !strings.Contains(err.Error(), "--session-user") {
		t.Errorf("homes without user: %v", err)
	}
	if opts, err := SessionUserFlags("0", t.TempDir()); err != nil || len(opts) != 1 {
		t.Errorf("user and homes: %d options, %v", len(opts), err)
	}
}
