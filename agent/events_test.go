package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

func TestEventJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		e    Event
		want string
	}{
		{name: "connected", e: Event{Event: EventConnected, Time: at, DeviceID: "d1", Site: "north"},
			want: `{"event":"connected","time":"2026-03-02T07:00:00.123Z","device_id":"d1","site":"north"}`},
		{name: "started without apps", e: Event{Event: EventSessionStarted, Time: at, User: "ana", SessionID: "s1", ExpiresAt: at.Add(time.Hour), Role: "nurse"},
			want: `{"event":"session.started","time":"2026-03-02T07:00:00.123Z","user":"ana","session_id":"s1","expires_at":"2026-03-02T08:00:00.123Z","role":"nurse","apps":[]}`},
		{name: "started with a display name", e: Event{Event: EventSessionStarted, Time: at, User: "ana", DisplayName: "Ana Lima", SessionID: "s1", ExpiresAt: at.Add(time.Hour), Role: "nurse", Apps: []string{"emr"}},
			want: `{"event":"session.started","time":"2026-03-02T07:00:00.123Z","user":"ana","display_name":"Ana Lima","session_id":"s1","expires_at":"2026-03-02T08:00:00.123Z","role":"nurse","apps":["emr"]}`},
		{name: "enrollment armed", e: Event{Event: EventEnrollmentArmed, Time: at, User: "ana", DisplayName: "Ana Lima"},
			want: `{"event":"enrollment.armed","time":"2026-03-02T07:00:00.123Z","user":"ana","display_name":"Ana Lima"}`},
		{name: "enrollment ended", e: Event{Event: EventEnrollmentEnded, Time: at, User: "ana", Reason: EnrollmentRegistered},
			want: `{"event":"enrollment.ended","time":"2026-03-02T07:00:00.123Z","user":"ana","reason":"registered"}`},
		{name: "ending", e: Event{Event: EventSessionEnding, Time: at, SessionID: "s1", User: "ana", Reason: "deprovisioned"},
			want: `{"event":"session.ending","time":"2026-03-02T07:00:00.123Z","user":"ana","session_id":"s1","reason":"deprovisioned"}`},
		{name: "teardown failed", e: Event{Event: EventSessionTeardownFailed, Time: at, SessionID: "s1", Attempt: 2},
			want: `{"event":"session.teardown_failed","time":"2026-03-02T07:00:00.123Z","session_id":"s1","attempt":2}`},
		{name: "ended", e: Event{Event: EventSessionEnded, Time: at, SessionID: "s1", Reason: "signout"},
			want: `{"event":"session.ended","time":"2026-03-02T07:00:00.123Z","session_id":"s1","reason":"signout"}`},
		{name: "refused", e: Event{Event: EventLoginRefused, Time: at, Reason: "not_recognised"},
			want: `{"event":"login.refused","time":"2026-03-02T07:00:00.123Z","reason":"not_recognised"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			NewJSONLines(&buf).Emit(tc.e)
			if got := buf.String(); got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestJSONLinesSerializesWriters(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSONLines(&buf)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 50 {
				j.Emit(Event{Event: EventLoginRefused, Time: time.Now(), Reason: strings.Repeat("x", 100)})
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"event":"login.refused"`) || !strings.HasSuffix(l, `"}`) {
			t.Fatalf("torn line %q", l)
		}
	}
}

// stallSink forwards events until stalled, then blocks like a write to a
// stdout pipe nobody drains (64 KiB of kernel buffer, then write(2) blocks).
type stallSink struct {
	next    EventSink
	stalled chan struct{}
	never   chan struct{}
}

func (s *stallSink) Emit(e Event) {
	select {
	case <-s.stalled:
		<-s.never
	default:
		s.next.Emit(e)
	}
}

// TestRevokeTeardownNotHeldUpByStalledSink: the teardown of a revoked
// session starts before session.ending is emitted, so even a sink that
// blocks (a stalled stdout reader) does not hold the revocation up.
func TestRevokeTeardownNotHeldUpByStalledSink(t *testing.T) {
	sink := &stallSink{stalled: make(chan struct{}), never: make(chan struct{})}
	h := newHarness(t, func(h *harness, c *Config) { sink.next = h.ev; c.Events = sink })
	t.Cleanup(func() { close(sink.never) }) // runs before the harness stops
	h.connect()
	h.login("s1", "ana", time.Hour)
	close(sink.stalled)
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	select {
	case <-h.teardowns:
	case <-time.After(waitLimit):
		t.Fatalf("revoke pushed, no teardown: the loop is stuck writing an event (state %s)", h.a.State())
	}
}

// heldSink passes events on, but waits while the test holds it (a stdout
// reader that stopped draining); entered sees every event it gets.
type heldSink struct {
	sync.Mutex
	next    EventSink
	entered chan string
}

func (s *heldSink) Emit(e Event) {
	s.entered <- e.Event
	s.Lock()
	defer s.Unlock()
	s.next.Emit(e)
}

// TestQueuedSinkKeepsLoopGoingWhenStalled: behind a QueuedSink, a stalled
// writer blocks nothing — the revoked session is torn down, acknowledged
// and locked — and once it drains the events come in order, the ones that
// did not fit dropped (and logged).
func TestQueuedSinkKeepsLoopGoingWhenStalled(t *testing.T) {
	held := &heldSink{entered: make(chan string, 100)}
	var logs syncLog
	q := NewQueuedSink(held, 2, slog.New(slog.NewTextHandler(&logs, nil)))
	h := newHarness(t, func(h *harness, c *Config) { held.next = h.ev; c.Events = q })
	h.connect()
	h.login("s1", "ana", time.Hour)
	for len(held.entered) > 0 {
		<-held.entered
	}
	held.Lock() // the reader stops draining
	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	if e := <-held.entered; e != EventSessionEnding {
		t.Fatalf("writer holds %s, want session.ending", e)
	}
	<-h.teardowns
	h.hub.waitFor("ack", func() bool { return h.acked("p1") })
	h.wantState(Locked)
	// session.ended and disconnected fill the queue; connected is dropped.
	h.hub.disconnect()
	h.hub.connect()
	h.waitLoop("a drop", func() bool { return q.Dropped() == 1 })
	if !strings.Contains(logs.String(), "events dropped") {
		t.Errorf("no log line about dropped events:\n%s", logs.String())
	}
	held.Unlock()
	h.ev.expect(t, EventSessionEnding, EventSessionEnded, EventDisconnected)
	if !q.Close(waitLimit) {
		t.Fatal("queue not drained")
	}
	h.ev.none(t)
	if !strings.Contains(logs.String(), "dropped=1") {
		t.Errorf("no log line counting the dropped events:\n%s", logs.String())
	}
}

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
