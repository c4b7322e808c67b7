package authn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// Login challenges are self-describing, so that a challenge that is no
// longer outstanding can still be told apart as expired, already used or
// never issued, without remembering every challenge ever issued:
//
//	challenge = nonce (16 random bytes) ‖ issued (8 bytes, Unix ns, big endian) ‖ mac (16 bytes)
//	mac       = HMAC-SHA256(key, nonce ‖ issued), truncated
//
// key is random per RP, so challenges issued before a restart read as
// "not issued by this hub". The MAC only serves diagnostics: whether a
// challenge may be redeemed is decided by the outstanding set alone.
const (
	nonceLen     = 16
	macLen       = 16
	challengeLen = nonceLen + 8 + macLen
	// maxEvicted caps the record of evicted challenges, which only serves
	// error messages.
	maxEvicted = 4096
)

func newChallengeKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create challenge key: %w", err)
	}
	return key, nil
}

func (rp *RP) challengeMAC(b []byte) []byte {
	m := hmac.New(sha256.New, rp.chKey)
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

// newChallenge returns a fresh challenge issued at now.
func (rp *RP) newChallenge(now time.Time) []byte {
	b := make([]byte, challengeLen)
	_, _ = rand.Read(b[:nonceLen]) // never fails
	binary.BigEndian.PutUint64(b[nonceLen:], uint64(now.UnixNano()))
	copy(b[nonceLen+8:], rp.challengeMAC(b[:nonceLen+8]))
	return b
}

// issuedAt reports when this RP issued the challenge (base64url), or false
// if it did not issue it.
func (rp *RP) issuedAt(challenge string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil || len(b) != challengeLen {
		return time.Time{}, false
	}
	if !hmac.Equal(b[nonceLen+8:], rp.challengeMAC(b[:nonceLen+8])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[nonceLen:]))).UTC(), true
}

// missingChallengeError explains why a challenge is not outstanding.
// rp.mu must be held.
func (rp *RP) missingChallengeErrorLocked(challenge string, now time.Time) error {
	if _, ok := rp.evicted[challenge]; ok {
		return fmt.Errorf("%w: challenge was evicted (its device fetched more than %d)", ErrChallenge, MaxOutstandingChallenges)
	}
	issued, ok := rp.issuedAt(challenge)
	switch {
	case !ok:
		return fmt.Errorf("%w: challenge was not issued by this hub (forged, or issued before a restart)", ErrChallenge)
	case !now.Before(issued.Add(rp.ttl)):
		return fmt.Errorf("%w: challenge expired at %s", ErrChallenge, issued.Add(rp.ttl).Format(time.RFC3339Nano))
	}
	return fmt.Errorf("%w: challenge already used (replay)", ErrChallenge)
}
