//go:build fido2

package agent

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// Through the real libfido2 with no key or card present (as where this was
// written): the reader polls and reports nothing.
func TestFIDO2ReaderNoDevice(t *testing.T) {
	p, err := profiles.Get("thinclient-nfc")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReaderFor("fido2", p, nil)
	if err != nil {
		t.Fatalf("ReaderFor(fido2): %v", err)
	}
	pr, ok := r.(*PollReader)
	if !ok {
		t.Fatalf("ReaderFor(fido2) = %T, want *PollReader", r)
	}
	if got := pr.cfg.Transports; len(got) != 1 || got[0] != TransportNFC {
		t.Errorf("transports %q, want the profile's [nfc]", got)
	}
	pr.poll(func(ev ReaderEvent) { t.Errorf("reported %+v with no device present", ev) })
	if pr.failing {
		t.Error("listing devices failed")
	}
}

func TestFIDO2Badge(t *testing.T) {
	var busy sync.Mutex
	usb := fido2Badge(Device{Path: "/dev/hidraw3", Transport: TransportUSB}, &busy)
	if _, ok := usb.Authenticator.(*authenticator.FIDO2); !ok || usb.ID != "/dev/hidraw3" || usb.Transport != TransportUSB {
		t.Errorf("USB badge %+v (%T), want the key itself", usb, usb.Authenticator)
	}
	nfc := fido2Badge(Device{Path: "pcsc://slot0", Transport: TransportNFC}, &busy)
	if _, ok := nfc.Authenticator.(busyKey); !ok {
		t.Errorf("NFC badge authenticator %T, want one that holds the poll lock", nfc.Authenticator)
	}
	// The key is the presented device, not the first one listed: with none
	// listed, it is gone.
	_, err := usb.Authenticator.GetAssertion(t.Context(), authenticator.GetRequest{RPID: "shiftgate.example", ClientDataHash: make([]byte, 32)})
	if !errors.Is(err, authenticator.ErrNoDevice) {
		t.Errorf("GetAssertion with no device: %v, want ErrNoDevice", err)
	}
}

// lockCheck records whether busy was held during each operation.
type lockCheck struct {
	busy *sync.Mutex
	held []bool
}

func (l *lockCheck) check() {
	free := l.busy.TryLock()
	if free {
		l.busy.Unlock()
	}
	l.held = append(l.held, !free)
}

func (l *lockCheck) MakeCredential(context.Context, authenticator.CreateRequest) (authenticator.CreateResult, error) {
	l.check()
	return authenticator.CreateResult{}, nil
}

func (l *lockCheck) GetAssertion(context.Context, authenticator.GetRequest) (authenticator.GetResult, error) {
	l.check()
	return authenticator.GetResult{}, nil
}

func TestBusyKey(t *testing.T) {
	var busy sync.Mutex
	inner := &lockCheck{busy: &busy}
	k := busyKey{key: inner, busy: &busy}
	k.GetAssertion(t.Context(), authenticator.GetRequest{})
	k.MakeCredential(t.Context(), authenticator.CreateRequest{})
	if len(inner.held) != 2 || !inner.held[0] || !inner.held[1] {
		t.Errorf("lock held during operations: %v, want [true true]", inner.held)
	}
	if !busy.TryLock() {
		t.Error("lock still held after the operations")
	}
}
