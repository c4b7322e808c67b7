package console

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestCeremonyShares: one client keeps only its newest
// maxClientCeremonies; a full table makes room from the client holding
// the most, never from a client with one prompt open, and drops expired
// ceremonies first; a ceremony works once and not after it expired.
func TestCeremonyShares(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cs := newCeremonies(func() time.Time { return now })
	put := func(client string) string {
		t.Helper()
		id, err := cs.put(client, &ceremony{})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	held := func(client string) int { return len(cs.byClient[client]) }

	var flood []string
	for range 3 * maxClientCeremonies {
		flood = append(flood, put("192.0.2.1"))
	}
	if n := held("192.0.2.1"); n != maxClientCeremonies || len(cs.m) != maxClientCeremonies {
		t.Fatalf("one client holds %d of %d ceremonies, want %d", n, len(cs.m), maxClientCeremonies)
	}
	if _, ok := cs.take(flood[0]); ok {
		t.Error("a client's oldest ceremony beyond its share still works")
	}
	if _, ok := cs.take(flood[len(flood)-1]); !ok {
		t.Error("a client's newest ceremony does not work")
	}

	// Hundreds of addresses, each with its share, twice over.
	lone := put("198.51.100.7")
	for i := range 2 * maxCeremonies {
		a := i / maxClientCeremonies
		put(fmt.Sprintf("10.0.%d.%d", a/250, a%250))
		if len(cs.m) > maxCeremonies {
			t.Fatalf("%d ceremonies held, want at most %d", len(cs.m), maxCeremonies)
		}
	}
	if len(cs.m) != maxCeremonies {
		t.Errorf("%d ceremonies held, want the table full (%d)", len(cs.m), maxCeremonies)
	}
	if _, ok := cs.take(lone); !ok {
		t.Error("a flood from many addresses pushed out a lone client's prompt")
	}

	// A full table drops the expired first; they do not work.
	old := put("203.0.113.9")
	now = now.Add(ceremonyTTL)
	fresh := put("203.0.113.10")
	if len(cs.m) != 1 {
		t.Errorf("after expiry %d ceremonies held, want 1", len(cs.m))
	}
	if _, ok := cs.take(old); ok {
		t.Error("an expired ceremony works")
	}
	if _, ok := cs.take(fresh); !ok {
		t.Error("a fresh ceremony does not work")
	}
	if _, ok := cs.take(fresh); ok {
		t.Error("a ceremony works twice")
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:4431", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:4431", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:4431", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:80", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		if got := clientKey(&http.Request{RemoteAddr: tc.addr}); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
