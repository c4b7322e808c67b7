package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	// Three refused /64s fill it: fewer wrong codes than the /48's own
	// limit (enrollNet48Limit, 80), so it is the full table that merges
	// them (TestEnrollGuardNet48LimitHTTP attacks a table with room).
	const max = 3
	s.enrollGuard.max = max
	send := enrollPoster(t, s)
	post := func(remoteAddr, code string) int { return send(remoteAddr, code).Code }
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

// TestEnrollGuardNet48LimitHTTP: an attacker holding an IPv6 /48 sends
// 20 wrong codes from each of 500 /64s, with the table far from full. It
// gets enrollNet48Limit (80) of them checked (403), not 10,000; the rest
// are refused (429). The window over, it gets as many again, no more.
// Meanwhile a site elsewhere still has its codes checked. (Before the /48
// had a limit of its own, every one of the 10,000 was checked: a write
// transaction each on the hub's one writer.)
func TestEnrollGuardNet48LimitHTTP(t *testing.T) {
	now := guardT0
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	send := enrollPoster(t, s)
	post := func(remoteAddr, code string) int { return send(remoteAddr, code).Code }
	const wrong = "0000-0000-0000-0000"
	// attack sends perNet wrong codes from each of nets /64s of the
	// attacker's /48, starting at the /64 first, and counts the answers.
	attack := func(first, nets, perNet int) map[int]int {
		got := map[int]int{}
		for i := range nets {
			addr := fmt.Sprintf("[2001:db8:a:%x::1]:40000", first+i)
			for range perNet {
				got[post(addr, wrong)]++
			}
		}
		return got
	}

	got := attack(0, 500, enrollFailLimit)
	if got[http.StatusForbidden] != enrollNet48Limit || got[http.StatusTooManyRequests] != 500*enrollFailLimit-enrollNet48Limit {
		t.Errorf("500 /64s of one /48 × %d wrong codes: %v (status → count), want %d × 403 and the rest 429", enrollFailLimit, got, enrollNet48Limit)
	}
	// The refusal names what the address counts against: its /48.
	if rec, want := send("[2001:db8:a:ffff::7]:40000", wrong), "from 2001:db8:a::/48 (which 2001:db8:a:ffff::7 is in)"; rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("a new /64 of the refused /48: %d %s, want 429 saying %q", rec.Code, rec.Body, want)
	}
	if n := len(s.enrollGuard.sources); n != 1 {
		t.Errorf("%d sources tracked, want the /48 alone", n)
	}
	code, err := enroll.NewCode(t.Context(), s.st, s.audit, "test", "site-kiosk", "north", "", s.cfg.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status := post("[2001:db8:b:1::5]:5000", wrong); status != http.StatusForbidden {
		t.Errorf("a wrong code from another /48, during the attack: %d, want 403", status)
	}
	if status := post("203.0.113.9:5000", code); status != http.StatusOK {
		t.Errorf("a good code from elsewhere, during the attack: %d, want 200", status)
	}

	// The hub's clock stood at guardT0: a window later the /48 starts
	// afresh, with the same limit.
	now = guardT0.Add(enrollFailWindow)
	got = attack(0x1000, 100, enrollFailLimit)
	if got[http.StatusForbidden] != enrollNet48Limit {
		t.Errorf("the next window, 100 /64s × %d wrong codes: %v (status → count), want %d × 403", enrollFailLimit, got, enrollNet48Limit)
	}
}

// enrollPoster returns a function that sends s an enrollment request with
// code, as from remoteAddr, with a fresh kiosk key's CSR, and returns the
// answer.
func enrollPoster(t *testing.T, s *Server) func(remoteAddr, code string) *httptest.ResponseRecorder {
	t.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "kiosk")
	if err != nil {
		t.Fatal(err)
	}
	return func(remoteAddr, code string) *httptest.ResponseRecorder {
		t.Helper()
		b, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: "generic-x86"})
		req := httptest.NewRequest("POST", wire.EnrollPath, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = remoteAddr
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
}
