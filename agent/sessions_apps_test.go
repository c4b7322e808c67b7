package agent

import (
	"bytes"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSessionsStartLogsLaunchedApps: Sessions.Start says how many of the
// session's apps it launched, matching the "app launched" lines, instead
// of the session manager's count of apps passed to it (always 0).
func TestSessionsStartLogsLaunchedApps(t *testing.T) {
	var logs lockedBuffer
	s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)))
	mustNoErr(t, err)
	// The profile's "Line Operator" has mes (granted, chromium) and sop
	// (granted, evince), and "*" intranet (not granted here). Only sop is
	// granted: whether evince is installed or not, the log must say what
	// happened.
	s.Start(Event{SessionID: "s1", User: "ana", Role: "Line Operator", Apps: []string{"sop"}})
	mustNoErr(t, s.End(t.Context(), Session{ID: "s1", User: "ana"}))
	out := logs.String()
	if strings.Contains(out, "apps=0") {
		t.Errorf("the log claims apps=0:\n%s", out)
	}
	m := regexp.MustCompile(`msg="session apps launched" session=s1 launched=(\d+) of=1`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no session apps launched line for s1 with of=1:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n != strings.Count(out, `msg="app launched"`) {
		t.Errorf("launched=%s, but %d app launched lines:\n%s", m[1], strings.Count(out, `msg="app launched"`), out)
	}
}

// TestSessionsWithoutApps: the demo's sessions (WithoutApps) launch none
// of the profile's apps, even granted ones, and so get no advice to run
// them as a session user.
func TestSessionsWithoutApps(t *testing.T) {
	var logs lockedBuffer
	s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)), WithoutApps(), WithCommand("shiftgate-kiosk"))
	mustNoErr(t, err)
	if got := s.apps("Picker", []string{"wms", "intranet"}); len(got) != 0 {
		t.Errorf("apps for a Picker: %v, want none", got)
	}
	s.Start(Event{SessionID: "s1", User: "ana", Role: "Picker", Apps: []string{"wms", "intranet"}})
	mustNoErr(t, s.End(t.Context(), Session{ID: "s1", User: "ana"}))
	out := logs.String()
	if strings.Contains(out, "session-user") || strings.Contains(out, "app launched") {
		t.Errorf("sessions without apps: the log advises a session user or launched an app:\n%s", out)
	}
}

// TestSessionUserAdviceNamesTheBinary: the advice to give a session user
// names the flags of the binary that prints it.
func TestSessionUserAdviceNamesTheBinary(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []SessionsOption
		want string
	}{
		{"agent", nil, "(shiftgate-agent run --session-user, --session-homes)"},
		{"kiosk", []SessionsOption{WithCommand("shiftgate-kiosk")}, "(shiftgate-kiosk --session-user, --session-homes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, err := NewSessions(enrolledDir(t, "generic-x86"), slog.New(slog.NewTextHandler(&logs, nil)), tc.opts...)
			mustNoErr(t, err)
			defer s.Close()
			if n := strings.Count(logs.String(), tc.want); n != 1 {
				t.Errorf("advice %q given %d times, want once:\n%s", tc.want, n, logs.String())
			}
		})
	}
}
