package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent"
)

// enrolledState is a state directory that reads as enrolled (no key: the
// session manager needs only state.json).
func enrolledState(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(agent.Enrollment{Version: 1, HubURL: "https://hub.example:8443", DeviceID: "d1", Profile: "generic-x86"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, agent.EnrollmentFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSessionUserAdvice: the kiosk's advice to give a session user names
// its own flags, not shiftgate-agent run's; the demo, which launches no
// apps, gives none.
func TestSessionUserAdvice(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    options
		want string // "" for no advice
	}{
		{"kiosk", options{state: "s", auth: "soft:b"}, "give a session user (shiftgate-kiosk --session-user, --session-homes)"},
		{"demo", options{demo: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := sessionsOptions(tc.o, func(context.Context) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			s, err := agent.NewSessions(enrolledState(t), slog.New(slog.NewTextHandler(&logs, nil)), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out := logs.String()
			if strings.Contains(out, "shiftgate-agent") {
				t.Errorf("the kiosk's log names shiftgate-agent:\n%s", out)
			}
			switch {
			case tc.want == "" && strings.Contains(out, "session-user"):
				t.Errorf("advice about --session-user where no app runs:\n%s", out)
			case tc.want != "" && !strings.Contains(out, tc.want):
				t.Errorf("log does not say %q:\n%s", tc.want, out)
			}
		})
	}
}
