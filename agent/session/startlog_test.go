package session

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartLogClaimsNoAppCount: callers start a session without apps and
// launch them afterwards, so "session started" must not claim a count of
// apps ("apps=0" followed by "app launched" lines); each launch says so
// itself.
func TestStartLogClaimsNoAppCount(t *testing.T) {
	var logs logBuffer
	m, err := New(Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Start(t.Context(), Spec{ID: "s1", User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Launch(shApp("emr", "exec sleep 30")); err != nil {
		t.Fatal(err)
	}
	if err := m.End(t.Context(), "s1"); err != nil {
		t.Fatal(err)
	}
	var started string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `msg="session started"`) {
			started = l
		}
	}
	if started == "" || strings.Contains(started, "apps=") {
		t.Errorf("session started line %q: want one, without an app count", started)
	}
	if n := strings.Count(logs.String(), `msg="app launched"`); n != 1 {
		t.Errorf("%d app launched lines, want 1:\n%s", n, logs.String())
	}
}
