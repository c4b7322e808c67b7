package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Audit vocabulary of this package.
const (
	ActionCredentialSuspended  = "credential.suspended"
	ActionCredentialRegistered = "credential.registered"
	auditSystem                = "agent"
	// ReasonCloned is the Reason stored on a credential suspended for a sign
	// counter regression.
	ReasonCloned = "sign counter regression: possible cloned key"
)

// MaxCredentialIDLength is the longest credential ID WebAuthn allows
// (§6.5.1, credentialIdLength: "at most 1023 bytes"). Registration refuses
// longer ones (go-webauthn), so a login naming one is refused before any
// lookup.
const MaxCredentialIDLength = 1023

// pendingLogin is an outstanding login challenge.
type pendingLogin struct {
	device  string
	session webauthn.SessionData
	expires time.Time
}

// LoginResult is a verified login: who signed, with which credential (as
// stored after this login), and whether the authenticator verified the user
// (PIN or biometric: the UV flag of this assertion).
type LoginResult struct {
	User         store.User
	Credential   store.Credential
	UserVerified bool
}

// BeginLogin returns a fresh login challenge for deviceID, which must be the
// ID of the authenticated device channel asking for it. The challenge can be
// redeemed once, by FinishLogin with the same deviceID, until ExpiresAt.
func (rp *RP) BeginLogin(deviceID string) (wire.Challenge, error) {
	now := rp.now()
	challenge := rp.newChallenge(now)
	assertion, session, err := rp.beginDiscoverable(challenge)
	if err != nil {
		return wire.Challenge{}, fmt.Errorf("begin login on device %s: %w", deviceID, err)
	}
	var opts []byte
	if t := rp.loginOpts; t.ok {
		opts = t.fill(challenge)
	} else if opts, err = json.Marshal(assertion); err != nil {
		return wire.Challenge{}, fmt.Errorf("begin login on device %s: marshal options: %w", deviceID, err)
	}
	p := &pendingLogin{device: deviceID, session: *session, expires: now.Add(rp.ttl)}

	rp.mu.Lock()
	rp.pruneLocked(now)
	list := rp.byDevice[deviceID]
	if len(list) >= MaxOutstandingChallenges {
		n := len(list) - MaxOutstandingChallenges + 1
		for _, old := range list[:n] {
			if len(rp.evicted) < maxEvicted {
				rp.evicted[old] = rp.logins[old].expires
			}
			delete(rp.logins, old)
		}
		list = slices.Delete(list, 0, n)
	}
	rp.logins[session.Challenge] = p
	rp.byDevice[deviceID] = append(list, session.Challenge)
	rp.mu.Unlock()

	return wire.Challenge{Options: opts, Origin: rp.origin, ExpiresAt: p.expires}, nil
}

// beginDiscoverable is the go-webauthn half of BeginLogin: the options a
// kiosk gets and the session data its answer is checked against.
func (rp *RP) beginDiscoverable(challenge []byte) (*protocol.CredentialAssertion, *webauthn.SessionData, error) {
	return rp.wa.BeginDiscoverableLogin(
		webauthn.WithChallenge(challenge),
		webauthn.WithUserVerification(protocol.VerificationPreferred),
	)
}

// optionsTemplate is the JSON of a login's options cut around its
// challenge. The options differ from one login to the next in the
// challenge alone, and every grant carries the next one (NextChallenge),
// so BeginLogin fills in the challenge rather than marshalling the same
// structure again for every login.
type optionsTemplate struct {
	head, tail []byte
	ok         bool // false: BeginLogin marshals the options itself
}

// newOptionsTemplate marshals the options for a placeholder challenge
// and cuts them where its base64url encoding is. If that encoding is not
// found exactly once, the template is not used.
func newOptionsTemplate(rp *RP) optionsTemplate {
	placeholder := make([]byte, challengeLen)
	for i := range placeholder {
		placeholder[i] = byte(i + 1)
	}
	assertion, _, err := rp.beginDiscoverable(placeholder)
	if err != nil {
		return optionsTemplate{}
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		return optionsTemplate{}
	}
	enc := []byte(`"` + base64.RawURLEncoding.EncodeToString(placeholder) + `"`)
	if bytes.Count(opts, enc) != 1 {
		return optionsTemplate{}
	}
	i := bytes.Index(opts, enc)
	return optionsTemplate{head: opts[:i+1], tail: opts[i+len(enc)-1:], ok: true}
}

