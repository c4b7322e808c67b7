package authn

import (
	"context"
	"fmt"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// BenchmarkFinishLogin measures the hub's side of one login: parse and
// verify the assertion (the credential is read once, then remembered),
// then one transaction that writes the counter and reads the user, on the
// real SQLite store. The soft badge signs every assertion
// before the timer starts; each comes from its own kiosk so that none is
// evicted by the per-device cap.
func BenchmarkFinishLogin(b *testing.B) {
	e := newEnv(b)
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(e.user("ana"), badge)
	devices := make([]string, b.N)
	bodies := make([][]byte, b.N)
	for i := range b.N {
		devices[i] = fmt.Sprintf("kiosk-%d", i)
		bodies[i] = e.assert(devices[i], badge)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.rp.FinishLogin(ctx, devices[i], bodies[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeginLogin measures issuing a challenge.
func BenchmarkBeginLogin(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e.rp.BeginLogin(fmt.Sprintf("kiosk-%d", i%10000)); err != nil {
			b.Fatal(err)
		}
	}
}
