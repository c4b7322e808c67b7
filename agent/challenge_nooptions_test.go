package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestChallengeWithoutOptionsRefused: a hub that answers challenge.request
// with a challenge that has no options gets no tap through, and the log
// says what was wrong with it: not that it was for another relying party
// (whose hint sends the operator to edit state.json), and, in an agent
// without a pinned relying party, without a crash.
func TestChallengeWithoutOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"enrolled", upgradedDir},
		{"no relying party pinned", func(t *testing.T) string { return t.TempDir() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			h := startHarness(t, tc.dir(t), t.TempDir(), newFakeClock(), withLog(&logs))
			registerBadge(t, h.badges, "ana")
			h.hub.setResponder(wire.TypeChallengeRequest, func(context.Context, any) (wire.Envelope, error) {
				// No "options" at all, as a hub's frame may leave it out.
				return env(t, wire.TypeChallenge, map[string]any{"origin": testOrigin, "expires_at": h.hub.now().Add(wire.ChallengeTTL)}), nil
			})
			h.hub.connect()
			h.ev.expect(t, EventConnected)
			h.a.Tap("ana")
			h.ev.expect(t, EventLoginRefused)
			if n := len(h.hub.requestsOf(wire.TypeLogin)); n != 0 {
				t.Errorf("%d logins sent for a challenge without options, want none", n)
			}
			if got := logs.String(); strings.Contains(got, "another relying party") || !strings.Contains(got, "no options") {
				t.Errorf("the log does not say the challenge had no options:\n%s", got)
			}
		})
	}
}
