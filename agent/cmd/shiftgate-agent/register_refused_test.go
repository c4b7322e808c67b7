package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A kiosk an admin disabled: register fails at once, not at --timeout,
// with exit status 3, device.refused on stdout and the refusal's hint on
// stderr.
func TestRegisterDeviceDisabled(t *testing.T) {
	k := newRegisterKiosk(t, "generic-x86")
	if r := k.hub.API(t, http.MethodPost, "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	start := time.Now()
	reg := k.register("2m")
	if code := reg.exit(t, 10*time.Second); code != exitDeviceRefused {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitDeviceRefused, reg.stderr.String())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("register took %s", took)
	}
	for _, want := range []string{
		"shiftgate-agent: the hub refused this kiosk's device certificate",
		"(device north-1): this kiosk's certificate was refused by the hub: it may have been disabled or deleted",
		"ask an admin, then enroll this kiosk again with shiftgate-agent enroll",
	} {
		if !strings.Contains(reg.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, reg.stderr.String())
		}
	}
	evs := reg.events(t)
	if len(evs) != 1 || evs[0]["event"] != "device.refused" || evs[0]["reason"] != "certificate_refused" || !strings.Contains(fmt.Sprint(evs[0]["hint"]), "disabled") {
		t.Errorf("events %v, want one device.refused certificate_refused with a hint", evs)
	}
}
