package agent

import (
	"math/rand/v2"
	"time"
)

// Reconnect backoff defaults.
const (
	DefaultBackoffBase = 250 * time.Millisecond
	DefaultBackoffCap  = 30 * time.Second
	// DefaultStableAfter is how long a connection must stay up for the
	// backoff to start again from Base.
	DefaultStableAfter = 30 * time.Second
)

// Backoff computes reconnect delays with exponential backoff and full
// jitter: the n-th consecutive delay (from 0) is uniform in
// [0, min(Cap, Base·2^n)). Full jitter spreads thousands of kiosks that lost
// the hub at the same moment over the whole window instead of having them
// retry in lockstep. The zero value uses the defaults. A Backoff is not safe
// for concurrent use.
type Backoff struct {
	Base, Cap time.Duration
	// Rand returns a number in [0, 1); nil means math/rand/v2.Float64.
	Rand func() float64

	attempt int
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	ceil := b.Ceiling()
	if b.attempt < 63 {
		b.attempt++
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	f := r()
	if f < 0 || f >= 1 {
		f = 0
	}
	return time.Duration(f * float64(ceil))
}

// Ceiling is the upper bound of the delay Next returns next.
func (b *Backoff) Ceiling() time.Duration {
	base, limit := b.Base, b.Cap
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if limit <= 0 {
		limit = DefaultBackoffCap
	}
	ceil := base
	for i := 0; i < b.attempt && ceil < limit; i++ {
		ceil *= 2
	}
	return min(ceil, limit)
}

// Reset starts again from Base, after a stable connection.
func (b *Backoff) Reset() { b.attempt = 0 }
