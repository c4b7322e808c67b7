package hub

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed kiosk enrollments. POST /enroll needs no credential but a code,
// and codes carry 80 random bits and live 15 minutes, so guessing one is
// hopeless; but every attempt is a write transaction on the hub's one
// writer (the code is used in the same transaction that enrolls), and a
// flood of wrong codes would queue logins and revocations behind it. So a
// source address that sent enrollFailLimit wrong codes within
// enrollFailWindow gets 429 until the window ends, before anything is
// read or written. Successful enrollments never count: 10,000 kiosks may
// enroll from behind one address. Kiosks reach the hub directly (mTLS
// ends at the hub), so the address is the kiosk's or its site's NAT; an
// IPv6 source is its /64 (guardKey).
const (
	enrollFailLimit  = 20
	enrollFailWindow = 10 * time.Minute
	// enrollGuardMax bounds the addresses remembered; when it is
	// reached, those whose window ended are forgotten, and if none has,
	// a new address is not tracked (it is refused nothing).
	enrollGuardMax = 10000
)

type enrollGuard struct {
	mu    sync.Mutex
	fails map[string]enrollFails
}

type enrollFails struct {
	n     int
	since time.Time // start of the window
}

func newEnrollGuard() *enrollGuard { return &enrollGuard{fails: map[string]enrollFails{}} }

// guardKey is the source a failure from addr counts against: the address
// itself for IPv4 (an IPv4-mapped IPv6 address is its IPv4 one), and its
// /64 for IPv6. A single IPv6 host is routinely given a whole /64 (SLAAC
// privacy addresses rotate within it, and a hosting provider hands one
// out per machine), so counting per address would give one attacker
// 2^64 fresh budgets, and let it fill the table with addresses of its
// own, after which nothing new is tracked at all. What does not parse
// (a test's RemoteAddr) counts as itself.
func guardKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// blocked returns how long addr must wait before its next attempt, or 0.
func (g *enrollGuard) blocked(addr string, now time.Time) time.Duration {
	addr = guardKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.fails[addr]
	if !ok {
		return 0
	}
	end := f.since.Add(enrollFailWindow)
	if !now.Before(end) || now.Before(f.since) {
		delete(g.fails, addr)
		return 0
	}
	if f.n < enrollFailLimit {
		return 0
	}
	return end.Sub(now)
}

// failed counts a wrong code from addr.
func (g *enrollGuard) failed(addr string, now time.Time) {
	addr = guardKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.fails[addr]
	if ok && (!now.Before(f.since.Add(enrollFailWindow)) || now.Before(f.since)) {
		ok = false
	}
	if !ok {
		if len(g.fails) >= enrollGuardMax {
			for a, e := range g.fails {
				if !now.Before(e.since.Add(enrollFailWindow)) {
					delete(g.fails, a)
				}
			}
			if len(g.fails) >= enrollGuardMax {
				return
			}
		}
		f = enrollFails{since: now}
	}
	f.n++
	g.fails[addr] = f
}

// sourceAddr is the IP address a request came from.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
