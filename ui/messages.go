package ui

import (
	"strings"
	"time"
	"unicode"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// Every text the kiosk shows is in this file, in English (english, the
// source), and in translations/ in the other languages, so that it can be
// translated in one place. Each is a whole sentence (or a whole label):
// names, times, durations and counts go in through named placeholders
// ({name}, {time}, {count}; see fill), never by joining fragments, so a
// translation can put them where its grammar wants them. messages_test.go
// fails when another file of the package draws a literal text or joins
// one; texts_test.go when a translation lacks a text, has one English does
// not, or changes a text's placeholders.

// Message is what a screen tells the worker: a title and an optional line
// of detail. It is safe to show: it never says more than the worker may
// know (a refusal does not say whether the badge or the user is unknown).
type Message struct {
	Title  string
	Detail string
}

// english is every text of the kiosk in English, by message ID: the source
// of the translations in translations/*.json, which have the same IDs. A
// text that counts has the plural forms English needs (one, other); a
// translation has those of its own language (CLDR: Polish one, few, many,
// other). Description is for translators.
func english() []*i18n.Message {
	return []*i18n.Message{
		// Ended: why a session ended (session.ended).
		{ID: "ended.signout", Other: "Signed out", Description: "The worker signed out, or the session ended for a reason the screen does not know."},
		{ID: "ended.shift_end", Other: "Your shift has ended"},
		{ID: "ended.shift_end.detail", Other: "You have been signed out."},
		{ID: "ended.access_removed", Other: "Access removed by your organisation", Description: "The account or the right to use this kiosk was taken away during the session (leaver, transfer, badge revoked)."},
		{ID: "ended.access_removed.detail", Other: "Ask your supervisor if you think this is wrong."},
		{ID: "ended.forced", Other: "Signed out by a supervisor"},
		{ID: "ended.expired", Other: "Session expired"},
		{ID: "ended.expired.detail", Other: "Tap your badge to sign in again."},
		{ID: "ended.idle", Other: "Signed out after inactivity"},
		{ID: "ended.offline", Other: "Signed out: the kiosk lost its connection", Description: "The kiosk could not reach the server for too long, so it ended the session itself (it could not have learnt of a change to the worker's access)."},
		{ID: "ended.offline.detail", Other: "Tap your badge again once the kiosk is back online."},
		{ID: "device_disabled", Other: "This kiosk has been disabled", Description: "An administrator switched this kiosk off at the server."},
		{ID: "device_disabled.detail", Other: "Use another kiosk or ask your supervisor."},

		// Ending: the session is being torn down (session.ending).
		{ID: "ending", Other: "Signing out…"},
		{ID: "ending.stuck", Other: "This is taking longer than it should. If it does not finish, call your supervisor or IT: the kiosk needs attention.", Description: "The worker's apps could not be closed yet; the kiosk keeps trying."},
		{ID: "please_wait", Other: "Please wait."},

		// Not enrolled: the hub refuses the kiosk (device.refused).
		{ID: "not_enrolled", Other: "This kiosk is no longer registered with the server.", Description: "For staff: the server no longer accepts this kiosk (an administrator disabled or removed it, or its certificate ran out)."},
		{ID: "not_enrolled.detail", Other: "Call IT."},

		// Refused: a login refused (login.refused), and what to do.
		{ID: "refused.not_recognised", Other: "Badge not recognised. Ask your supervisor.", Description: "Must not say whether the badge or the person is unknown."},
		{ID: "refused.not_allowed_here", Other: "You can't sign in at this kiosk."},
		{ID: "refused.not_allowed_here.detail", Other: "Ask your supervisor which kiosk to use."},
		{ID: "refused.outside_shift", Other: "You're not on shift right now."},
		{ID: "refused.outside_shift.detail", Other: "Ask your supervisor if your shift has changed."},
		{ID: "refused.verify_required", Other: "Your PIN or fingerprint is needed."},
		{ID: "refused.verify_required.detail", Other: "Use a badge or key that asks for it.", Description: "Key: a USB or NFC security key."},
		{ID: "try_again", Other: "Try again"},
		{ID: "refused.too_slow.detail", Other: "That took too long. Tap your badge again."},
		{ID: "refused.hub_unreachable.detail", Other: "The kiosk could not reach the server. Tap your badge again, or use another kiosk."},
		{ID: "refused.other.detail", Other: "Tap your badge again. If it keeps happening, ask your supervisor."},

		// Enrollment: a supervisor has armed the registration of a new badge.
		{ID: "enroll.prompt", Other: "Enrollment: tap the badge for {name}", Description: "{name}: the worker whose new badge is being registered."},
		{ID: "enroll.prompt.detail", Other: "A supervisor has authorised a new badge."},
		{ID: "enroll.done", Other: "Badge enrolled for {name}"},
		{ID: "enroll.done.detail", Other: "It signs in at the next tap."},
		{ID: "enroll.already_registered", Other: "This badge is already enrolled"},
		{ID: "enroll.already_registered.detail", Other: "Tap a different badge."},
		{ID: "enroll.failed", Other: "The badge could not be enrolled"},
		{ID: "enroll.failed.hub_unreachable.detail", Other: "The kiosk could not reach the server. Tap the badge again."},
		{ID: "enroll.failed.detail", Other: "Tap the badge again."},
		{ID: "enroll.refused", Other: "Enrollment refused"},
		{ID: "enroll.expired", Other: "The enrollment has expired"},
		{ID: "enroll.restart.detail", Other: "Ask your supervisor to start the enrollment again."},
		{ID: "enroll.model_not_allowed", Other: "This badge model is not allowed here"},
		{ID: "enroll.attestation_untrusted", Other: "This badge could not prove its model"},
		{ID: "enroll.approved_badge.detail", Other: "Ask your supervisor for an approved badge and a new enrollment."},
		{ID: "enroll.invalid_attestation", Other: "The badge could not be verified"},
		{ID: "enroll.badge_unsupported", Other: "This type of badge cannot be enrolled", Description: "The badge cannot store what signing in at a kiosk needs (older security keys): no tap of it can work."},
		{ID: "enroll.badge_full", Other: "This badge is full", Description: "The badge has no room left for another sign-in: no tap of it can work."},
		{ID: "enroll.other_badge.detail", Other: "Tap a different badge, or ask your supervisor for one.", Description: "The enrollment is still open: another badge can be tapped now."},

		// The locked and verifying screens, the header.
		{ID: "locked", Other: "Tap your badge", Description: "What to do to sign in: hold the badge to the reader (or touch a virtual badge on screen)."},
		{ID: "verifying.enroll", Other: "Enrolling the badge…"},
		{ID: "verifying", Other: "Checking your badge…"},
		{ID: "status.online", Other: "Online", Description: "The kiosk is connected to the server."},
		{ID: "status.offline", Other: "Offline", Description: "The kiosk is not connected to the server."},
		{ID: "place", Other: "{site} · {kiosk}", Description: "Header: the site (ward, store, warehouse) and the kiosk's name."},

		// The session screen.
		{ID: "session.ends_at", Other: "Session ends at {time}", Description: "{time}: a time of day, 24-hour HH:MM."},
		{ID: "countdown.minutes", One: "Your session ends in {count} minute", Other: "Your session ends in {count} minutes", Description: "Warning before the shift ends; {count} whole minutes, rounded up."},
		{ID: "warning.offline", Other: "This kiosk cannot reach the server. You will be signed out unless the connection comes back.", Description: "Under the countdown, when the session is ending early because the kiosk is offline."},
		{ID: "countdown.seconds", One: "Your session ends in {count} second", Other: "Your session ends in {count} seconds", Description: "The last minute of the warning, counting down every second."},
		{ID: "sign_out", Other: "Sign out", Description: "Button."},
		{ID: "demo_badges", Other: "Demo badges:", Description: "Before a row of buttons, each a test badge to tap (demos only)."},
	}
}

// EndedMessage says, in plain words, why a session ended (the reason of a
// session.ended event).
func (t *Texts) EndedMessage(reason string) Message {
	switch reason {
	case wire.ReasonSignout:
		return t.message("ended.signout", "")
	case wire.ReasonShiftEnd:
		return t.message("ended.shift_end", "ended.shift_end.detail")
	case wire.ReasonDeprovisioned, wire.ReasonEntitlementRemoved, wire.ReasonCredentialRevoked:
		return t.message("ended.access_removed", "ended.access_removed.detail")
	case wire.ReasonForced:
		return t.message("ended.forced", "")
	case wire.ReasonExpired:
		return t.message("ended.expired", "ended.expired.detail")
	case wire.ReasonIdle:
		return t.message("ended.idle", "")
	case wire.ReasonOffline:
		return t.message("ended.offline", "ended.offline.detail")
	case wire.ReasonDeviceDisabled:
		return t.message("device_disabled", "device_disabled.detail")
	default:
		return t.message("ended.signout", "")
	}
}

// EndingMessage is what the kiosk says while a session is being torn down
// (session.ending): that it is signing out, and nothing of the worker.
// Once a try of the teardown has failed (session.teardown_failed; the
// agent keeps trying), failed is true and the detail asks staff for help.
func (t *Texts) EndingMessage(failed bool) Message {
	if failed {
		return t.message("ending", "ending.stuck")
	}
	return t.message("ending", "please_wait")
}

// NotEnrolledMessage is what the kiosk says while the hub refuses its
// certificate (device.refused: the kiosk was disabled or deleted, its
// certificate expired or was revoked, the hub's CA changed). It is for
// staff: only IT can enable or enroll the kiosk again.
func (t *Texts) NotEnrolledMessage() Message {
	return t.message("not_enrolled", "not_enrolled.detail")
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
func (t *Texts) RefusedMessage(reason string) Message {
	switch reason {
	case wire.RefusedNotRecognised, wire.ReasonDeprovisioned, wire.ReasonEntitlementRemoved, wire.ReasonCredentialRevoked:
		return t.message("refused.not_recognised", "")
	case wire.RefusedNotAllowedHere:
		return t.message("refused.not_allowed_here", "refused.not_allowed_here.detail")
	case wire.RefusedOutsideShift, wire.ReasonShiftEnd:
		return t.message("refused.outside_shift", "refused.outside_shift.detail")
	case wire.RefusedVerifyRequired:
		return t.message("refused.verify_required", "refused.verify_required.detail")
	case wire.RefusedChallengeExpire:
		return t.message("try_again", "refused.too_slow.detail")
	case agent.RefusedHubUnreachable:
		return t.message("try_again", "refused.hub_unreachable.detail")
	case wire.ReasonDeviceDisabled:
		return t.message("device_disabled", "device_disabled.detail")
	default:
		// invalid_assertion, error, forced, expired, not_opened (the
		// channel dropped while the grant was on its way), and reasons this
		// screen does not know.
		return t.message("try_again", "refused.other.detail")
	}
}

// EnrollPrompt is the enrollment screen's message while an enrollment is
// armed for name: the next badge tapped becomes name's.
func (t *Texts) EnrollPrompt(name string) Message {
	return Message{Title: fill(t.text("enroll.prompt"), "name", name), Detail: t.text("enroll.prompt.detail")}
}

// EnrolledMessage confirms a badge registered for name
// (credential.registered).
func (t *Texts) EnrolledMessage(name string) Message {
	return Message{Title: fill(t.text("enroll.done"), "name", name), Detail: t.text("enroll.done.detail")}
}

// EnrollRefusedMessage says why a badge was not registered (the reason of
// a credential.refused event) and what to do.
func (t *Texts) EnrollRefusedMessage(reason string) Message {
	switch reason {
	case agent.RegisterAlreadyRegistered:
		return t.message("enroll.already_registered", "enroll.already_registered.detail")
	case agent.RegisterHubUnreachable:
		return t.message("enroll.failed", "enroll.failed.hub_unreachable.detail")
	case agent.RegisterRefused:
		return t.message("enroll.refused", "enroll.restart.detail")
	case agent.RegisterEnrollmentExpired:
		return t.message("enroll.expired", "enroll.restart.detail")
	case agent.RegisterModelNotAllowed:
		return t.message("enroll.model_not_allowed", "enroll.approved_badge.detail")
	case agent.RegisterAttestationUntrusted:
		return t.message("enroll.attestation_untrusted", "enroll.approved_badge.detail")
	case agent.RegisterInvalidAttestation:
		return t.message("enroll.invalid_attestation", "enroll.restart.detail")
	case agent.RegisterResidentKeyUnsupported:
		// The badge itself cannot keep a credential: tapping it again
		// cannot help, but the enrollment is still armed, so another
		// badge can be tapped now.
		return t.message("enroll.badge_unsupported", "enroll.other_badge.detail")
	case agent.RegisterKeyStoreFull:
		return t.message("enroll.badge_full", "enroll.other_badge.detail")
	case agent.RegisterNotDiscoverable:
		// The badge cannot keep a credential (or has no room): another
		// badge is needed, and the enrollment is over.
		return t.message("enroll.refused", "enroll.approved_badge.detail")
	default:
		return t.message("enroll.failed", "enroll.failed.detail")
	}
}

// LockedMessage is the locked screen's: what to do to sign in.
func (t *Texts) LockedMessage() Message { return t.message("locked", "") }

// VerifyingMessage is the verifying screen's while a badge is checked for
// a login, or registered (enrolling) while an enrollment is armed.
func (t *Texts) VerifyingMessage(enrolling bool) Message {
	if enrolling {
		return t.message("verifying.enroll", "please_wait")
	}
	return t.message("verifying", "please_wait")
}

// StatusText is the header's word for the hub channel.
func (t *Texts) StatusText(online bool) string {
	if online {
		return t.text("status.online")
	}
	return t.text("status.offline")
}

// maxPlace is the most characters of a site's or a kiosk's name that the
// header shows: the two share a third of the header's width, and much
// longer ones (up to maxValue each) took most of a small panel's height,
// leaving the locked screen's message a sliver.
const maxPlace = 32

// PlaceText names the kiosk in the header: its site and its name, either
// of which may be unknown (""), each cut at maxPlace characters.
func (t *Texts) PlaceText(site, kiosk string) string {
	site, kiosk = cut(plain(site), maxPlace), cut(plain(kiosk), maxPlace)
	switch {
	case site == "":
		return kiosk
	case kiosk == "":
		return site
	}
	return fill(t.text("place"), "site", site, "kiosk", kiosk)
}

// ClockLayout is the time.Format layout of the times on screen: the
// header's clock and the session's end. It is the 24-hour clock in every
// language, English included: the kiosk's languages write times so, and
// shift work (hospitals, warehouses) does too.
const ClockLayout = "15:04"

// SessionEndsText is the session screen's line for a session that ends at
// clock (ClockLayout in the kiosk's time zone).
func (t *Texts) SessionEndsText(clock string) string {
	return fill(t.text("session.ends_at"), "time", clock)
}

// OfflineWarningText says, under the warning screen's countdown, why the
// session ends early: the kiosk cannot reach the hub (session.warning
// with reason offline).
func (t *Texts) OfflineWarningText() string { return t.text("warning.offline") }

// CountdownText is the warning screen's countdown to the session's end:
// left in whole minutes, rounded up ("5 minutes" from 4:01 to 5:00 left),
// and in its last minute in seconds, in the plural form the language
// wants for the number.
func (t *Texts) CountdownText(left time.Duration) string {
	left = max(left, 0).Round(time.Second)
	if left < time.Minute {
		return t.plural("countdown.seconds", int(left/time.Second))
	}
	return t.plural("countdown.minutes", int((left+time.Minute-time.Second)/time.Minute))
}

// SignOutLabel is the session screen's sign-out button.
func (t *Texts) SignOutLabel() string { return t.text("sign_out") }

// DemoBadgesLabel heads the row of virtual badges (--badges, --demo).
func (t *Texts) DemoBadgesLabel() string { return t.text("demo_badges") }

// fill replaces each {key} of template with its value, made plain; kv is
// key, value, key, value… The values are put in once, in one pass: a
// value that contains a placeholder ({count}) is not filled in again. A
// placeholder without a value is left as it is, so a mistake shows on
// screen instead of vanishing.
func fill(template string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", plain(kv[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(template)
}

// maxValue is the most characters (runes) of a value from the hub that the
// screen shows: the agent's cut for display names (64). A longer value is
// cut to maxValue-1 and "…".
const maxValue = 64

// plain is a value from the hub (a worker's or a role's name, a site, a
// kiosk's name) as the screen shows it, alone or in a sentence: without
// bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and the like),
// which would turn round the words of the sentence that follow the value
// ("Ausweis für {name} registriert" would end in "treirtsiger"), nor other
// invisible format characters (zero-width spaces, tag characters), with
// control characters (a newline, a tab) and runs of spaces made one space,
// and cut at maxValue characters. A name written in a right-to-left script
// keeps its letters, in their order, and a zero-width non-joiner or joiner
// stays where its script needs it (agent.JoinerInContext: a Persian or
// Devanagari name, emoji joined into one), as the agent keeps it in a
// display name.
//
// The cut matters for the values the agent passes on as the hub gives
// them: it cuts display names, but not the user name shown when there is
// none, nor the role, site or kiosk names. Uncut, a user name of a few
// hundred characters in the enrollment prompt, which is pinned over Sign
// out, pushed the session's apps out of reach and the prompt off the
// screen.
func plain(s string) string {
	var b strings.Builder
	// shown counts the runes kept other than spaces: past maxValue of
	// them the rest is cut anyway, and not worth reading to its end.
	shown := 0
	for i, r := range s {
		switch {
		case shown > maxValue:
		case (r == '\u200c' || r == '\u200d') && agent.JoinerInContext(s, i):
			b.WriteRune(r)
			shown++
		case unicode.Is(unicode.Bidi_Control, r), unicode.Is(unicode.Cf, r):
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
			if !unicode.IsSpace(r) {
				shown++
			}
		}
	}
	return cut(strings.Join(strings.Fields(b.String()), " "), maxValue)
}

// cut is s cut to at most n characters (runes), the last of them "…" when
// s was longer.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}
