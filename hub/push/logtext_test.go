package push

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// syncLog is a log destination written from many goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKioskTypeInLogIsCut: a message type is the kiosk's text, up to a
// frame's worth (wire.MaxMessageBytes). The hub logs a refused request
// and a first message that is not a hello with the type cut short
// (logText), not at length; the kiosk's answers are as before.
func TestKioskTypeInLogIsCut(t *testing.T) {
	logs := &syncLog{}
	e := newTestEnv(t, func(c *Config, _ *timing) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	e.rec.request = func(_ context.Context, _ string, env wire.Envelope) (wire.Envelope, error) {
		return wire.Envelope{}, fmt.Errorf("request: %w", ErrUnknownType) // the type is push's to log
	}
	long := "kiosk." + strings.Repeat("é", 30000)

	ws, _ := e.connect(t, "kiosk-1")
	writeEnv(t, ws, long, "r1", "", map[string]string{})
	if got := readError(t, ws, "r1"); got.Code != wire.ErrUnknownType {
		t.Errorf("unknown type answered %+v, want %s", got, wire.ErrUnknownType)
	}

	ws2, _, err := e.dial(t, "kiosk-2")
	if err != nil {
		t.Fatal(err)
	}
	writeEnv(t, ws2, long, "r2", "", map[string]string{})
	if got := readError(t, ws2, "r2"); got.Code != wire.ErrState {
		t.Errorf("a first message that is not a hello answered %+v, want %s", got, wire.ErrState)
	}

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "push: bad hello") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"push: request refused", "push: bad hello", "(60006 bytes)"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%.2000s", want, logs.String())
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 1024 {
			t.Errorf("a log line of %d bytes, want the kiosk's type cut short: %.300s…", len(line), line)
		}
	}
}

// TestLogText: cut at a rune boundary, with the length it had.
func TestLogText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short", "session.end", "session.end"},
		{"at the limit", strings.Repeat("a", maxLogText), strings.Repeat("a", maxLogText)},
		{"over", strings.Repeat("a", maxLogText+1), strings.Repeat("a", maxLogText) + "…(65 bytes)"},
		{"inside a rune", "a" + strings.Repeat("é", 40), "a" + strings.Repeat("é", 31) + "…(81 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logText(tt.in); got != tt.want {
				t.Errorf("logText = %q, want %q", got, tt.want)
			}
		})
	}
}
