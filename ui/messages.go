package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// Every text the kiosk shows is in this file, so that it can be
// translated in one place. Each is a whole sentence (or a whole label):
// names, times and durations go in through named placeholders ({name},
// {time}, {left}; see fill), never by joining fragments, so a translation
// can put them where its grammar wants them. messages_test.go fails when
// another file of the package draws a literal text or joins one.

// Message is what a screen tells the worker: a title and an optional line
// of detail. It is safe to show: it never says more than the worker may
// know (a refusal does not say whether the badge or the user is unknown).
type Message struct {
	Title  string
	Detail string
}

// EndedMessage says, in plain words, why a session ended (the reason of a
// session.ended event).
func EndedMessage(reason string) Message {
	switch reason {
	case wire.ReasonSignout:
		return Message{Title: "Signed out"}
	case wire.ReasonShiftEnd:
		return Message{Title: "Your shift has ended", Detail: "You have been signed out."}
	case wire.ReasonDeprovisioned, wire.ReasonEntitlementRemoved, wire.ReasonCredentialRevoked:
		return Message{Title: "Access removed by your organisation", Detail: "Ask your supervisor if you think this is wrong."}
	case wire.ReasonForced:
		return Message{Title: "Signed out by a supervisor"}
	case wire.ReasonExpired:
		return Message{Title: "Session expired", Detail: "Tap your badge to sign in again."}
	case wire.ReasonIdle:
		return Message{Title: "Signed out after inactivity"}
	case wire.ReasonDeviceDisabled:
		return Message{Title: "This kiosk has been disabled", Detail: "Use another kiosk or ask your supervisor."}
	default:
		return Message{Title: "Signed out"}
	}
}

// EndingMessage is what the kiosk says while a session is being torn down
// (session.ending): that it is signing out, and nothing of the worker.
// Once a try of the teardown has failed (session.teardown_failed; the
// agent keeps trying), failed is true and the detail asks staff for help.
func EndingMessage(failed bool) Message {
	if failed {
		return Message{Title: "Signing out…", Detail: "This is taking longer than it should. If it does not finish, call your supervisor or IT: the kiosk needs attention."}
	}
	return Message{Title: "Signing out…", Detail: "Please wait."}
}

// NotEnrolledMessage is what the kiosk says while the hub refuses its
// certificate (device.refused: the kiosk was disabled or deleted, its
// certificate expired or was revoked, the hub's CA changed). It is for
// staff: only IT can enable or enroll the kiosk again.
func NotEnrolledMessage() Message {
	return Message{Title: "This kiosk is not enrolled with the hub any more.", Detail: "Call IT."}
}

// RefusedMessage is a helpful, non-revealing explanation of a login
// refusal (the reason of a login.refused event), with what to do next.
//
// It says no more than the hub's refusal codes do: not_recognised stands
// for an unknown badge, a revoked or suspended credential and no such user
// alike. login.refused can also carry a revocation reason, when the hub
// revoked the session it was granting before the agent opened it (the
// revoke overtook the grant): those are said as the hub answers the next
// tap of the same badge (an account removed or a credential revoked as
// not_recognised, a shift that ended as outside_shift), never as "access
// removed", which would tell whoever holds the badge that its account
// existed and was removed.
func RefusedMessage(reason string) Message {
	switch reason {
	case wire.RefusedNotRecognised, wire.ReasonDeprovisioned, wire.ReasonEntitlementRemoved, wire.ReasonCredentialRevoked:
		return Message{Title: "Badge not recognised. Ask your supervisor."}
	case wire.RefusedNotAllowedHere:
		return Message{Title: "You can't sign in at this kiosk.", Detail: "Ask your supervisor which kiosk to use."}
	case wire.RefusedOutsideShift, wire.ReasonShiftEnd:
		return Message{Title: "You're not on shift right now.", Detail: "Ask your supervisor if your shift has changed."}
	case wire.RefusedVerifyRequired:
		return Message{Title: "Your PIN or fingerprint is needed.", Detail: "Use a badge or key that asks for it."}
	case wire.RefusedChallengeExpire:
		return Message{Title: "Try again", Detail: "That took too long. Tap your badge again."}
	case agent.RefusedHubUnreachable:
		return Message{Title: "Try again", Detail: "The kiosk could not reach the server. Tap your badge again, or use another kiosk."}
	case wire.ReasonDeviceDisabled:
		return Message{Title: "This kiosk has been disabled", Detail: "Use another kiosk or ask your supervisor."}
	default:
		// invalid_assertion, error, forced, expired, and reasons this
		// screen does not know.
		return Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}
	}
}

