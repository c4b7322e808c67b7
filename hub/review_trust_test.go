package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestEnrollmentGuessesLimitedPerIPv6Prefix: wrong enrollment codes count
// against the sender's /64, not its exact IPv6 address, since one host
// has a whole /64 to send from; and an IPv4-mapped IPv6 address counts
// as its IPv4 address. Another /64 or another IPv4 address is not held
// up.
func TestEnrollmentGuessesLimitedPerIPv6Prefix(t *testing.T) {
	const limit = 20 // hub.enrollFailLimit
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "kiosk")
	if err != nil {
		t.Fatal(err)
	}
	newCode := func(name string) string {
		t.Helper()
		r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": "north"})
		if r.Status != http.StatusCreated {
			t.Fatalf("code: %d %s", r.Status, r.Body)
		}
		return r.JSON()["code"].(string)
	}
	// enroll posts to the hub's handler as if from remoteAddr.
	enroll := func(remoteAddr, code string) int {
		t.Helper()
		b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
		req := httptest.NewRequest("POST", wire.EnrollPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		h.Handler().ServeHTTP(rec, req)
		return rec.Code
	}

	tests := []struct {
		name      string
		guessFrom func(i int) string // the i-th wrong code's source
		then      string             // a good code from here: 429
		elsewhere string             // and from here: 200
	}{
		{
			name:      "IPv6 addresses of one /64",
			guessFrom: func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:40000", i+1) },
			then:      "[2001:db8:1:2:ffff:ffff:ffff:ffff]:40000",
			elsewhere: "[2001:db8:1:3::1]:40000",
		},
		{
			name: "IPv4 and IPv4-mapped",
			guessFrom: func(i int) string {
				if i%2 == 0 {
					return "192.0.2.7:40000"
				}
				return "[::ffff:192.0.2.7]:40000"
			},
			then:      "[::ffff:192.0.2.7]:40001",
			elsewhere: "192.0.2.8:40000",
		},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range limit {
				if got := enroll(tt.guessFrom(i), "0000-0000-0000-0000"); got != http.StatusForbidden {
					t.Fatalf("wrong code %d from %s: %d, want 403", i, tt.guessFrom(i), got)
				}
			}
			if got := enroll(tt.then, newCode(fmt.Sprintf("blocked-%d", n))); got != http.StatusTooManyRequests {
				t.Errorf("after %d wrong codes from the same source, from %s: %d, want 429", limit, tt.then, got)
			}
			if got := enroll(tt.elsewhere, newCode(fmt.Sprintf("elsewhere-%d", n))); got != http.StatusOK {
				t.Errorf("a good code from %s: %d, want 200", tt.elsewhere, got)
			}
		})
	}
}
