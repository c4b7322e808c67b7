package hub

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// pausedDeviceRead is a store whose first device read, once it has read
// the record, waits for resume: the read of a hello whose kiosk is
// disabled before the hello stores what it read.
type pausedDeviceRead struct {
	store.Store
	once         sync.Once
	read, resume chan struct{}
}

func (p *pausedDeviceRead) GetDevice(ctx context.Context, id string) (store.Device, error) {
	d, err := p.Store.GetDevice(ctx, id)
	p.once.Do(func() {
		close(p.read)
		<-p.resume
	})
	return d, err
}

// TestDeviceCacheRacingDisableOpensNoSession: the channel keeps each
// connected kiosk's record (channel.devices) for its logins. A hello that
// read the record before a disable committed stores it after the disable
// has dropped the kiosk's entry, so the cache says active until the cut-off
// closes the channel. That record decides nothing a disable must stop: the
// session a login opens is inserted only for an active kiosk, checked by
// the insert itself, so a login in that window is refused as one racing
// the disable.
func TestDeviceCacheRacingDisableOpensNoSession(t *testing.T) {
	s := newHelloHub(t, "k1")
	ctx := t.Context()
	now := s.cfg.Now().UTC()
	if _, err := s.st.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", Active: true, State: store.UserActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	paused := &pausedDeviceRead{Store: s.st, read: make(chan struct{}), resume: make(chan struct{})}
	s.st = paused

	chCtx := channelCtx(t)
	hello := make(chan error, 1)
	go func() {
		_, err := s.channel.Hello(chCtx, "k1", helloMsg)
		hello <- err
	}()
	<-paused.read // the hello has read the kiosk's record, active
	if err := s.disableDevice(ctx, lifecycle.Actor{Name: "token:admin", System: "api"}, "k1"); err != nil {
		t.Fatal(err)
	}
	close(paused.resume)
	if err := <-hello; err != nil {
		t.Fatalf("hello that read the record before the disable: %v", err)
	}

	d, err := s.channel.device(chCtx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the record a login reads after the race says active: %v", d.State == store.DeviceActive)
	sess := store.Session{ID: "s1", UserID: "u1", DeviceID: "k1", Role: "Picker", Started: now, Expires: now.Add(time.Hour)}
	if _, err := s.engine.StartSession(ctx, deviceActor("k1"), sess, nil); !errors.Is(err, lifecycle.ErrDeviceDisabled) {
		t.Errorf("a session started on the kiosk after its disable: %v, want %v", err, lifecycle.ErrDeviceDisabled)
	}
	live, err := s.st.ListSessions(ctx, store.SessionQuery{DeviceID: "k1", LiveOnly: true})
	if err != nil || len(live) != 0 {
		t.Errorf("live sessions on the disabled kiosk: %+v, %v; want none", live, err)
	}
}
