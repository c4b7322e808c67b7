package hub

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/store"
)

// seenHub is a hub with kiosk k1, whose stored last-seen time is when it
// was made, logging to the returned buffer.
func seenHub(t *testing.T) (*Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := s.cfg.Now().UTC().Add(-time.Hour)
	if _, err := s.st.CreateDevice(t.Context(), store.Device{ID: "k1", Name: "kiosk-k1", Site: "north", Profile: "generic-x86",
		State: store.DeviceActive, Created: now, Modified: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// serveSeen runs s.ServeListener on loopback until cancel; wait waits
// for it to return.
func serveSeen(t *testing.T, s *Server) (addr string, cancel func(), wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln, nil) }()
	return ln.Addr().String(), cancel, func() error {
		select {
		case err := <-served:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("ServeListener did not return after its context ended")
			return nil
		}
	}
}

// wantSeenStored checks that k1's stored last-seen time is at.
func wantSeenStored(t *testing.T, st store.Store, at time.Time) {
	t.Helper()
	d, err := st.GetDevice(t.Context(), "k1")
	if err != nil {
		t.Fatal(err)
	}
	if !d.LastSeen.Equal(at) {
		t.Errorf("k1 last seen %s after the shutdown, want its sighting at %s", d.LastSeen, at)
	}
}

// noSeenWarning fails the test if the log warns that kiosks' last-seen
// times were not recorded.
func noSeenWarning(t *testing.T, logs *lockedBuffer) {
	t.Helper()
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "last-seen") {
			t.Errorf("logged at shutdown: %s", l)
		}
	}
}

// TestShutdownFlushesSeen: a sighting still in memory when the hub shuts
// down is written by the shutdown's flush, without a warning.
func TestShutdownFlushesSeen(t *testing.T) {
	s, logs := seenHub(t)
	_, cancel, wait := serveSeen(t, s)
	at := s.cfg.Now().UTC().Truncate(time.Millisecond)
	s.seen.mark("k1", at)
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	wantSeenStored(t, s.st, at)
	noSeenWarning(t, logs)
}

// TestShutdownDuringSeenFlushWarnsNothing: the periodic flush under way
// when the hub shuts down fails, its context ended with the hub's; the
// shutdown's flush writes its sightings. That is no failure to warn of:
// it was logged as one ("record kiosks' last-seen times ... context
// canceled") at every such shutdown, and an operator was left to wonder
// whether the kiosks' times were lost.
func TestShutdownDuringSeenFlushWarnsNothing(t *testing.T) {
	s, logs := seenHub(t)
	held := &heldTouches{Store: s.st, entered: make(chan map[string]time.Time), release: make(chan error)}
	s.st = held
	at := s.cfg.Now().UTC().Truncate(time.Millisecond)
	s.seen.mark("k1", at)
	_, cancel, wait := serveSeen(t, s)
	select {
	case <-held.entered: // the periodic flush, seenFlushEvery after the start
	case <-time.After(30 * time.Second):
		t.Fatal("the last-seen times were never flushed")
	}
	// The hub shuts down while the flush is under way, which goes on only
	// once the hub's context has ended; the shutdown's flush waits for it.
	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- wait() }()
	held.release <- nil
	select {
	case <-held.entered: // the shutdown's flush
		held.release <- nil
	case err := <-stopped:
		t.Fatalf("ServeListener returned without flushing at shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	wantSeenStored(t, held.Store, at)
	noSeenWarning(t, logs)
}

// TestSlowShutdownFlushesSeen: a shutdown that waits its whole bound
// for a request to finish (here one whose body never comes) still writes
// the sightings of the kiosks it disconnected. The flush was given the
// shutdown's context, used up by then: it failed at once, warned, and the
// sightings were lost.
func TestSlowShutdownFlushesSeen(t *testing.T) {
	s, logs := seenHub(t)
	addr, cancel, wait := serveSeen(t, s)
	ca, err := os.ReadFile(filepath.Join(s.cfg.DataDir, certs.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("no hub CA certificate")
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A request whose body never comes. The hub's 100 Continue says its
	// handler is reading the body: the request is under way.
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", wire.EnrollPath); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("hub answered %q, %v; want 100 Continue", line, err)
	}

	cancel()
	at := s.cfg.Now().UTC().Truncate(time.Millisecond)
	s.seen.mark("k1", at) // a kiosk the shutdown disconnected
	if err := wait(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ServeListener = %v, want the shutdown to run out of time waiting for the request", err)
	}
	wantSeenStored(t, s.st, at)
	noSeenWarning(t, logs)
}