// fill returns the options for challenge: what json.Marshal returns for
// the assertion go-webauthn builds with it (base64url needs no JSON
// escaping).
func (t optionsTemplate) fill(challenge []byte) []byte {
	b := make([]byte, 0, len(t.head)+base64.RawURLEncoding.EncodedLen(len(challenge))+len(t.tail))
	b = append(b, t.head...)
	b = base64.RawURLEncoding.AppendEncode(b, challenge)
	return append(b, t.tail...)
}

// pruneLocked drops expired login challenges and registrations, at most
// once per challenge TTL, so the maps stay bounded by what devices fetched
// recently. rp.mu must be held.
func (rp *RP) pruneLocked(now time.Time) {
	if now.Sub(rp.lastPrune) < rp.ttl {
		return
	}
	rp.lastPrune = now
	for dev, list := range rp.byDevice {
		list = slices.DeleteFunc(list, func(ch string) bool {
			if !now.Before(rp.logins[ch].expires) {
				delete(rp.logins, ch)
				return true
			}
			return false
		})
		if len(list) == 0 {
			delete(rp.byDevice, dev)
		} else {
			rp.byDevice[dev] = list
		}
	}
	for ch, exp := range rp.evicted {
		if !now.Before(exp) {
			delete(rp.evicted, ch)
		}
	}
	for dev, p := range rp.regs {
		if !now.Before(p.expires) {
			delete(rp.regs, dev)
		}
	}
}

// takeLogin removes the challenge from the outstanding set (whoever asks:
// a challenge presented on the wrong channel has leaked and is burnt) and
// returns it if deviceID may use it now.
func (rp *RP) takeLogin(deviceID, challenge string) (*pendingLogin, error) {
	challenge = strings.TrimRight(challenge, "=")
	now := rp.now()
	rp.mu.Lock()
	p, ok := rp.logins[challenge]
	if !ok {
		err := rp.missingChallengeErrorLocked(challenge, now)
		rp.mu.Unlock()
		return nil, err
	}
	delete(rp.logins, challenge)
	list := slices.DeleteFunc(rp.byDevice[p.device], func(ch string) bool { return ch == challenge })
	if len(list) == 0 {
		delete(rp.byDevice, p.device)
	} else {
		rp.byDevice[p.device] = list
	}
	rp.mu.Unlock()
	switch {
	case p.device != deviceID:
		return nil, fmt.Errorf("%w: challenge was issued to device %s", ErrChallenge, p.device)
	case !now.Before(p.expires):
		return nil, fmt.Errorf("%w: challenge expired at %s", ErrChallenge, p.expires.UTC().Format(time.RFC3339Nano))
	}
	return p, nil
}

// FinishLogin verifies the PublicKeyCredential JSON of an assertion sent by
// deviceID and returns who signed. The challenge it names is consumed first,
// so it is single use even when the login fails. See the package
// documentation for the checks, the sign counter and the errors.
//
// FinishLogin does not audit a successful or refused login: the caller,
// which also evaluates policy and opens the session, records the outcome.
func (rp *RP) FinishLogin(ctx context.Context, deviceID string, credentialJSON []byte) (LoginResult, error) {
	return rp.FinishLoginWith(ctx, deviceID, credentialJSON, nil)
}

// Decline is returned by a FinishLoginWith callback that refuses the login
// after the assertion verified: the sign counter is still recorded, and
// whatever the callback wrote is committed with it (e.g. an audit record),
// so it must write nothing it would not keep.
type Decline struct{ Err error }

func (d *Decline) Error() string { return d.Err.Error() }
func (d *Decline) Unwrap() error { return d.Err }

// FinishLoginWith is FinishLogin that also runs then, when the assertion
// verified, inside the transaction that records the sign counter: the
// caller's decision and session are written in the same commit. then
// returning a *Decline commits the counter (and what then wrote) and
// FinishLoginWith returns the Decline; any other error rolls everything
// back and is returned.
func (rp *RP) FinishLoginWith(ctx context.Context, deviceID string, credentialJSON []byte, then func(ctx context.Context, tx store.Ops, res LoginResult) error) (LoginResult, error) {
	res, err := rp.finishLogin(ctx, deviceID, credentialJSON, then)
	if err != nil {
		return res, fmt.Errorf("finish login on device %s: %w", deviceID, err)
	}
	return res, nil
}

