package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/enroll"
)

// TestEnrollGuardNet48AttackHTTP: an attacker holding an IPv6 /48 fills
// the guard's table with refused /64s of its own and goes on from new
// /64s. It gets no more wrong codes checked (its /48 is refused, 429), and
// new sites, over IPv4 or from another /48, still have their codes
// checked: a wrong one is 403, a right one enrolls. (Before /48s were
// merged, the attacker used up the limit new sources share and they got
// 429 too.)
func TestEnrollGuardNet48AttackHTTP(t *testing.T) {
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const max = 8
	s.enrollGuard.max = max
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "kiosk")
	if err != nil {
		t.Fatal(err)
	}
	post := func(remoteAddr, code string) int {
		t.Helper()
		b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
		req := httptest.NewRequest("POST", wire.EnrollPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	newCode := func(name string) string {
		t.Helper()
		code, err := enroll.NewCode(t.Context(), s.st, s.audit, "test", name, "north", "", s.cfg.Now())
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	const wrong = "0000-0000-0000-0000"

	// The table fills with the attacker's refused /64s.
	for i := range max {
		addr := fmt.Sprintf("[2001:db8:a:%x::1]:40000", i)
		for j := range 20 { // enrollFailLimit
			if status := post(addr, wrong); status != http.StatusForbidden {
				t.Fatalf("wrong code %d from %s: %d, want 403", j, addr, status)
			}
		}
		if status := post(addr, wrong); status != http.StatusTooManyRequests {
			t.Fatalf("wrong code 21 from %s: %d, want 429", addr, status)
		}
	}
	// It goes on from new /64s: as many wrong codes as the limit new
	// sources share, and more.
	checked := 0
	for i := range 2 * 20 {
		if post(fmt.Sprintf("[2001:db8:a:%x::1]:40000", 0x100+i), wrong) == http.StatusForbidden {
			checked++
		}
	}
	if checked != 0 {
		t.Errorf("after filling the table, %d wrong codes from new /64s of the attacker's /48 were checked, want none (its /48 refused)", checked)
	}

	// New sites elsewhere still try codes.
	for i, addr := range []string{"203.0.113.9:5000", "[::ffff:203.0.113.10]:5000", "[2001:db8:b:1::5]:5000"} {
		if status := post(addr, wrong); status != http.StatusForbidden {
			t.Errorf("a wrong code from %s, during the attack: %d, want 403", addr, status)
		}
		if status := post(addr, newCode(fmt.Sprintf("site-kiosk-%d", i))); status != http.StatusOK {
			t.Errorf("a good code from %s, during the attack: %d, want 200", addr, status)
		}
	}
}
