//go:build fido2

package authenticator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keys-pub/go-libfido2"
)

// This file is the hardware backend, built only with the fido2 build tag because it needs cgo
// and libfido2 (Debian: libfido2-dev). fido2_ctap.go holds its pure parts: request → libfido2
// option mapping, error mapping and the decoding of libfido2's output.

// ErrNoDevice means libfido2 found no FIDO2 device: no security key on USB and no NFC reader
// (with a card) that libfido2 can reach.
var ErrNoDevice = errors.New("no FIDO2 device found: plug in a security key or check the reader")

// FIDO2Options configures a FIDO2 hardware authenticator.
type FIDO2Options struct {
	// PIN supplies the security key's PIN when user verification needs one: the key has a PIN
	// set, no built-in verification (fingerprint) is configured, and the relying party requires
	// or prefers verification (or the key demands it to create a credential). It is called at
	// most once per operation, with the operation's context, before the key is asked to sign.
	//
	// Nil, or an empty PIN returned, means no PIN is available: UVRequired requests then fail
	// with ErrUVUnavailable, and UVPreferred logins go on with user presence only. An error
	// (e.g. the user dismissed a prompt) ends the operation with that error.
	//
	// A wrong PIN costs one of the key's PIN retries (eight in all, three per power cycle);
	// a key whose retries are exhausted must be reset, losing its credentials, so a PIN
	// source must not guess.
	PIN func(ctx context.Context) (string, error)
	// Path, if set, is the device to use, a path as FIDO2Devices lists it (a badge reader
	// hands out the device that was presented); an operation fails with ErrNoDevice while it is
	// not listed. Empty: the first device libfido2 lists.
	Path string
}

// FIDO2Device is a FIDO2 device libfido2 lists: a USB key plugged in, or an NFC card on a
// reader libfido2 can use (the card is listed only while it is on the reader).
type FIDO2Device struct {
	// Path is libfido2's name for the device (/dev/hidraw3, nfc:/sys/…, pcsc://slot0). For NFC
	// it names the reader, so every card on that reader has the same path.
	Path string
	// Transport is "usb" or "nfc" (the WebAuthn transport names).
	Transport string
}

// FIDO2Devices lists the FIDO2 devices present, in libfido2's order (fido_dev_info_manifest).
// Listing opens each candidate briefly (for NFC it selects the FIDO applet on the card), so
// callers polling it must not do so while an NFC operation is running.
func FIDO2Devices() ([]FIDO2Device, error) {
	paths, err := deviceLocations()
	if err != nil {
		return nil, fmt.Errorf("list FIDO2 devices: %w", err)
	}
	devs := make([]FIDO2Device, 0, len(paths))
	for _, p := range paths {
		devs = append(devs, FIDO2Device{Path: p, Transport: transportsForPath(p)[0]})
	}
	return devs, nil
}

// StaticPIN returns a FIDO2Options.PIN that always answers pin. It suits a fleet of kiosk
// badges that share one PIN; per-user PINs need a prompt instead.
func StaticPIN(pin string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return pin, nil }
}

// fido2Device is what FIDO2 uses of *libfido2.Device: each method opens the device, runs one
// CTAP command and closes it again; Cancel interrupts a command waiting for the user.
type fido2Device interface {
	Info() (*libfido2.DeviceInfo, error)
	MakeCredential(clientDataHash []byte, rp libfido2.RelyingParty, user libfido2.User, typ libfido2.CredentialType, pin string, opts *libfido2.MakeCredentialOpts) (*libfido2.Attestation, error)
	Assertion(rpID string, clientDataHash []byte, credentialIDs [][]byte, pin string, opts *libfido2.AssertionOpts) (*libfido2.Assertion, error)
	RetryCount() (int, error)
	Cancel() error
}

// FIDO2 is a hardware FIDO2 authenticator reached through libfido2 over CTAP2: a USB security
// key, or an NFC card on a reader, whichever libfido2's device list (fido_dev_info_manifest)
// names first, or the one FIDO2Options.Path names. The device is looked up again for every operation and is open only while that
// operation runs, so keys can be swapped between taps.
//
// Credentials are ES256 only, as the WebAuthn client (Register) accepts no other COSE key. The
// attestation object is rebuilt from libfido2's parts for the "packed", "fido-u2f" and "none"
// formats, the ones security keys use; other formats fail. libfido2 1.12 returns only the
// first certificate of x5c, and not the attestation statement's alg, which is taken to be
// ES256 (what every packed-attesting key in the FIDO metadata service uses for its
// attestation key).
//
// The exclude list is checked before the credential is created by a silent assertion
// (user presence off) with the excluded IDs as allow list, as browsers do for U2F keys,
// because the go-libfido2 binding cannot pass an exclude list to makeCredential. A credential
// protected with credProtect level 3 (UV required) is not found that way.
//
// FIDO2 is safe for concurrent use, but a key serves one operation at a time: a second
// concurrent operation fails while the first holds the device.
type FIDO2 struct {
	opts FIDO2Options
	// locate returns the paths of the FIDO2 devices present, in libfido2's order.
	locate func() ([]string, error)
	// open returns the device at path; it does not touch the device yet.
	open func(path string) (fido2Device, error)
	// cancelGrace is how long an operation whose context is done waits for the key to
	// acknowledge the cancellation before returning anyway.
	cancelGrace time.Duration
}