func (rp *RP) finishLogin(ctx context.Context, deviceID string, credentialJSON []byte, then func(context.Context, store.Ops, LoginResult) error) (LoginResult, error) {
	parsed, err := parseAssertion(credentialJSON)
	if err != nil {
		return LoginResult{}, verifyError("parse assertion", err)
	}
	p, err := rp.takeLogin(deviceID, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return LoginResult{}, err
	}
	credID := parsed.RawID
	if len(credID) > MaxCredentialIDLength {
		// No registration stores one this long (go-webauthn refuses it),
		// and the ID is not echoed: the error goes into the log and the
		// audit trail, which a kiosk must not fill a frame at a time.
		return LoginResult{}, fmt.Errorf("%w: credential ID of %d bytes is longer than WebAuthn allows (%d)", ErrUnknownCredential, len(credID), MaxCredentialIDLength)
	}
	cred, cached := rp.creds.get(credID)
	if !cached {
		if cred, err = rp.st.GetCredential(ctx, credID); errors.Is(err, store.ErrNotFound) {
			return LoginResult{}, fmt.Errorf("%w: credential %s is not registered", ErrUnknownCredential, b64(credID))
		} else if err != nil {
			return LoginResult{}, err
		}
	}
	if cred.State != store.CredentialActive {
		return LoginResult{}, fmt.Errorf("%w: credential %s is %s (%s)", ErrUnknownCredential, b64(credID), cred.State, cred.Reason)
	}
	if len(cred.PublicKey) > MaxPublicKeyLength {
		// Stored before registration bounded it (checkPublicKey): its
		// signature check could cost the hub seconds at every tap.
		return LoginResult{}, fmt.Errorf("%w: credential %s has a public key of %d bytes, longer than the %d a login checks: register the badge again", ErrUnknownCredential, b64(credID), len(cred.PublicKey), MaxPublicKeyLength)
	}

	// The user handle is all the check needs of the user; who they are
	// now is read in the transaction below.
	wu := &user{u: &store.User{ID: cred.UserID}, creds: []webauthn.Credential{toWebAuthn(&cred)}}
	handler := func(rawID, userHandle []byte) (webauthn.User, error) { return wu, nil }
	_, verified, err := rp.wa.ValidatePasskeyLogin(handler, p.session, parsed)
	if err != nil {
		return LoginResult{}, verifyError("verify assertion with credential "+b64(credID), err)
	}

	presented := parsed.Response.AuthenticatorData.Counter
	if verified.Authenticator.CloneWarning {
		rp.creds.forget(credID)
		if cached {
			// The remembered copy may be stale: revoked or suspended by
			// another path since this RP last wrote it. A suspension
			// ends the owner's live sessions (Config.Suspend), so it is
			// decided on the credential as stored: an old copy of a key
			// that was revoked must not end the sessions its owner has
			// opened since with another badge.
			if cred, err = rp.st.GetCredential(ctx, credID); err != nil {
				return LoginResult{}, fmt.Errorf("read credential %s: %w", b64(credID), err)
			}
			if cred.State != store.CredentialActive {
				return LoginResult{}, fmt.Errorf("%w: credential %s is %s (%s)", ErrUnknownCredential, b64(credID), cred.State, cred.Reason)
			}
		}
		if counterRegressed(cred.SignCount, presented) {
			return LoginResult{}, rp.suspendCloned(ctx, deviceID, &cred, cred.SignCount, presented)
		}
		// Otherwise the store's counter is below the remembered one
		// (reset by an administrator): the transaction below decides
		// on it.
	}
	if presented == 0 && cred.SignCount == 0 {
		// WebAuthn lets an authenticator leave its counter at 0, and then
		// two copies of it can never be told apart. A shared kiosk's
		// badge must count. (A counter a key starts at 0 for a new
		// credential moves at its first use.)
		return LoginResult{}, fmt.Errorf("%w: credential %s presented sign counter 0 and has never presented another; enroll a security key that counts its signatures", ErrNoCounter, b64(credID))
	}
	now := rp.now()
	var (
		stored  uint32
		res     LoginResult
		decline *Decline
	)
	err = rp.st.InTx(ctx, func(tx store.Ops) error {
		decline = nil
		// The common case in one statement: the credential is still
		// as read above, so the checks made on it hold.
		updated := cred
		updated.SignCount, updated.LastUsed = presented, now.UTC().Round(0) // as stored
		err := tx.RecordCredentialUse(ctx, credID, cred.SignCount, presented, now)
		if errors.Is(err, store.ErrConflict) {
			updated, err = tx.UpdateCredential(ctx, credID, func(c store.Credential) (store.Credential, error) {
				// Checked again inside the write: two copies of a key may race
				// past the check above with the same stored counter.
				if c.State != store.CredentialActive {
					return c, fmt.Errorf("%w: credential %s became %s during login", ErrUnknownCredential, b64(credID), c.State)
				}
				if counterRegressed(c.SignCount, presented) {
					stored = c.SignCount
					return c, errRegressed
				}
				c.SignCount = presented
				c.LastUsed = now
				return c, nil
			})
		}
		if err != nil {
			return err
		}
		// The user as of this transaction, so that the decision sees a
		// change committed while the signature was checked (a move to
		// another site, an end date), whose revocation pass ran before
		// this session existed and so could not end it.
		u, err := tx.GetUser(ctx, updated.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: credential %s belongs to user %s, who does not exist", ErrUnknownCredential, b64(credID), updated.UserID)
		}
		if err != nil {
			return err
		}
		if u.State == store.UserDeleted {
			return fmt.Errorf("%w: credential %s belongs to deleted user %s", ErrUnknownCredential, b64(credID), u.ID)
		}
		res = LoginResult{User: u, Credential: updated, UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified()}
		if then != nil {
			if err := then(ctx, tx, res); errors.As(err, &decline) {
				return nil
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Whatever changed the credential or failed, the next login
		// reads it afresh.
		rp.creds.forget(credID)
	}
	if errors.Is(err, errRegressed) {
		return LoginResult{}, rp.suspendCloned(ctx, deviceID, &cred, stored, presented)
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("record use of credential %s: %w", b64(credID), err)
	}
	rp.creds.put(res.Credential) // active: RecordCredentialUse or the check above made sure
	if decline != nil {
		return res, decline
	}
	return res, nil
}

// errRegressed is returned from inside the counter update to abort it.
var errRegressed = errors.New("sign counter regressed")

// counterRegressed is WebAuthn §7.2 step 21's clone signal.
func counterRegressed(stored, presented uint32) bool {
	return (presented != 0 || stored != 0) && presented <= stored
}

// suspendCloned suspends the credential and audits it in one transaction
// (Config.Suspend's, when set), and returns the ErrCloned error to report.
func (rp *RP) suspendCloned(ctx context.Context, deviceID string, cred *store.Credential, stored, presented uint32) error {
	detail := map[string]any{
		"credential_id":     b64(cred.ID),
		"stored_counter":    stored,
		"presented_counter": presented,
		"device":            deviceID,
	}
	var err error
	if rp.suspend != nil {
		err = rp.suspend(ctx, deviceID, cred.ID, ReasonCloned, detail)
	} else {
		err = rp.suspendAlone(ctx, deviceID, cred.ID, detail)
	}
	if errors.Is(err, ErrUnknownCredential) {
		return fmt.Errorf("credential %s presented counter %d, stored %d, and is no longer active: %w", b64(cred.ID), presented, stored, err)
	}
	if err != nil {
		return fmt.Errorf("suspend cloned credential %s (stored counter %d, presented %d): %w", b64(cred.ID), stored, presented, err)
	}
	return fmt.Errorf("%w: credential %s presented counter %d, stored %d; credential suspended", ErrCloned, b64(cred.ID), presented, stored)
}

// suspendAlone is suspendCloned's transaction without Config.Suspend: the
// credential and the audit record only.
func (rp *RP) suspendAlone(ctx context.Context, deviceID string, credID []byte, detail map[string]any) error {
	return rp.st.InTx(ctx, func(tx store.Ops) error {
		c, err := tx.UpdateCredential(ctx, credID, func(c store.Credential) (store.Credential, error) {
			detail["previous_state"] = c.State.String()
			if c.State != store.CredentialActive {
				return c, fmt.Errorf("%w: credential %s is %s", ErrUnknownCredential, b64(c.ID), c.State)
			}
			c.State = store.CredentialSuspended
			c.Reason = ReasonCloned
			return c, nil
		})
		if err != nil {
			return err
		}
		_, err = rp.log.Append(ctx, tx, audit.Entry{
			Actor:   "agent:" + deviceID,
			Action:  ActionCredentialSuspended,
			Subject: "user:" + c.UserID,
			System:  auditSystem,
			Detail:  detail,
		})
		return err
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
