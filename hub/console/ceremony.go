package console

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// ceremonyTTL is how long a passkey prompt may stay open.
const ceremonyTTL = 3 * time.Minute

// Anyone may begin a sign-in, so the ceremonies in flight are bounded and
// shared out by client (clientKey) instead of first come, first served:
//
//   - a client holds at most maxClientCeremonies; its newest pushes out its
//     oldest (a person retrying gets a fresh prompt, a flood only replaces
//     its own);
//   - when maxCeremonies are in flight, the expired go first, then the
//     oldest ceremony of the client holding the most.
//
// Begin is never refused, and a client with k prompts open loses one only
// when the table is full and no client holds more than k, that is, when
// about maxCeremonies/k addresses flood at once: one address, or a few
// hundred, cannot lock the console's users out.
const (
	maxCeremonies       = 4096
	maxClientCeremonies = 16
)

// ceremony is a WebAuthn registration or login between begin and finish.
// It lives in memory: one hub process serves the console (a replicated hub
// would need it in the store).
type ceremony struct {
	session   webauthn.SessionData
	register  bool
	accountID string // registration only
	invite    []byte // registration only: the invite's hash
	client    string // clientKey of the request that began it
	expires   time.Time
}

// ceremonies holds the ceremonies in flight by ID, and their IDs per
// client, oldest first.
type ceremonies struct {
	now      func() time.Time
	mu       sync.Mutex
	m        map[string]*ceremony
	byClient map[string][]string
}

func newCeremonies(now func() time.Time) *ceremonies {
	return &ceremonies{now: now, m: map[string]*ceremony{}, byClient: map[string][]string{}}
}

// clientKey is whom a ceremony counts against: the remote IP address, or
// for IPv6 its /64, which one host or one network usually has to itself.
// The hub terminates TLS itself (kiosks need mutual TLS), so RemoteAddr
// is the client's.
func clientKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// put stores c, begun by client, and returns its ID, making room by the
// rules above.
func (cs *ceremonies) put(client string, c *ceremony) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	now := cs.now()
	c.client, c.expires = client, now.Add(ceremonyTTL)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if ids := cs.byClient[client]; len(ids) >= maxClientCeremonies {
		cs.drop(ids[0])
	}
	if len(cs.m) >= maxCeremonies {
		for k, v := range cs.m {
			if !now.Before(v.expires) {
				cs.drop(k)
			}
		}
	}
	if len(cs.m) >= maxCeremonies {
		cs.drop(cs.byClient[cs.busiest()][0])
	}
	cs.m[id] = c
	cs.byClient[client] = append(cs.byClient[client], id)
	return id, nil
}

// busiest returns the client holding the most ceremonies; of those, the
// one whose oldest began first. cs.mu is held and cs.m is not empty.
func (cs *ceremonies) busiest() string {
	var (
		key  string
		best []string
	)
	for k, ids := range cs.byClient {
		if best == nil || len(ids) > len(best) || len(ids) == len(best) && cs.m[ids[0]].expires.Before(cs.m[best[0]].expires) {
			key, best = k, ids
		}
	}
	return key
}

// drop removes the ceremony id; cs.mu is held.
func (cs *ceremonies) drop(id string) {
	c, ok := cs.m[id]
	if !ok {
		return
	}
	delete(cs.m, id)
	ids := cs.byClient[c.client]
	if i := slices.Index(ids, id); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(cs.byClient, c.client)
	} else {
		cs.byClient[c.client] = ids
	}
}

// take removes and returns a ceremony: each works once, whatever the
// outcome of its finish.
func (cs *ceremonies) take(id string) (*ceremony, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[id]
	if !ok {
		return nil, false
	}
	cs.drop(id)
	if !cs.now().Before(c.expires) {
		return nil, false
	}
	return c, true
}
