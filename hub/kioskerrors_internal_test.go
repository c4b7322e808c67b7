package hub

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestKioskErrorsLoggedAFewAMinute: the error messages a kiosk sends that
// answer no push are logged a few a minute per kiosk, then one line says
// that more are dropped, and the first line logged after says how many
// were. Before, each was logged: a kiosk could flood the hub's log with
// kilobyte lines as fast as it could send them.
func TestKioskErrorsLoggedAFewAMinute(t *testing.T) {
	logs := &lockedBuffer{}
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443",
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := channelCtx(t)
	report := func(deviceID, message string) {
		t.Helper()
		env, err := wire.New(wire.TypeError, "e-"+message, "", wire.Error{Code: wire.ErrInternal, Message: message})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := s.channel.Request(ctx, deviceID, env)
		if err != nil || reply.Type != "" {
			t.Fatalf("error message answered %+v, %v; want no answer", reply, err)
		}
	}
	count := func(what string) int { return strings.Count(logs.String(), what) }
	const (
		reported = `msg="kiosk reported an error" device=k1 `
		muted    = `msg="kiosk reports errors faster than the hub logs them`
		flood    = 100
	)

	for i := range flood {
		report("k1", "flood-"+strconv.Itoa(i))
	}
	if n := count(reported); n != kioskErrorLines {
		t.Errorf("%d lines for %d error messages of one kiosk within a minute, want %d", n, flood, kioskErrorLines)
	}
	if n := count(muted); n != 1 {
		t.Errorf("%d lines saying the kiosk's errors are dropped, want 1:\n%s", n, logs)
	}
	// Another kiosk's errors are logged meanwhile.
	report("k2", "other")
	if n := count(`msg="kiosk reported an error" device=k2 code=internal message=other`); n != 1 {
		t.Errorf("another kiosk's error logged %d times, want once:\n%s", n, logs)
	}

	mu.Lock()
	now = now.Add(kioskErrorWindow)
	mu.Unlock()
	report("k1", "later")
	want := `message=later dropped_before=` + strconv.Itoa(flood-kioskErrorLines)
	if n := count(want); n != 1 {
		t.Errorf("the first error logged after the flood: no line with %q:\n%s", want, logs)
	}
	if n := count(reported); n != kioskErrorLines+1 {
		t.Errorf("%d lines of the kiosk's errors, want %d", n, kioskErrorLines+1)
	}
}
