package authenticator

import (
	"sync"
	"testing"
)

// TestSharedBadgeFile: kiosks that share a soft:DIR (the demo's agents do) each open the badge
// file with their own Soft, as the agent does for every tap. Concurrent taps and registrations
// through separate Softs must not lose updates: a lost counter write makes a later assertion
// repeat a counter (the hub suspends the badge as cloned), and a lost registration leaves the
// hub with a credential the badge no longer holds.
func TestSharedBadgeFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	hash := make([]byte, 32)
	first := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true})
	if _, err := first.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}

	const kiosks, taps = 4, 25
	counters := make(chan uint32, kiosks*taps)
	var wg sync.WaitGroup
	for range kiosks {
		wg.Go(func() {
			for range taps {
				badge := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true}) // a fresh Soft per tap
				n, ok := assertedCounter(t, badge, hash)
				if !ok {
					return
				}
				counters <- n
			}
		})
	}
	const regs = 10
	for i := range regs {
		wg.Go(func() {
			badge := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true})
			req := CreateRequest{RPID: "other.example", ClientDataHash: hash, UserHandle: []byte{byte(i + 1)}, ResidentKey: true}
			if _, err := badge.MakeCredential(ctx, req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(counters)

	seen := map[uint32]bool{}
	for c := range counters {
		if seen[c] {
			t.Errorf("counter %d signed twice: the hub would suspend the badge as cloned", c)
		}
		seen[c] = true
	}
	b, err := readBadge(first.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Credentials); got != 1+regs {
		t.Errorf("badge holds %d credentials after %d registrations, want %d: registrations were lost", got, 1+regs, 1+regs)
	}
	if got := b.Credentials[0].SignCount; got != kiosks*taps {
		t.Errorf("file signCount = %d after %d taps", got, kiosks*taps)
	}
}
