package agent

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
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
