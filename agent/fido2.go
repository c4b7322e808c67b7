//go:build fido2

package agent

import (
	"os"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// fido2PINEnv names the environment variable whose value, when set and not empty, is used as
// the PIN of every security key that asks for one (see authenticator.FIDO2Options.PIN). It
// suits kiosk badges issued with one shared PIN; without it, keys with a PIN set can still log
// in where the hub does not require user verification, and fail with verification_required
// where it does.
const fido2PINEnv = "SHIFTGATE_FIDO2_PIN"

// fido2Source returns the security key on the kiosk's reader (USB or NFC, through libfido2)
// for every badge name: with hardware, whatever key is presented is the badge.
func fido2Source() (AuthenticatorSource, error) {
	key := authenticator.NewFIDO2(fido2Options())
	return func(string) (authenticator.Authenticator, error) { return key, nil }, nil
}

// fido2Options are the options of every hardware key: the PIN from fido2PINEnv.
func fido2Options() authenticator.FIDO2Options {
	var opts authenticator.FIDO2Options
	if pin := os.Getenv(fido2PINEnv); pin != "" {
		opts.PIN = authenticator.StaticPIN(pin)
	}
	return opts
}
