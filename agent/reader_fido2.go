//go:build fido2

package agent

import (
	"context"
	"log/slog"
	"sync"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// fido2Reader is the kiosk's badge reader through libfido2: a PollReader
// over libfido2's device list (USB keys while plugged in, NFC cards while on
// a reader libfido2 can use), each presented device handed out as its own
// authenticator (FIDO2Options.Path), so the badge presented is the badge
// that signs. Listing NFC devices selects the FIDO applet on the card, so
// polls pause while an NFC card is in use; USB keys are listed without being
// opened, so polling goes on during a touch wait.
func fido2Reader(transports []string, log *slog.Logger) (Reader, error) {
	var busy sync.Mutex
	return NewPollReader(PollReaderConfig{
		List:       fido2Devices,
		Transports: transports,
		Busy:       &busy,
		Logger:     log,
		Badge:      func(d Device) Badge { return fido2Badge(d, &busy) },
	})
}

func fido2Devices() ([]Device, error) {
	devs, err := authenticator.FIDO2Devices()
	if err != nil {
		return nil, err
	}
	out := make([]Device, len(devs))
	for i, d := range devs {
		out[i] = Device{Path: d.Path, Transport: d.Transport}
	}
	return out, nil
}

// fido2Badge is the badge for device d: the key at d.Path, holding busy
// while an NFC card is in use.
func fido2Badge(d Device, busy *sync.Mutex) Badge {
	opts := fido2Options()
	opts.Path = d.Path
	var key authenticator.Authenticator = authenticator.NewFIDO2(opts)
	if d.Transport != TransportUSB {
		key = busyKey{key: key, busy: busy}
	}
	return Badge{ID: d.Path, Name: d.Path, Transport: d.Transport, Authenticator: key}
}

// busyKey holds busy during every operation on key.
type busyKey struct {
	key  authenticator.Authenticator
	busy *sync.Mutex
}

func (k busyKey) MakeCredential(ctx context.Context, req authenticator.CreateRequest) (authenticator.CreateResult, error) {
	k.busy.Lock()
	defer k.busy.Unlock()
	return k.key.MakeCredential(ctx, req)
}

func (k busyKey) GetAssertion(ctx context.Context, req authenticator.GetRequest) (authenticator.GetResult, error) {
	k.busy.Lock()
	defer k.busy.Unlock()
	return k.key.GetAssertion(ctx, req)
}
