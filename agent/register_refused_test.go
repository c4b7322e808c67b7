package agent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestRegisterDeviceRefused: a hub that refuses the kiosk's device
// certificate (a disabled kiosk) makes Register fail at once — not at its
// timeout — with the *DeviceRefusedError and its hint, after emitting
// device.refused as the Agent does.
func TestRegisterDeviceRefused(t *testing.T) {
	pki := certstest.New(t)
	h := newRefusingHub(t, pki)
	h.refuse.Store(true)
	c := newTestClient(t, pki, h.url, nil, nil)
	start := time.Now()
	r := startRegister(t, RegisterConfig{
		StateDir: enrolledDir(t, "generic-x86"), Authenticators: softSource(t), Badge: "ana",
		Timeout: time.Minute, Hub: c,
	})
	_, err := r.wait(t)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Register took %s to give up, want at once (its timeout is a minute)", took)
	}
	var refused *DeviceRefusedError
	if !errors.As(err, &refused) || refused.Reason != RefusalCertificate {
		t.Fatalf("Register: %v, want a *DeviceRefusedError %s", err, RefusalCertificate)
	}
	for _, want := range []string{"the hub refused this kiosk's device certificate", "disabled or deleted", "shiftgate-agent enroll"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if errors.Is(err, ErrNotConnected) {
		t.Errorf("error %v is also ErrNotConnected", err)
	}
	ev := r.ev.expect(t, EventDeviceRefused)[0]
	if ev.Reason != RefusalCertificate || ev.Hint != refused.Hint() {
		t.Errorf("device.refused = %+v", ev)
	}
	r.ev.none(t)
	if n := h.refused.Load(); n != 1 {
		t.Errorf("%d handshakes refused, want 1: Register stops at the first refusal", n)
	}
}

func softSource(t *testing.T) AuthenticatorSource {
	t.Helper()
	src, err := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	if err != nil {
		t.Fatal(err)
	}
	return src
}
