package ui

import (
	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

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
// refusal (the reason of a login.refused event).
func RefusedMessage(reason string) Message {
	switch reason {
	case wire.RefusedNotRecognised:
		return Message{Title: "Badge not recognised. Ask your supervisor."}
	case wire.RefusedNotAllowedHere:
		return Message{Title: "You can't sign in at this kiosk.", Detail: "Ask your supervisor which kiosk to use."}
	case wire.RefusedOutsideShift:
		return Message{Title: "You're not on shift right now.", Detail: "Ask your supervisor if your shift has changed."}
	case wire.RefusedVerifyRequired:
		return Message{Title: "Your PIN or fingerprint is needed.", Detail: "Use a badge or key that asks for it."}
	case wire.RefusedChallengeExpire:
		return Message{Title: "Try again", Detail: "That took too long."}
	case agent.RefusedHubUnreachable:
		return Message{Title: "Try again", Detail: "The kiosk could not reach the server."}
	default:
		return Message{Title: "Try again"}
	}
}

// EnrollPrompt is the enrollment screen's message while an enrollment is
// armed for name: the next badge tapped becomes name's.
func EnrollPrompt(name string) Message {
	return Message{Title: "Enrollment: tap the badge for " + name, Detail: "A supervisor has authorised a new badge."}
}

// EnrolledMessage confirms a badge registered for name
// (credential.registered).
func EnrolledMessage(name string) Message {
	return Message{Title: "Badge enrolled for " + name, Detail: "It signs in at the next tap."}
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
