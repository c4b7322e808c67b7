package agent

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// Only the hub verifies a device certificate, on its own clock: a kiosk
// whose clock lags the hub's must still enroll and renew. These tests run a
// complete hub (hubtest) whose clock is kioskLag ahead of the kiosk's.
const kioskLag = 2 * time.Minute

// deviceCode creates a one-time enrollment code on h.
func deviceCode(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": "north-1", "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	return code
}

// enrollAt enrolls a kiosk whose clock reads kiosk with h and returns its
// state directory.
func enrollAt(t *testing.T, h *hubtest.Hub, kiosk Clock) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, CAFile),
		Code: deviceCode(t, h), StateDir: state, Profile: "generic-x86", Now: kiosk.Now}); err != nil {
		t.Fatalf("enroll with the kiosk clock %s behind the hub's: %v", h.Clock.Now().Sub(kiosk.Now()), err)
	}
	return state
}

// connectAt runs the hub client of the kiosk enrolled in state, on clock
// kiosk, until the test ends, and waits for the hub's welcome. (Not
// runClient: its goroutine count would include the hub's.)
func connectAt(t *testing.T, state string, kiosk Clock) *Client {
	t.Helper()
	var logs bytes.Buffer
	var logMu sync.Mutex
	t.Cleanup(func() { // after the client stopped
		if t.Failed() {
			logMu.Lock()
			t.Logf("client log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	log := slog.New(slog.NewTextHandler(syncWriter{&logMu, &logs}, nil))
	c, err := ClientFromStateDir(Config{StateDir: state, Clock: kiosk, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := newRecHandler("")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := recv(t, done, "Run to return"); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	recv(t, h.connected, "welcome")
	return c
}

func TestEnrollKioskClockBehindHub(t *testing.T) {
	start := time.Now()
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(start.Add(kioskLag))})
	kiosk := &fakeClock{now: start}

	state := enrollAt(t, h, kiosk)
	pair, err := loadKeyPair(state)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Leaf.NotBefore.After(kiosk.Now()) {
		t.Errorf("device certificate valid from %s, after the kiosk's clock %s", pair.Leaf.NotBefore, kiosk.Now())
	}
	connectAt(t, state, kiosk) // the hub accepts the certificate
}

func TestRenewKioskClockBehindHub(t *testing.T) {
	start := time.Now()
	hubClock := hubtest.NewClock(start)
	h := hubtest.Start(t, hubtest.Options{Clock: hubClock})
	kiosk := &fakeClock{now: start}
	state := enrollAt(t, h, kiosk) // the clocks agree
	old, err := loadKeyPair(state)
	if err != nil {
		t.Fatal(err)
	}

	// Twenty days later the certificate is due for renewal (two thirds of
	// its 30 days), and the kiosk's clock has fallen behind the hub's.
	kiosk.Advance(20 * 24 * time.Hour)
	hubClock.Advance(20*24*time.Hour + kioskLag)
	r, err := certs.NewRenewer(old)
	if err != nil {
		t.Fatal(err)
	}
	if !r.NeedsRenewal(kiosk.Now()) {
		t.Fatal("the enrolled certificate is not due for renewal yet")
	}
	c := connectAt(t, state, kiosk)

	deadline := time.Now().Add(waitLimit)
	for c.cfg.Renewer.Current().Leaf.Equal(old.Leaf) {
		if time.Now().After(deadline) {
			t.Fatalf("certificate not renewed with the kiosk clock %s behind the hub's", kioskLag)
		}
		time.Sleep(2 * time.Millisecond)
	}
	renewed := c.cfg.Renewer.Current().Leaf
	oldID, _ := certs.DeviceID(old.Leaf)
	if id, _ := certs.DeviceID(renewed); id != oldID {
		t.Errorf("renewed certificate for device %q, want %q", id, oldID)
	}
	if !renewed.NotAfter.After(old.Leaf.NotAfter) {
		t.Errorf("renewed certificate expires %s, not after the old one's %s", renewed.NotAfter, old.Leaf.NotAfter)
	}
	onDisk, err := loadKeyPair(state)
	if err != nil || !onDisk.Leaf.Equal(renewed) {
		t.Errorf("the certificate on disk is not the renewed one (%v)", err)
	}
}