// EnrollPrompt is the enrollment screen's message while an enrollment is
// armed for name: the next badge tapped becomes name's.
func EnrollPrompt(name string) Message {
	return Message{Title: fill("Enrollment: tap the badge for {name}", "name", name), Detail: "A supervisor has authorised a new badge."}
}

// EnrolledMessage confirms a badge registered for name
// (credential.registered).
func EnrolledMessage(name string) Message {
	return Message{Title: fill("Badge enrolled for {name}", "name", name), Detail: "It signs in at the next tap."}
}

// EnrollRefusedMessage says why a badge was not registered (the reason of
// a credential.refused event) and what to do.
func EnrollRefusedMessage(reason string) Message {
	switch reason {
	case agent.RegisterAlreadyRegistered:
		return Message{Title: "This badge is already enrolled", Detail: "Tap a different badge."}
	case agent.RegisterHubUnreachable:
		return Message{Title: "The badge could not be enrolled", Detail: "The kiosk could not reach the server. Tap the badge again."}
	case agent.RegisterRefused:
		return Message{Title: "Enrollment refused", Detail: "Ask your supervisor to start the enrollment again."}
	case agent.RegisterEnrollmentExpired:
		return Message{Title: "The enrollment has expired", Detail: "Ask your supervisor to start the enrollment again."}
	case agent.RegisterModelNotAllowed:
		return Message{Title: "This badge model is not allowed here", Detail: "Ask your supervisor for an approved badge and a new enrollment."}
	case agent.RegisterAttestationUntrusted:
		return Message{Title: "This badge could not prove its model", Detail: "Ask your supervisor for an approved badge and a new enrollment."}
	case agent.RegisterInvalidAttestation:
		return Message{Title: "The badge could not be verified", Detail: "Ask your supervisor to start the enrollment again."}
	default:
		return Message{Title: "The badge could not be enrolled", Detail: "Tap the badge again."}
	}
}

// LockedMessage is the locked screen's: what to do to sign in.
func LockedMessage() Message { return Message{Title: "Tap your badge"} }

// VerifyingMessage is the verifying screen's while a badge is checked for
// a login, or registered (enrolling) while an enrollment is armed.
func VerifyingMessage(enrolling bool) Message {
	if enrolling {
		return Message{Title: "Enrolling the badge…", Detail: "Please wait."}
	}
	return Message{Title: "Checking your badge…", Detail: "Please wait."}
}

// StatusText is the header's word for the hub channel.
func StatusText(online bool) string {
	if online {
		return "Online"
	}
	return "Offline"
}

// PlaceText names the kiosk in the header: its site and its name, either
// of which may be unknown ("").
func PlaceText(site, kiosk string) string {
	switch {
	case site == "":
		return kiosk
	case kiosk == "":
		return site
	}
	return fill("{site} · {kiosk}", "site", site, "kiosk", kiosk)
}

// ClockLayout is the time.Format layout of the times on screen: the
// header's clock and the session's end.
const ClockLayout = "15:04"

// SessionEndsText is the session screen's line for a session that ends at
// clock (ClockLayout in the kiosk's time zone).
func SessionEndsText(clock string) string {
	return fill("Session ends at {time}", "time", clock)
}

// CountdownText is the warning screen's countdown: left rounded to the
// second, as M:SS, or H:MM:SS from an hour up (a warning lead of an hour
// or more, from the hub's warn_seconds).
func CountdownText(left time.Duration) string {
	left = max(left, 0).Round(time.Second)
	h, m, s := int(left/time.Hour), int(left/time.Minute)%60, int(left/time.Second)%60
	d := fmt.Sprintf("%d:%02d", m, s)
	if h > 0 {
		d = fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fill("Your session ends in {left}", "left", d)
}

// SignOutLabel is the session screen's sign-out button.
func SignOutLabel() string { return "Sign out" }

// DemoBadgesLabel heads the row of virtual badges (--badges, --demo).
func DemoBadgesLabel() string { return "Demo badges:" }

// fill replaces each {key} of template with its value; kv is key, value,
// key, value… A placeholder without a value is left as it is, so a
// mistake shows on screen instead of vanishing.
func fill(template string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(template)
}