var _ Authenticator = (*FIDO2)(nil)

// NewFIDO2 returns the hardware authenticator. It does not look for a device: that happens on
// each operation, which fails with ErrNoDevice when there is none.
func NewFIDO2(opts FIDO2Options) *FIDO2 {
	return &FIDO2{
		opts:        opts,
		locate:      deviceLocations,
		open:        func(path string) (fido2Device, error) { return libfido2.NewDevice(path) },
		cancelGrace: 2 * time.Second,
	}
}

func deviceLocations() ([]string, error) {
	locs, err := libfido2.DeviceLocations()
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(locs))
	for _, l := range locs {
		if l != nil && l.Path != "" {
			paths = append(paths, l.Path)
		}
	}
	return paths, nil
}

// device opens the first device present and reads its capabilities (authenticatorGetInfo).
func (f *FIDO2) device() (string, fido2Device, deviceCaps, error) {
	paths, err := f.locate()
	if err != nil {
		return "", nil, deviceCaps{}, fmt.Errorf("list FIDO2 devices: %w", err)
	}
	if len(paths) == 0 {
		return "", nil, deviceCaps{}, ErrNoDevice
	}
	path := paths[0]
	if f.opts.Path != "" {
		if !slices.Contains(paths, f.opts.Path) {
			return "", nil, deviceCaps{}, fmt.Errorf("%w: %s is gone", ErrNoDevice, f.opts.Path)
		}
		path = f.opts.Path
	}
	dev, err := f.open(path)
	if err != nil {
		return "", nil, deviceCaps{}, fmt.Errorf("open FIDO2 device %s: %w", path, err)
	}
	info, err := dev.Info()
	switch {
	case errors.Is(err, libfido2.ErrNotFIDO2):
		return path, dev, deviceCaps{}, nil // U2F only: libfido2 falls back to U2F commands
	case err != nil:
		return "", nil, deviceCaps{}, fmt.Errorf("get info of FIDO2 device %s: %w", path, mapFIDO2Error(err))
	}
	return path, dev, capsFromInfo(info), nil
}

// noPIN says why a key that needs its PIN got none.
const noPIN = "the key needs its PIN and none was supplied (or a wrong one was entered on it since its last right one: the shared PIN is not tried again until the key's owner enters theirs)"

// fullPINRetries is a CTAP2 key's PIN retry counter when no wrong PIN was entered since the
// last right one (which resets it).
const fullPINRetries = 8

// pin asks the PIN source when the plan needs a PIN; "" means none is available. A PIN source
// answers for every key presented, so a key whose retry counter is below full, which was given
// a wrong PIN since its last right one, is not given one again: a key set up with another PIN
// loses one retry to a shared PIN, not all eight (a blocked key must be reset, losing its
// credentials). A counter that cannot be read is no reason to withhold the PIN.
func (f *FIDO2) pin(ctx context.Context, dev fido2Device, need bool) (string, error) {
	if !need || f.opts.PIN == nil {
		return "", nil
	}
	if n, err := dev.RetryCount(); err == nil && n < fullPINRetries {
		return "", nil
	}
	pin, err := f.opts.PIN(ctx)
	if err != nil {
		return "", fmt.Errorf("get PIN: %w", err)
	}
	return pin, nil
}

