// Package enroll owns kiosk enrollment: one-time codes an administrator
// hands to a kiosk, and their redemption for a device identity and a client
// certificate.
//
// A code is 80 random bits written as four groups of four Crockford base32
// characters (XXXX-XXXX-XXXX-XXXX): easy to type on a kiosk, hopeless to
// guess. Only its SHA-256 is stored; it expires after CodeTTL and works
// once. The kiosk generates its own key and sends a CSR: the private key
// never leaves the kiosk.
package enroll

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// CodeTTL is how long an enrollment code stays valid.
const CodeTTL = 15 * time.Minute

// DeviceCertLifetime is the lifetime of a device certificate; the agent
// renews it over the channel after two thirds of it.
const DeviceCertLifetime = 30 * 24 * time.Hour

// ReplacedCertGrace is how long the certificate a kiosk renewed with is
// still taken after the renewal (store.Device.PrevCertSerial): a kiosk
// that did not get the renewal's answer still holds only that one, and
// renews again with it. The grace ends sooner, at once, when the kiosk
// opens a channel with the certificate the renewal issued: it has stored
// that one, and no longer needs the other. Every other certificate the
// renewal replaced is refused at once.
const ReplacedCertGrace = 24 * time.Hour

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Errors a client can cause.
var (
	ErrBadCode = errors.New("the enrollment code is wrong, expired or already used: ask an administrator for a new one (shiftgate-hub device code)")
	ErrBadCSR  = errors.New("the certificate request is not valid")
	// ErrNameTaken is also a store.ErrConflict.
	ErrNameTaken error = nameTaken{}
	// ErrWrongProfile: the code names another hardware profile.
	ErrWrongProfile = errors.New("this enrollment code is for a kiosk of another hardware profile")
)

type nameTaken struct{}

func (nameTaken) Error() string {
	return "an enabled kiosk has this name: disable it first (that frees the name) or pick another name"
}

func (nameTaken) Is(target error) bool { return target == store.ErrConflict }

// NewCode makes a code for a kiosk named name at site, stores its hash and
// records it in the audit log; it returns the code to show once. A
// profile other than "" binds the code to that hardware profile: the
// kiosk must enroll with it, so that whoever types the code cannot pick
// a profile with laxer rules (user verification, allowed badge models).
func NewCode(ctx context.Context, st store.Store, log *audit.Log, actor, name, site, profile string, now time.Time) (string, error) {
	return NewCodeIn(ctx, st, log, actor, name, site, profile, now, nil)
}

// NewCodeIn is NewCode with in (nil: none) called inside the transaction
// that stores the code, first, with the code's hash: an error from it
// stores nothing and is returned as it is. The console keeps its form's
// key there, so that the form sent twice makes one code (a code nobody
// saw would otherwise enroll a kiosk for 15 minutes).
func NewCodeIn(ctx context.Context, st store.Store, log *audit.Log, actor, name, site, profile string, now time.Time,
	in func(ctx context.Context, tx store.Ops, hash []byte) error) (string, error) {
	if err := CheckKiosk(name, site); err != nil {
		return "", err
	}
	name, site, profile = strings.TrimSpace(name), strings.TrimSpace(site), strings.TrimSpace(profile)
	// Refused now rather than when the kiosk redeems the code (the
	// redemption checks again: a kiosk may be enrolled meanwhile).
	if d, err := st.GetDeviceByName(ctx, name); err == nil && d.State == store.DeviceActive {
		return "", fmt.Errorf("kiosk %q: %w", name, ErrNameTaken)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("new enrollment code: %w", err)
	}
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[c&31])
	}
	code := b.String()
	c := store.EnrollmentCode{Hash: hashCode(code), DeviceName: name, Site: site, Profile: profile, Created: now.UTC(), Expires: now.UTC().Add(CodeTTL)}
	var inErr error
	err := st.InTx(ctx, func(tx store.Ops) error {
		if in != nil {
			if inErr = in(ctx, tx, c.Hash); inErr != nil {
				return inErr
			}
		}
		if err := tx.CreateEnrollmentCode(ctx, c); err != nil {
			return err
		}
		_, err := log.Append(ctx, tx, audit.Entry{Actor: actor, System: system(actor), Action: "device.code", Subject: "device:" + name,
			Detail: map[string]any{"site": site, "profile": profile, "expires": c.Expires}})
		return err
	})
	if inErr != nil {
		return "", inErr
	}
	if err != nil {
		return "", fmt.Errorf("store enrollment code: %w", err)
	}
	return code, nil
}

// maxKioskText caps a kiosk's name and site, as the admin API caps the
// text fields it stores.
const maxKioskText = 500

