package profiles

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is the only file-format version this package reads.
const Version = 1

// Transport is a way the kiosk talks to an authenticator (WebAuthn
// AuthenticatorTransport values).
type Transport string

// Transports a profile may list.
const (
	TransportUSB      Transport = "usb"
	TransportNFC      Transport = "nfc"
	TransportBLE      Transport = "ble"
	TransportInternal Transport = "internal" // platform authenticator built into the kiosk
)

// Reader is the kind of badge reader the kiosk has.
type Reader string

// Readers a profile may name.
const (
	ReaderNone    Reader = "none"     // no reader: the authenticator is built in (transport internal)
	ReaderUSBHID  Reader = "usb-hid"  // FIDO2 keys plugged straight into a USB port (CTAPHID)
	ReaderPCSCNFC Reader = "pcsc-nfc" // contactless reader driven through PC/SC (pcscd)
	ReaderBLE     Reader = "ble"      // Bluetooth Low Energy adapter
)

// UV is a user-verification requirement (PIN or biometric on the
// authenticator). The values are WebAuthn's UserVerificationRequirement, so
// the hub can pass them to its relying party unchanged.
type UV string

// User-verification requirements.
const (
	UVRequired    UV = "required"
	UVPreferred   UV = "preferred"
	UVDiscouraged UV = "discouraged"
)

// Action is one teardown step.
type Action string

// Teardown actions, the closed set a profile may order.
const (
	// ActionTerminate sends SIGTERM to the session's process group, then
	// SIGKILL after the step's Grace.
	ActionTerminate      Action = "terminate-processes"
	ActionWipeHome       Action = "wipe-session-home" // remove the per-session HOME and TMPDIR
	ActionClearClipboard Action = "clear-clipboard"
	ActionLockScreen     Action = "lock-screen"
	ActionNotifyHub      Action = "notify-hub" // ack the teardown to the hub; always last
)

// DefaultGrace is the SIGTERM-to-SIGKILL grace of a terminate-processes step
// whose file gives none.
const DefaultGrace = 5 * time.Second

// AnyRole is the Apps key whose apps every role gets.
const AnyRole = "*"

// Profile is one validated kiosk hardware profile. Values returned by this
// package passed Validate; callers must not modify them.
type Profile struct {
	// File is where the profile was read from (a path, or the embedded file
	// name); problems name it. It is not part of the file format.
	File string

	Version     int
	Name        string // equals the file name without .json
	Description string

	Authenticator Authenticator
	// AllowedAAGUIDs lists the authenticator models accepted at registration
	// and login; empty means any.
	AllowedAAGUIDs   []uuid.UUID
	UserVerification UserVerification

	IdleTimeout time.Duration // no input for this long ends the session
	MaxSession  time.Duration // upper bound on any session, whatever the shift
	// OfflineGrace is how long a session stays open on a kiosk that cannot
	// reach the hub (whose revocations cannot reach it then);
	// DefaultOfflineGrace when the file gives none.
	OfflineGrace time.Duration

	Display Display
	// Apps maps a role (a group displayName) to the apps its sessions get;
	// the AnyRole key's apps are added for every role.
	Apps     map[string][]App
	Teardown []Step // in the order the agent runs them
}

// Authenticator describes how workers' authenticators reach the kiosk.
type Authenticator struct {
	Transports []Transport
	Reader     Reader
}

// UserVerification says whether a login must prove PIN or biometric.
type UserVerification struct {
	Default UV
	Roles   map[string]UV // overrides Default for these roles
}

// Display is the kiosk screen the UI scales to.
type Display struct {
	Width, Height int     // pixels, as mounted (after rotation)
	Scale         float64 // UI scale factor (Fyne's FYNE_SCALE)
}

// App is one launchable application in a session.
type App struct {
	ID      string   // unique among the apps a role gets
	Label   string   // text on the launch button
	Command []string // argv; Command[0] is an absolute path
}

// Step is one teardown step.
type Step struct {
	Action Action
	Grace  time.Duration // terminate-processes only: SIGTERM to SIGKILL
}

// AAGUIDAllowed reports whether an authenticator with this AAGUID (16 bytes,
// from the attested authenticator data) may register or log in on this kiosk
// model. An empty allow-list admits any authenticator. The answer is only as
// trustworthy as the attestation that vouched for the AAGUID.
func (p *Profile) AAGUIDAllowed(aaguid []byte) bool {
	if len(p.AllowedAAGUIDs) == 0 {
		return true
	}
	id, err := uuid.FromBytes(aaguid)
	if err != nil {
		return false
	}
	return slices.Contains(p.AllowedAAGUIDs, id)
}

// UVFor returns the user-verification requirement for a role: "required",
// "preferred" or "discouraged" (WebAuthn's values). Role names compare
// without case, as the hub compares them everywhere (a group renamed only
// in case is the same role).
func (p *Profile) UVFor(role string) string {
	if k, ok := roleKey(p.UserVerification.Roles, role); ok {
		return string(p.UserVerification.Roles[k])
	}
	return string(p.UserVerification.Default)
}

// roleKey returns the key of m that names role: role itself, or else the
// one equal to it without case (Validate refuses two such keys).
func roleKey[V any](m map[string]V, role string) (string, bool) {
	if _, ok := m[role]; ok {
		return role, true
	}
	for k := range m {
		if strings.EqualFold(k, role) {
			return k, true
		}
	}
	return "", false
}

// AppsFor returns the apps a session with this role gets: the role's own
// apps first, then those for every role ("*"). Role names compare without
// case (see UVFor). The result is a fresh copy.
func (p *Profile) AppsFor(role string) []App {
	var out []App
	add := func(apps []App) {
		for _, a := range apps {
			a.Command = slices.Clone(a.Command)
			out = append(out, a)
		}
	}
	if k, ok := roleKey(p.Apps, role); ok && role != AnyRole {
		add(p.Apps[k])
	}
	add(p.Apps[AnyRole])
	return out
}

// TerminateGrace returns the terminate-processes step's grace: how long the agent
// waits after SIGTERM before SIGKILL.
func (p *Profile) TerminateGrace() time.Duration {
	for _, s := range p.Teardown {
		if s.Action == ActionTerminate {
			return s.Grace
		}
	}
	return DefaultGrace
}