// MakeCredential implements Authenticator: authenticatorMakeCredential on the first device
// present, ES256, with req.ResidentKey as the rk option (see planCreate; a key that cannot
// store a required discoverable credential fails with ErrResidentKeyUnsupported, one that has
// no room left with ErrKeyStoreFull) and user verification planned from the key's
// capabilities (see planUV).
func (f *FIDO2) MakeCredential(ctx context.Context, req CreateRequest) (CreateResult, error) {
	if err := ctx.Err(); err != nil {
		return CreateResult{}, err
	}
	if err := checkCreate(req); err != nil {
		return CreateResult{}, err
	}
	typ, err := credentialType(req.Algorithms)
	if err != nil {
		return CreateResult{}, err
	}
	path, dev, caps, err := f.device()
	if err != nil {
		return CreateResult{}, err
	}
	plan, err := planCreate(caps, req)
	if err != nil {
		return CreateResult{}, fmt.Errorf("make credential on %s: %w", path, err)
	}
	pin, err := f.pin(ctx, dev, plan.needPIN)
	if err != nil {
		return CreateResult{}, err
	}
	if plan.needPIN && pin == "" && req.UserVerification == UVRequired {
		return CreateResult{}, fmt.Errorf("make credential on %s: %w: %s", path, ErrUVUnavailable, noPIN)
	}

	if len(req.ExcludeCredentialIDs) > 0 {
		err := f.run(ctx, dev, func() error {
			_, err := dev.Assertion(req.RPID, req.ClientDataHash, req.ExcludeCredentialIDs, "", excludeProbeOptions())
			return err
		})
		if ctxErr := ctx.Err(); ctxErr != nil {
			return CreateResult{}, ctxErr
		}
		excluded, err := excludeProbeResult(err)
		switch {
		case err != nil:
			return CreateResult{}, fmt.Errorf("make credential on %s: check exclude list: %w", path, err)
		case excluded:
			return CreateResult{}, fmt.Errorf("make credential on %s: %w", path, ErrCredentialExcluded)
		}
	}

	var att *libfido2.Attestation
	err = f.run(ctx, dev, func() error {
		var err error
		att, err = dev.MakeCredential(req.ClientDataHash,
			libfido2.RelyingParty{ID: req.RPID, Name: req.RPName},
			libfido2.User{ID: req.UserHandle, Name: req.UserName, DisplayName: req.UserDisplayName},
			typ, pin, plan.makeCredentialOpts())
		return err
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return CreateResult{}, ctxErr
		}
		return CreateResult{}, fmt.Errorf("make credential on %s: %w", path, mapFIDO2Error(err))
	}
	enc, err := newEncoder()
	if err != nil {
		return CreateResult{}, err
	}
	obj, err := enc.attestationFromLibfido2(att)
	if err != nil {
		return CreateResult{}, fmt.Errorf("make credential on %s: %w", path, err)
	}
	return CreateResult{
		CredentialID:      slices.Clone(att.CredentialID),
		AttestationObject: obj,
		Transports:        transportsForPath(path),
		// The key was asked for what the plan says, and made exactly that (or failed).
		Discoverable: plan.rk == libfido2.True,
	}, nil
}

// GetAssertion implements Authenticator: authenticatorGetAssertion on the first device
// present. An empty allow list asks for the key's discoverable credentials for req.RPID;
// when it holds several, the first one the key returns is used (a kiosk cannot show an
// account picker per tap).
func (f *FIDO2) GetAssertion(ctx context.Context, req GetRequest) (GetResult, error) {
	if err := ctx.Err(); err != nil {
		return GetResult{}, err
	}
	if err := checkCommon(req.RPID, req.ClientDataHash); err != nil {
		return GetResult{}, err
	}
	path, dev, caps, err := f.device()
	if err != nil {
		return GetResult{}, err
	}
	plan, err := planUV(caps, req.UserVerification, false)
	if err != nil {
		return GetResult{}, fmt.Errorf("get assertion on %s: %w", path, err)
	}
	pin, err := f.pin(ctx, dev, plan.needPIN)
	if err != nil {
		return GetResult{}, err
	}
	if plan.needPIN && pin == "" && req.UserVerification == UVRequired {
		return GetResult{}, fmt.Errorf("get assertion on %s: %w: %s", path, ErrUVUnavailable, noPIN)
	}

	var a *libfido2.Assertion
	err = f.run(ctx, dev, func() error {
		var err error
		a, err = dev.Assertion(req.RPID, req.ClientDataHash, req.AllowCredentialIDs, pin, plan.assertionOpts())
		return err
	})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return GetResult{}, ctxErr
		}
		return GetResult{}, fmt.Errorf("get assertion on %s: %w", path, mapFIDO2Error(err))
	}
	enc, err := newEncoder()
	if err != nil {
		return GetResult{}, err
	}
	res, err := enc.assertionFromLibfido2(a, req.AllowCredentialIDs)
	if err != nil {
		return GetResult{}, fmt.Errorf("get assertion on %s: %w", path, err)
	}
	return res, nil
}

// run calls op, which blocks in libfido2 until the key answers (a touch can take as long as
// the key lets it, ~30 s). When ctx is done first, run asks the key to cancel (CTAPHID_CANCEL;
// repeated, as it has no effect before libfido2 has opened the device) and waits up to
// cancelGrace for op to return, then returns ctx's error; op may go on in the background
// until the key gives up.
//
// go-libfido2's Device sets its open handle without its lock, so Cancel racing with the
// start of a command is a data race the race detector may report with a real key attached;
// in practice it only decides whether that Cancel reaches the key, hence the repetition.
func (f *FIDO2) run(ctx context.Context, dev fido2Device, op func() error) error {
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := time.NewTimer(f.cancelGrace)
	defer grace.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = dev.Cancel() // best effort: the key may already have answered
		select {
		case <-done:
			return ctx.Err()
		case <-grace.C:
			return ctx.Err()
		case <-tick.C:
		}
	}
}
