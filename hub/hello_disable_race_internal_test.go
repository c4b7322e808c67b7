package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// newHelloHub is a hub (not serving) with the active kiosks ids.
func newHelloHub(t *testing.T, ids ...string) *Server {
	t.Helper()
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	now := s.cfg.Now().UTC()
	err = s.st.InTx(ctx, func(tx store.Ops) error {
		for _, id := range ids {
			if _, err := tx.CreateDevice(ctx, store.Device{ID: id, Name: "kiosk-" + id, Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// channelCtx is the context of one new channel (push gives Admit and
// Hello the same one).
func channelCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx
}

var helloMsg = wire.Hello{AgentVersion: "test", Profile: "generic-x86"}

// TestHelloAfterDisableIsRefused: a kiosk disabled between its channel's
// admission and its Hello is refused, although Admit found it active:
// Hello checks the kiosk's record again.
func TestHelloAfterDisableIsRefused(t *testing.T) {
	s := newHelloHub(t, "k1")
	ctx := channelCtx(t)
	if err := s.channel.Admit(ctx, "k1", helloMsg); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if err := s.disableDevice(t.Context(), lifecycle.Actor{Name: "token:admin", System: "api"}, "k1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.channel.Hello(ctx, "k1", helloMsg)
	if se := (*push.SafeError)(nil); !errors.As(err, &se) || se.Code != wire.ErrState {
		t.Errorf("hello of a kiosk disabled after its admission: %v, want a %s refusal", err, wire.ErrState)
	}
}

// TestHelloRacingDisable: hellos of channels admitted while the kiosk
// was active, said while it is being disabled: every one said once the
// disable has returned is refused, whatever Admit found.
func TestHelloRacingDisable(t *testing.T) {
	const channels = 200
	s := newHelloHub(t, "k1")
	ctxs := make([]context.Context, channels)
	for i := range ctxs {
		ctxs[i] = channelCtx(t)
		if err := s.channel.Admit(ctxs[i], "k1", helloMsg); err != nil {
			t.Fatalf("admit: %v", err)
		}
	}
	var disabled atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(time.Millisecond)
		if err := s.disableDevice(t.Context(), lifecycle.Actor{Name: "token:admin", System: "api"}, "k1"); err != nil {
			t.Error(err)
		}
		disabled.Store(true)
	})
	welcomedAfter := 0
	for i, ctx := range ctxs {
		if i == channels/2 {
			wg.Wait() // the second half after the disable, whatever the first raced
		}
		after := disabled.Load()
		if _, err := s.channel.Hello(ctx, "k1", helloMsg); err == nil && after {
			welcomedAfter++
		}
	}
	wg.Wait()
	if welcomedAfter > 0 {
		t.Errorf("%d hellos welcomed after the kiosk's disable had returned, want none", welcomedAfter)
	}
}

// busyDevices is a store whose device reads fail as a database locked by
// another process does.
type busyDevices struct{ store.Store }

func (busyDevices) GetDevice(context.Context, string) (store.Device, error) {
	return store.Device{}, store.ErrBusy
}

// TestHelloStoreFailureIsNotUnenrolled: a hello whose device read fails
// (the store busy) is refused as the hub's failure, which the agent
// retries, not as "this kiosk is not enrolled", which is false and sends
// an operator after the wrong problem.
func TestHelloStoreFailureIsNotUnenrolled(t *testing.T) {
	s := newHelloHub(t, "k1")
	s.st = busyDevices{s.st}
	ctx := channelCtx(t)
	for name, err := range map[string]error{
		"admit": s.channel.Admit(ctx, "k1", helloMsg),
		"hello": func() error { _, err := s.channel.Hello(ctx, "k1", helloMsg); return err }(),
	} {
		if se := (*push.SafeError)(nil); err == nil || errors.As(err, &se) {
			t.Errorf("%s with the store busy: %v, want an internal error", name, err)
		}
		if !errors.Is(err, store.ErrBusy) {
			t.Errorf("%s with the store busy: %v, want it to wrap store.ErrBusy", name, err)
		}
	}
	s.st = s.st.(busyDevices).Store
	if err := s.channel.Admit(ctx, "nobody", helloMsg); !strings.Contains(fmt.Sprint(err), "not enrolled") {
		t.Errorf("admit of an unknown kiosk: %v, want not enrolled", err)
	}
}
