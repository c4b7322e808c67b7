package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestUnusableBadgeLogged: a tapped badge whose file is there but refused
// (here: readable by others) is logged as refused, with the reason, not as
// a badge that does not exist, at login and at registration.
func TestUnusableBadgeLogged(t *testing.T) {
	var logs lockedBuffer
	h := startHarness(t, t.TempDir(), t.TempDir(), newFakeClock(), withLog(&logs))
	h.connect()
	registerBadge(t, h.badges, "ana")
	mustNoErr(t, os.Chmod(filepath.Join(h.badges, "ana.json"), 0o644))

	h.a.Tap("ana")
	h.ev.expect(t, EventLoginRefused)
	h.hub.push(wire.TypeEnrollStart, "e1", enrollStart("ana"))
	h.ev.expect(t, EventEnrollmentArmed)
	h.a.Tap("ana")
	h.ev.expect(t, EventCredentialRefused)

	out := logs.String()
	if strings.Contains(out, "no such badge") {
		t.Errorf("a badge whose file is there is logged as missing:\n%s", out)
	}
	for _, op := range []string{"login: badge refused", "register: badge refused"} {
		if !strings.Contains(out, op) {
			t.Errorf("the log does not say %q:\n%s", op, out)
		}
	}
}
