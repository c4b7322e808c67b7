package agent

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"time"
)

// Why the hub no longer takes this kiosk's device certificate
// (DeviceRefusedError.Reason, the reason of EventDeviceRefused).
const (
	// RefusalCertificate: the hub refused the certificate (TLS alert
	// bad_certificate, certificate_unknown or unsupported_certificate, or
	// HTTP 401/403 at the channel's upgrade). The hub does this for a
	// device an admin disabled or deleted, and for a certificate a
	// renewal superseded (one older than the kiosk's newest).
	RefusalCertificate = "certificate_refused"
	// RefusalRevoked: the hub answered certificate_revoked.
	RefusalRevoked = "certificate_revoked"
	// RefusalExpired: the certificate has expired, by the kiosk's clock
	// (the agent then does not dial at all) or by the hub's
	// (certificate_expired): it expired while the kiosk was off the
	// channel, so it could not be renewed.
	RefusalExpired = "certificate_expired"
	// RefusalUnknownCA: the hub does not know the CA that issued the
	// certificate (unknown_ca): the hub's CA changed, or the kiosk is
	// talking to another hub.
	RefusalUnknownCA = "unknown_ca"
)

// Defaults for the reconnect pacing of a refused kiosk (ClientConfig).
const (
	// DefaultRefusedBackoffBase and DefaultRefusedBackoffCap bound the
	// full-jitter backoff between attempts while the hub refuses the
	// kiosk's certificate: a device enabled again is back within 90 s,
	// and thousands of refused kiosks (a CA rotation) cost the hub about
	// one handshake per kiosk every 45 s.
	DefaultRefusedBackoffBase = 10 * time.Second
	DefaultRefusedBackoffCap  = 90 * time.Second
	// DefaultRefusedRepeat is how long a refusal goes unreported after it
	// was reported (log and Handler.DeviceRefused) while it lasts with the
	// same reason.
	DefaultRefusedRepeat = time.Hour
)

// DeviceRefusedError is a connection attempt that failed because the hub
// no longer accepts this kiosk's device certificate, or because the
// certificate has expired by the kiosk's clock (Local: nothing was
// dialed). Retrying does not help until an admin acts: the kiosk must be
// enabled again or enrolled again. Test with errors.As.
type DeviceRefusedError struct {
	Reason string // Refusal*
	// Local: the certificate expired by the kiosk's clock at NotAfter; the
	// hub was not contacted.
	Local    bool
	NotAfter time.Time
	Err      error // what the dial returned; nil when Local
}

func (e *DeviceRefusedError) Error() string {
	if e.Local {
		return fmt.Sprintf("device certificate expired at %s (by this kiosk's clock): not dialing the hub", e.NotAfter.UTC().Format(time.RFC3339))
	}
	what := map[string]string{
		RefusalCertificate: "the hub refused this kiosk's device certificate",
		RefusalRevoked:     "the hub says this kiosk's device certificate is revoked",
		RefusalExpired:     "the hub says this kiosk's device certificate has expired",
		RefusalUnknownCA:   "the hub does not know the CA that issued this kiosk's device certificate",
	}[e.Reason]
	if what == "" {
		what = "the hub refused this kiosk's device certificate (" + e.Reason + ")"
	}
	return fmt.Sprintf("%s: %v", what, e.Err)
}

func (e *DeviceRefusedError) Unwrap() error { return e.Err }

// Hint says, for people, what the refusal means and what to do. It is the
// hint of EventDeviceRefused.
func (e *DeviceRefusedError) Hint() string {
	const again = "ask an admin, then enroll this kiosk again with shiftgate-agent enroll (into an empty --state directory)"
	switch e.Reason {
	case RefusalExpired:
		return "this kiosk's certificate has expired (it was off the hub too long to renew it; check the kiosk's clock too): " + again
	case RefusalRevoked:
		return "this kiosk's certificate was revoked by the hub: " + again
	case RefusalUnknownCA:
		return "the hub no longer trusts the CA that issued this kiosk's certificate (the hub's CA was replaced?): " + again + " with the hub's current ca.pem"
	default:
		return "this kiosk's certificate was refused by the hub: it may have been disabled or deleted, or its certificate replaced by a newer one it no longer has (a state directory restored from a backup?); " + again
	}
}

// DeviceRefused makes the Agent emit EventDeviceRefused, in order with its
// other events. The Agent goes on as before: the Client keeps trying, with
// a longer backoff, and EventConnected follows if the hub takes the kiosk
// again.
func (h hubHandler) DeviceRefused(err *DeviceRefusedError) {
	ev := Event{Event: EventDeviceRefused, Reason: err.Reason, Hint: err.Hint()}
	h.a.post(func() { h.a.emit(ev) })
}

// DeviceRefused makes Register fail at once: waiting for its timeout
// cannot help, as nothing changes until an admin acts. It emits
// EventDeviceRefused, as the Agent does, and Register returns the
// *DeviceRefusedError with its hint.
func (r *oneShot) DeviceRefused(err *DeviceRefusedError) { r.queue(note{refused: err}) }

// refusal classifies a failed dial: a *DeviceRefusedError when the hub
// refused the device certificate, nil otherwise.
func refusal(err error, resp *http.Response) *DeviceRefusedError {
	if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		return &DeviceRefusedError{Reason: RefusalCertificate, Err: fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)}
	}
	code, ok := remoteAlert(err)
	if !ok {
		return nil
	}
	var reason string
	switch code {
	case alertBadCertificate, alertUnsupportedCertificate, alertCertificateUnknown:
		reason = RefusalCertificate
	case alertCertificateRevoked:
		reason = RefusalRevoked
	case alertCertificateExpired:
		reason = RefusalExpired
	case alertUnknownCA:
		reason = RefusalUnknownCA
	default:
		return nil
	}
	return &DeviceRefusedError{Reason: reason, Err: err}
}

// TLS alert numbers (RFC 8446 section 6) that refuse a client certificate.
const (
	alertBadCertificate         = 42
	alertUnsupportedCertificate = 43
	alertCertificateRevoked     = 44
	alertCertificateExpired     = 45
	alertCertificateUnknown     = 46
	alertUnknownCA              = 48
)

// remoteAlert returns the TLS alert the peer sent, if err is one. crypto/tls
// reports a received alert as a *net.OpError with Op "remote error" whose
// Err is its unexported alert type, a uint8 (an alert this side sends is a
// "local error", and is not the hub refusing anything).
func remoteAlert(err error) (uint8, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return 0, false
	}
	if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 {
		return uint8(v.Uint()), true
	}
	return 0, false
}

// expiredLocally returns a DeviceRefusedError when the certificate in use
// has expired by the kiosk's clock: dialing would only have the hub refuse
// it.
func (c *Client) expiredLocally() *DeviceRefusedError {
	leaf := c.cfg.Renewer.Current().Leaf
	if leaf == nil || !c.clock.Now().After(leaf.NotAfter) {
		return nil
	}
	return &DeviceRefusedError{Reason: RefusalExpired, Local: true, NotAfter: leaf.NotAfter}
}