// CheckKiosk refuses what NewCode refuses of a kiosk's name and site
// alone, without a store: a blank one, a control character (the name is
// the kiosk's identity in every list, log line and audit record), or more
// than 500 bytes. The CLI checks its flags with it before it opens or
// creates a hub; the console and the API get it through NewCode.
func CheckKiosk(name, site string) error {
	if strings.TrimSpace(name) == "" || strings.TrimSpace(site) == "" {
		return errors.New("a kiosk needs a name and a site")
	}
	for _, f := range []struct{ what, v string }{{"name", name}, {"site", site}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("the kiosk's %s is not UTF-8 text", f.what)
		}
		// Format characters (bidi overrides, zero-width ones) would let
		// a name read as another kiosk's in the console and the trail.
		if strings.ContainsFunc(f.v, store.Hidden) {
			return fmt.Errorf("the kiosk's %s has a control character or an invisible formatting character", f.what)
		}
		if len(f.v) > maxKioskText {
			return fmt.Errorf("the kiosk's %s is longer than %d bytes", f.what, maxKioskText)
		}
	}
	return nil
}

// hashCode hashes a code as typed: case, spaces and dashes do not matter,
// and the letters Crockford reads as digits are read so.
func hashCode(code string) []byte {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t':
			return -1
		case 'O', 'o':
			return '0'
		case 'I', 'i', 'L', 'l':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
	sum := sha256.Sum256([]byte(norm))
	return sum[:]
}

// Redeem enrolls a kiosk: it uses the code, signs its CSR, creates the
// device with the certificate's serial (the only certificate the hub
// takes for it until it renews) and records it, all in one transaction,
// so a refused CSR leaves the code usable. ErrBadCSR means the CSR is at
// fault (certs.ErrInvalidCSR); a CA that cannot sign is an error of the
// hub's, not ErrBadCSR.
func Redeem(ctx context.Context, st store.Store, log *audit.Log, ca *certs.CA, req wire.EnrollRequest, now time.Time) (wire.EnrollResponse, error) {
	var resp wire.EnrollResponse
	now = now.UTC()
	err := st.InTx(ctx, func(tx store.Ops) error {
		c, err := tx.UseEnrollmentCode(ctx, hashCode(req.Code), now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrBadCode
		}
		if err != nil {
			return err
		}
		if c.Profile != "" && !strings.EqualFold(c.Profile, strings.TrimSpace(req.Profile)) {
			// The code stays unused: the installer enrolls again with
			// the right profile.
			return fmt.Errorf("%w: enroll with --profile %s", ErrWrongProfile, c.Profile)
		}
		id := uuid.NewString()
		der, err := ca.SignDeviceCSR(req.CSR, id, DeviceCertLifetime, now)
		if errors.Is(err, certs.ErrInvalidCSR) {
			return fmt.Errorf("%w: %v", ErrBadCSR, err)
		} else if err != nil {
			// The hub's CA cannot sign (expired, key not its
			// certificate's, signer failing): not the kiosk's fault,
			// and the code stays usable once it is fixed.
			return fmt.Errorf("issue device certificate: %w", err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("issue device certificate: %w", err)
		}
		serial := SerialOf(leaf)
		// The device is created with its certificate's serial: the hub
		// takes no other certificate for it (store.Device.CertSerial).
		d := store.Device{ID: id, Name: c.DeviceName, Site: c.Site, Profile: strings.TrimSpace(req.Profile),
			State: store.DeviceActive, Created: now, Modified: now, CertSerial: serial, CertIssued: leaf.NotBefore}
		if d, err = tx.CreateDevice(ctx, d); errors.Is(err, store.ErrConflict) {
			return ErrNameTaken
		} else if err != nil {
			return err
		}
		if _, err := log.Append(ctx, tx, audit.Entry{Actor: "device:" + d.ID, System: "agent", Action: "device.enroll", Subject: "device:" + d.ID,
			Detail: map[string]any{"name": d.Name, "site": d.Site, "profile": d.Profile, "serial": serial}}); err != nil {
			return err
		}
		resp = wire.EnrollResponse{DeviceID: d.ID, DeviceName: d.Name, Site: d.Site, Cert: der, DeviceCA: ca.Cert.Raw}
		return nil
	})
	return resp, err
}

// CertSerial returns the serial number of the certificate der (DER) as
// store.Device.CertSerial keeps it: lowercase hexadecimal without leading
// zeros.
func CertSerial(der []byte) (string, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("read certificate serial: %w", err)
	}
	return SerialOf(c), nil
}

// SerialOf returns c's serial number as store.Device.CertSerial keeps it.
func SerialOf(c *x509.Certificate) string {
	if c == nil || c.SerialNumber == nil {
		return ""
	}
	return c.SerialNumber.Text(16)
}

// system names the interface an actor used: tokens come through the API,
// console accounts through the web console.
func system(actor string) string {
	switch {
	case strings.HasPrefix(actor, "token:"):
		return "api"
	case strings.HasPrefix(actor, "console:"):
		return "console"
	}
	return "cli"
}
