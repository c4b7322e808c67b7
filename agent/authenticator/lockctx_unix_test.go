//go:build unix

package authenticator

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestBadgeLockWaitEndsWithContext: while another process holds the badge directory's lock (a
// kiosk sharing the soft:DIR that is stuck: stopped, or on a hung disk), a tap's assertion and
// registration wait only until the tap's context ends, and fail with its error; once the lock
// is free they work.
func TestBadgeLockWaitEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	hash := make([]byte, 32)
	badge := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true})
	if _, err := badge.MakeCredential(t.Context(), CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}

	// flock locks belong to the open file description: this one conflicts with lockDir's as
	// another process's would.
	holder, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	for _, op := range []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"assertion", func(ctx context.Context) error {
			_, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash})
			return err
		}},
		{"registration", func(ctx context.Context) error {
			_, err := badge.MakeCredential(ctx, CreateRequest{RPID: "other.example", ClientDataHash: hash, UserHandle: []byte("v"), ResidentKey: true})
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- op.run(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with the lock held: %v, want the context's deadline", op.name, err)
			}
		case <-time.After(10 * time.Second):
			// Not a speed check: without the context the wait never ends. Free the lock so
			// that the goroutine can finish.
			holder.Close()
			<-done
			cancel()
			t.Fatalf("%s still waits for the lock after its context ended", op.name)
		}
		cancel()
	}

	holder.Close()
	if _, err := badge.GetAssertion(t.Context(), GetRequest{RPID: testRPID, ClientDataHash: hash}); err != nil {
		t.Errorf("assertion once the lock is free: %v", err)
	}
}
