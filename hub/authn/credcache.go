package authn

import (
	"sync"

	"github.com/shiftgate/shiftgate/hub/store"
)

// credCache remembers active credentials as this RP's logins last wrote
// them, so that the next login with one does not read it from the store
// before the signature check. A remembered copy may be stale (revoked or
// suspended by another path since, its counter moved on); that is safe
// because it only decides which key checks the signature (a credential's
// key never changes): the login's transaction records the use with a
// compare-and-set on the state and counter the login saw
// (store.RecordCredentialUse), and when that finds the credential changed
// it reads it again and checks it in full. A counter regression found on
// a remembered copy is likewise decided on the credential read again, so
// that a copy of a key revoked since suspends nothing (and ends none of
// its owner's sessions). A stale copy costs a wasted signature check,
// never a wrong answer. Only active credentials are
// remembered, so a credential made active again (reinstated) is never
// refused on a stale copy.
type credCache struct {
	mu sync.Mutex
	m  map[string]store.Credential
}

// credCacheMax bounds the cache: a hub's badges, with room to spare. When
// it is full, an arbitrary tenth is dropped (Go's map order is random).
const credCacheMax = 1 << 17

func (c *credCache) get(id []byte) (store.Credential, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cred, ok := c.m[string(id)]
	return cred, ok
}

func (c *credCache) put(cred store.Credential) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]store.Credential{}
	}
	if _, ok := c.m[string(cred.ID)]; !ok && len(c.m) >= credCacheMax {
		n := credCacheMax / 10
		for k := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
	c.m[string(cred.ID)] = cred
}

func (c *credCache) forget(id []byte) {
	c.mu.Lock()
	delete(c.m, string(id))
	c.mu.Unlock()
}
