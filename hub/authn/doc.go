// Package authn is the hub's WebAuthn relying party for kiosk logins and
// kiosk badge enrollment, built on github.com/go-webauthn/webauthn.
//
// It owns the ceremonies and their short-lived state, not policy: a
// successful FinishLogin says "this is user U, with credential C, verified
// or not"; whether U may sign in on this kiosk now, and with what, is
// hub/policy's decision.
//
// # Login (usernameless)
//
// BeginLogin hands a kiosk a fresh random challenge (go-webauthn's
// BeginDiscoverableLogin options: empty allow list, user verification
// "preferred"). The challenge is kept in memory only, bound to the device
// that asked for it, usable once, and valid for Config.ChallengeTTL (at most
// 60 s). A device holds at most MaxOutstandingChallenges challenges; asking
// for more evicts its oldest. A hub restart forgets every challenge, which
// only costs kiosks a new one.
//
// FinishLogin consumes the challenge named in the assertion's clientDataJSON
// before anything else, so it is single use even when the login then fails.
// It reads the credential (one store read) and its user (one read), lets
// go-webauthn check signature, rpIdHash, origin, challenge and the UP flag,
// and writes the new sign counter and last-use time (one write).
//
// A sign counter that does not increase (WebAuthn §7.2 step 21: the
// presented or the stored counter is non-zero and the presented one is not
// greater) means a second copy of the key is in use. Only an assertion whose
// signature verified can trigger this, so nobody can suspend a credential
// they do not hold a copy of. The credential is suspended and a
// credential.suspended audit record written in one transaction (with
// Config.Suspend, the hub's, which also ends the owner's live sessions:
// the copy that signed in first may hold one), and the login fails with
// ErrCloned. From then on every copy, the original
// included, is refused as unknown until an administrator acts.
//
// An authenticator may keep no counter at all and present 0 every time
// (WebAuthn §6.1.1); then no copy of it could ever be noticed. A login
// presenting 0 for a credential whose stored counter is 0 fails with
// ErrNoCounter (not_allowed_here) and changes nothing: a shared kiosk's
// badge must count. A key that starts a new credential's counter at 0
// presents 1 at its first use.
//
// # Enrollment at a kiosk
//
// Once a supervisor or administrator has authorised it, BeginRegistration
// prepares one registration for a device: resident key required (kiosk
// logins name no user) with the credProps extension, user verification
// preferred, attestation conveyance "none", the user's active credentials
// excluded so the same badge is not registered twice. One registration is
// pending per device (a new one replaces it), it is single use and expires
// after Config.RegistrationTTL. FinishRegistration accepts the "none" and
// "packed" attestation formats, refuses a credential public key that
// does not parse (a point off its curve) or is longer than
// MaxPublicKeyLength (no authenticator makes one, and a huge RSA key's
// signature check costs the hub seconds at every login), optionally
// restricts the authenticator model by AAGUID, refuses backup-eligible
// (synced) credentials, whose counters cannot reveal a clone, refuses a credential the client reports
// not discoverable (credProps rk false: ErrNotDiscoverable; one that
// reports nothing is taken at its word), and stores the
// credential together with a credential.registered audit record, in one
// transaction that checks again that the kiosk is active and the user
// neither disabled nor deleted (a leaver that commits during the ceremony
// revokes the user's credentials, and could not see this one).
//
// A model restriction is only as good as the proof of the model. With
// Config.Metadata (a FIDO Metadata Service BLOB, ParseMetadata) or
// Config.AttestationRoots, a registration restricted by AAGUID asks for
// direct attestation, and FinishRegistration requires a packed attestation
// whose certificate (verified by go-webauthn for its signature over the
// registration and WebAuthn's certificate requirements) names the AAGUID
// in the FIDO extension. For a model the metadata lists, go-webauthn's
// metadata validation decides: the certificate chains to the roots the
// maker registered for that model, the attestation type is one it uses,
// and no status report in effect rules it out (revoked, a compromised
// attestation or user key, a user verification bypass). Any other model
// must chain to one of the roots. Otherwise: ErrAttestationUntrusted.
// Without either, the AAGUID is the one the authenticator claims.
//
// The WebAuthn user handle is the user's ID (a UUID string) as bytes.
//
// # Errors
//
// Every failure wraps one of the sentinel errors below, and RefusalCode
// maps it to the agent/wire refusal shown on the kiosk. The code is
// deliberately coarse (an unknown, suspended or revoked credential and a
// deleted user all read "not recognised"); the error text is precise and
// meant for the hub log and the audit trail, never for the kiosk screen.
// Errors that wrap none of the sentinels are internal failures (the store
// is unreachable, for example); RefusalCode returns "" for them. What a
// kiosk sent is never echoed at length: a credential ID over WebAuthn's
// 1023 bytes is refused as unknown without being quoted, and go-webauthn's
// detail (which quotes the clientData type or origin received) is cut to
// 512 bytes.
package authn
