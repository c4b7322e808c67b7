package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent"
)

// TestPlainKeepsJoiners: a Persian, Malayalam or Devanagari name keeps the
// zero-width non-joiner or joiner its spelling needs, on the session
// screen and in a sentence, as the agent keeps it in a display name;
// where no script needs one it goes, as other format characters do.
func TestPlainKeepsJoiners(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"علی رحیم\u200cزاده", "علی رحیم\u200cزاده"},
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"അവന\u0d4d\u200d കുമാർ", "അവന\u0d4d\u200d കുമാർ"},
		{"लक\u094d\u200dष्मी", "लक\u094d\u200dष्मी"},
		{"Ana 👩🏽\u200d⚕️", "Ana 👩🏽\u200d⚕️"},
		{"\u202eعلی رحیم\u200cزاده", "علی رحیم\u200cزاده"},
		{"ad\u200cmin", "admin"},
		{"Ana\u200d Lima", "Ana Lima"},
		{"رحیم\u200c", "رحیم"},
		{"می\u200c\u202eخواهم", "میخواهم"},
	} {
		if got := plain(tc.in); got != tc.want {
			t.Errorf("plain(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	if got, want := English().EnrolledMessage("علی رحیم\u200cزاده").Title, "Badge enrolled for علی رحیم\u200cزاده"; got != want {
		t.Errorf("got %+q, want %+q", got, want)
	}

	h := newHarness(t)
	h.m.Emit(agent.Event{Event: agent.EventSessionStarted, User: "ali", DisplayName: "علی رحیم\u200cزاده", Role: "Nurse", SessionID: "s1",
		ExpiresAt: h.clock.t.Add(8 * time.Hour)})
	h.want(ScreenActive, "علی رحیم\u200cزاده", "Nurse")
}

// TestPlainJoinersLong: a value of joiners that are all in context is cut
// as any other.
func TestPlainJoinersLong(t *testing.T) {
	in := strings.Repeat("می\u200c", 100_000)
	got := []rune(plain(in))
	if len(got) != maxValue || got[len(got)-1] != '…' || !strings.HasPrefix(in, string(got[:len(got)-1])) {
		t.Errorf("plain of %d bytes = %q", len(in), string(got))
	}
}
