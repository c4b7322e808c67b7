package hub

import (
	"container/heap"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// channel answers the kiosks' device channel: it is the push.Handler that
// joins WebAuthn (authn), policy and the lifecycle engine.
type channel struct {
	s  *Server
	rp *authn.RP
	// rules returns the login policy in force (lifecycle.Engine.Rules):
	// read inside each login's transaction, so a policy change committed
	// before it applies.
	rules func() policy.Rules
	// warnSeconds go into every session.grant (Config.SessionWarnings).
	warnSeconds []int
	acks        chan ack
	wave        atomic.Pointer[wave] // the change between its early pushes and its writes
	// waves are the waves not yet ended: the current one, and those of
	// changes committed in the same group commit, which end together
	// (see revokedBy).
	wavesMu sync.Mutex
	waves   []*wave
	// devices holds the record of each connected kiosk, read at hello: a
	// login needs its site on every tap. A device change that matters
	// (disable) closes the channel, so the entry never outlives it.
	devices sync.Map // device ID → store.Device
	// cleanups are the kiosks that report their start-up clean-up
	// failing (cleanup_report.go).
	cleanups cleanupFailures
	// renewals paces certificate renewals (renewCert).
	renewals renewLimiter
	// cuts are the channels opened with a certificate the hub takes only
	// until its grace ends (cutGraceEnded).
	cuts graceCuts
	// issued is, by channel context, the certificate the last renewal
	// over the channel issued (channelCert).
	issued sync.Map
	// kioskErrors paces the log lines of the error messages kiosks send
	// unasked (kioskerrors.go).
	kioskErrors kioskErrorLog
}

// ack is one acknowledged revocation push, recorded in batches.
type ack struct {
	sessionID string
	deviceID  string // the kiosk that acknowledged
	at        time.Time
	sent      time.Time
}

func deviceActor(deviceID string) lifecycle.Actor {
	return lifecycle.Actor{Name: "device:" + deviceID, System: "agent"}
}

var (
	_ push.Admitter = (*channel)(nil)
	_ push.Leaver   = (*channel)(nil)
)

// Admit refuses, before the connection replaces the kiosk's channel
// (push.Admitter), a hello that Hello would refuse for the kiosk's record
// or its certificate: whoever holds a key the hub no longer takes must not
// cut off the channel the kiosk has. Hello checks again, for what changed
// in between.
func (c *channel) Admit(ctx context.Context, deviceID string, _ wire.Hello) error {
	_, _, err := c.admit(ctx, deviceID)
	return err
}

// admit reads the kiosk's record and checks that it may open a channel:
// it is enrolled and active, and the hub still takes the certificate the
// channel was opened with, until end (the zero time when ctx carries
// none).
func (c *channel) admit(ctx context.Context, deviceID string) (d store.Device, end time.Time, err error) {
	d, err = c.s.st.GetDevice(ctx, deviceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d, end, &push.SafeError{Code: wire.ErrState, Message: "this kiosk is not enrolled", Err: err}
	case err != nil:
		// The store failed (busy, say): the kiosk is not told it is not
		// enrolled, which an operator would chase; an internal error,
		// which the agent retries with its backoff.
		return d, end, fmt.Errorf("read device %s: %w", deviceID, err)
	}
	if d.State != store.DeviceActive {
		return d, end, &push.SafeError{Code: wire.ErrState, Message: "this kiosk is disabled"}
	}
	// A channel is taken until its certificate expires, and one opened
	// with the certificate the kiosk's last renewal replaced only until
	// that certificate's grace ends. The handshake took it, but the peer
	// chooses when to say hello: one that comes after that end (or after
	// a renewal replaced the certificate the handshake took) is refused,
	// as the handshake would refuse the certificate now. Otherwise the
	// channel is closed at that end (cutDue), unless a renewal over it
	// makes it speak for a newer certificate.
	if cert := push.PeerCertificate(ctx); cert != nil {
		var superseded bool
		end, superseded = certTakenUntil(d, cert)
		if !end.After(c.s.cfg.Now()) {
			if superseded {
				return d, end, &push.SafeError{Code: wire.ErrState, Message: supersededHello,
					Err: fmt.Errorf("device %s: certificate %s was replaced by a renewal, and is no longer taken", deviceID, enroll.SerialOf(cert))}
			}
			return d, end, &push.SafeError{Code: wire.ErrState, Message: expiredHello,
				Err: fmt.Errorf("device %s: certificate %s expired at %s", deviceID, enroll.SerialOf(cert), cert.NotAfter.UTC().Format(time.RFC3339))}
		}
	}
	return d, end, nil
}

// Hello opens a kiosk's channel and gives the verdict on the session it
// reports, so a revocation that happened while it was offline applies now.
func (c *channel) Hello(ctx context.Context, deviceID string, h wire.Hello) (wire.Welcome, error) {
	d, end, err := c.admit(ctx, deviceID)
	if err != nil {
		return wire.Welcome{}, err
	}
	if cert := push.PeerCertificate(ctx); cert != nil {
		c.cuts.watch(ctx, deviceID, cert, end)
		// A channel opened with the kiosk's current certificate ends
		// the grace of the one its last renewal replaced.
		d = c.retirePrevCert(ctx, d, cert)
	}
	c.devices.Store(deviceID, d)
	c.s.seen.mark(deviceID, c.s.cfg.Now())
	w := wire.Welcome{DeviceID: d.ID, DeviceName: d.Name, Site: d.Site, ServerTime: c.s.cfg.Now().UTC()}
	if h.LiveSession != "" {
		reason, err := c.verdict(ctx, deviceID, h.LiveSession)
		if err != nil {
			return wire.Welcome{}, err
		}
		if reason != "" {
			w.Revoke = &wire.SessionRevoke{SessionID: h.LiveSession, Reason: reason}
		} else {
			w.Extend = c.liveExpiry(ctx, h.LiveSession)
		}
	}
	if h.Complete {
		c.endUnopened(ctx, deviceID, h)
	}
	// A badge enrollment authorised for this kiosk whose tap has not come
	// yet is sent again: the kiosk dropped the one it had with its last
	// channel. The push is queued behind the welcome.
	if es, ok := c.rp.PendingEnrollment(deviceID); ok {
		if _, err := c.s.push.Push(deviceID, wire.TypeEnrollStart, es); err != nil {
			c.s.cfg.Logger.Warn("pending enrollment not sent again", "device", deviceID, "err", err)
		}
	}
	return w, nil
}

// endUnopened ends the kiosk's live sessions that its complete hello does
// not name: their grants were lost with a channel that dropped, and the
// hub would show them live until they expire (lifecycle.EndUnopened). At
// nearly every hello there are none, and this is one indexed read.
// Failures are logged: the kiosk is let in all the same, and its next
// hello tries again.
func (c *channel) endUnopened(ctx context.Context, deviceID string, h wire.Hello) {
	log := c.s.cfg.Logger
	if len(h.Ended) > wire.MaxHelloEnded {
		log.Warn("hello names more ended sessions than the protocol allows: none of the kiosk's sessions is ended as not opened",
			"device", deviceID, "ended", len(h.Ended), "max", wire.MaxHelloEnded)
		return
	}
	keep := append(slices.Clip(h.Ended), h.LiveSession)
	live, err := c.s.st.ListSessions(ctx, store.SessionQuery{DeviceID: deviceID, LiveOnly: true})
	if err != nil {
		log.Warn("cannot read the kiosk's live sessions at hello", "device", deviceID, "err", err)
		return
	}
	if !slices.ContainsFunc(live, func(s store.Session) bool { return !slices.Contains(keep, s.ID) }) {
		return
	}
	ids, err := c.s.engine.EndUnopened(ctx, deviceActor(deviceID), deviceID, keep)
	if err != nil {
		log.Warn("cannot end the sessions the kiosk did not open; its next hello tries again", "device", deviceID, "err", err)
		return
	}
	if len(ids) > 0 {
		log.Info("ended sessions whose grants never reached the kiosk", "device", deviceID, "sessions", ids)
	}
}

// verdict says why a session a kiosk holds must end, or "" if it may go
// on. A store failure (busy, say) is no verdict but an error: the hello
// fails as the hub's failure, which the agent retries with its backoff,
// keeping the session under its offline grace meanwhile, rather than
// ending the session of whoever works at the kiosk as "forced".
func (c *channel) verdict(ctx context.Context, deviceID, sessionID string) (string, error) {
	// A change that pushes before it writes may have revoked the session
	// already, and the kiosk missed the push: it is not in the store yet.
	if reason, ok := c.revokedBy(deviceID, sessionID); ok {
		return reason, nil
	}
	sess, err := c.s.st.GetSession(ctx, sessionID)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("read session %s the kiosk reports: %w", sessionID, err)
	case err != nil || sess.DeviceID != deviceID:
		return wire.ReasonForced, nil // unknown to the hub: never keep it
	case !sess.Ended.IsZero():
		return sess.EndReason, nil
	case !sess.Expires.After(c.s.cfg.Now()):
		return lifecycle.ExpiryReasonOf(sess), nil
	}
	return "", nil
}

// Request answers one kiosk message.
func (c *channel) Request(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error) {
	switch env.Type {
	case wire.TypeChallengeRequest:
		ch, err := c.rp.BeginLogin(deviceID)
		if err != nil {
			return wire.Envelope{}, err
		}
		return wire.New(wire.TypeChallenge, "", "", ch)
	case wire.TypeLogin:
		start := time.Now()
		defer func() { c.s.metrics.loginTime.Observe(time.Since(start).Seconds()) }()
		var l wire.Login
		if err := decodeLogin(env, &l); err != nil {
			return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "login needs a credential", Err: err}
		}
		return c.login(ctx, deviceID, l)
	case wire.TypeRegister:
		var reg wire.Register
		if err := env.Unmarshal(&reg); err != nil {
			return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "register needs a credential", Err: err}
		}
		// The user's name comes from the transaction that stored the
		// credential: once the badge is registered, the answer must not
		// depend on another read of the store, whose failure (busy past
		// its timeout) the kiosk would show as a refusal, and the worker
		// would register the badge again.
		_, u, err := c.rp.FinishRegistrationWithUser(ctx, deviceID, reg.Credential)
		if err != nil {
			// The kiosk gets a code saying what to do (agent/wire's
			// registration refusals); the log has the whole reason. Any
			// error ends the enrollment: an older agent takes every one
			// as a refusal.
			code, msg, ok := authn.RegistrationRefusal(err)
			if !ok {
				return wire.Envelope{}, fmt.Errorf("register: %w", err) // internal
			}
			c.s.cfg.Logger.Warn("credential registration refused", "device", deviceID, "code", code, "err", err)
			return wire.Envelope{}, &push.SafeError{Code: code, Message: "registration refused: " + msg, Err: err}
		}
		return wire.New(wire.TypeRegistered, "", "", wire.Registered{User: u.UserName})
	case wire.TypeSessionEnd:
		var se wire.SessionEnd
		if err := env.Unmarshal(&se); err != nil {
			return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "session.end needs session_id and reason", Err: err}
		}
		if !wire.KnownReason(se.Reason) {
			// The reason goes into the session record and the audit
			// trail: a kiosk may not write what it likes there.
			return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "session.end: unknown reason (see agent/wire's Reason constants)", Err: fmt.Errorf("reason %q", store.Clip(se.Reason, maxKioskErrorCode))}
		}
		if err := c.s.engine.EndSessionOn(ctx, deviceActor(deviceID), deviceID, se.SessionID, se.Reason); err != nil {
			return wire.Envelope{}, err
		}
		return wire.New(wire.TypeAck, "", "", nil)
	case wire.TypeCleanupReport:
		return c.cleanupReport(ctx, deviceID, env)
	case wire.TypeCertRenew:
		var cr wire.CertRenew
		if err := env.Unmarshal(&cr); err != nil {
			return wire.Envelope{}, &push.SafeError{Code: wire.ErrBadMessage, Message: "cert.renew needs a csr", Err: err}
		}
		return c.renewCert(ctx, deviceID, cr)
	case wire.TypeError:
		var e wire.Error
		_ = env.Unmarshal(&e)
		e.Code, e.Message = store.Clip(e.Code, maxKioskErrorCode), store.Clip(e.Message, maxKioskErrorMessage)
		if env.Re == "" {
			// Nothing but a log line, which a kiosk could ask for as fast
			// as it can send: a few a minute per kiosk (kioskErrorLines).
			c.kioskErrors.logLine(ctx, c.s.cfg.Logger, deviceID, c.s.cfg.Now(), slog.LevelWarn, "kiosk reported an error",
				[]any{"device", deviceID, "code", e.Code, "message", e.Message},
				"kiosk reports errors faster than the hub logs them: those it sends until the time given are not logged, and the first logged after says how many were dropped (dropped_before)",
				"code", e.Code)
			return wire.Envelope{}, nil
		}
		// An error answering a push (a session.revoke whose teardown failed,
		// an enroll.start the kiosk could not take) means a session may
		// still be open there: operators must see it, in the log and the
		// audit trail. The push stays unacknowledged.
		c.s.cfg.Logger.Error("kiosk could not carry out a push", "device", deviceID, "push", env.Re, "code", e.Code, "message", e.Message)
		err := c.s.st.InTx(ctx, func(tx store.Ops) error {
			_, err := c.s.audit.Append(ctx, tx, auditEntry(deviceActor(deviceID), "device.push_failed", "device:"+deviceID,
				map[string]any{"push": env.Re, "code": e.Code, "message": e.Message}))
			return err
		})
		return wire.Envelope{}, err
	}
	// The type is the kiosk's (a frame's worth, at most): cut short for the log.
	return wire.Envelope{}, fmt.Errorf("%s: %w", store.Clip(env.Type, maxKioskErrorCode), push.ErrUnknownType)
}

// A kiosk's error message goes into the hub log and, answering a push,
// the audit trail: its code and message are cut to these many bytes, so
// that a kiosk cannot write a frame's worth (wire.MaxMessageBytes) into
// either with each message. Wire error codes are a few words; a teardown
// failure says what survived in a line.
const (
	maxKioskErrorCode    = 64
	maxKioskErrorMessage = 1024
)

// login verifies an assertion, decides, and opens the session, recording
// the credential's use, the decision and the session in one commit.
// Refusals tell the kiosk a safe code and the log and audit trail the whole
// reason.
func (c *channel) login(ctx context.Context, deviceID string, l wire.Login) (wire.Envelope, error) {
	d, err := c.device(ctx, deviceID)
	if err != nil {
		return wire.Envelope{}, err
	}
	var (
		sess  store.Session
		dec   policy.Decision
		actor = deviceActor(deviceID)
	)
	res, err := c.rp.FinishLoginWith(ctx, deviceID, l.Credential, func(ctx context.Context, tx store.Ops, res authn.LoginResult) error {
		u := res.User
		roles, err := tx.GroupNamesOf(ctx, u.ID)
		if err != nil {
			return err
		}
		now := c.s.cfg.Now().UTC()
		// Only the grants in force now can give a role: policy.Decide
		// counts no other (no look-ahead to one about to start), so the
		// ended and revoked ones a long-serving worker piles up are not
		// read, decoded and skipped on every tap.
		grants, err := tx.ListActiveGrants(ctx, u.ID, now)
		if err != nil {
			return err
		}
		// Dates sent as calendar days are read in this kiosk's site zone.
		if u, err = c.s.engine.UserAt(ctx, tx, u, d.Site); err != nil {
			return err
		}
		u, exts, err := c.timeInput(ctx, tx, u, now)
		if err != nil {
			return err
		}
		prof, perr := c.profile(d)
		in := policy.Input{User: u, Roles: roles, Grants: grants, Extensions: exts, Device: d, DeviceMaxSession: c.s.deviceMaxSession(d.Profile),
			Now: now, UserVerified: res.UserVerified, Rules: c.rules()}
		if perr == nil {
			in.ProfileRequiresUV = func(role string) bool { return prof.UVFor(role) == "required" }
			in.ProfileApps = func(role string) []string {
				var ids []string
				for _, a := range prof.AppsFor(role) {
					ids = append(ids, a.ID)
				}
				return ids
			}
		}
		dec = policy.Decide(in)
		if dec.Allow {
			c.applyProfile(d, prof, perr, res, &dec)
		}
		if !dec.Allow {
			if _, err := c.s.audit.Append(ctx, tx, auditEntry(actor, "login.refused", "user:"+u.ID, map[string]any{"device": deviceID, "code": dec.Code, "why": dec.Detail})); err != nil {
				return err
			}
			return &authn.Decline{Err: errors.New(dec.Detail)}
		}
		sess = store.Session{ID: store.NewID(), UserID: u.ID, DeviceID: deviceID, Role: dec.Role, Apps: dec.Apps, Started: now, Expires: dec.ExpiresAt,
			ExpiryReason: expiryReason(dec.EndsBy)}
		detail := map[string]any{"endsBy": dec.EndsBy, "credential": fmt.Sprintf("%x", res.Credential.ID), "userVerified": res.UserVerified}
		if len(dec.Withheld) > 0 {
			detail["withheld"] = dec.Withheld
		}
		if len(dec.NotCounted) > 0 {
			detail["notCounted"] = dec.NotCounted
		}
		_, err = c.s.engine.StartSessionIn(ctx, tx, actor, sess, detail)
		return err
	})
	var decline *authn.Decline
	switch {
	case errors.As(err, &decline):
		c.s.metrics.logins.WithLabelValues(dec.Code).Inc()
		c.s.cfg.Logger.Info("login refused", "device", deviceID, "user", res.User.ID, "code", dec.Code, "why", dec.Detail)
		return wire.New(wire.TypeLoginRefused, "", "", wire.LoginRefused{Reason: dec.Code, NextChallenge: c.nextChallenge(deviceID)})
	case errors.Is(err, lifecycle.ErrDeviceDisabled):
		return c.refuse(ctx, deviceID, "", wire.RefusedNotAllowedHere, "the kiosk was disabled during the login")
	case err != nil:
		code := authn.RefusalCode(err)
		if code == "" {
			return wire.Envelope{}, err
		}
		if errors.Is(err, authn.ErrCloned) {
			// The kiosk reads it as any unrecognised badge; the operator
			// must not: a copy of the key is in use, here or elsewhere.
			c.s.cfg.Logger.Warn("possible cloned badge: its sign counter went backwards; the credential is suspended and its owner's sessions ended (audit credential.suspended)",
				"device", deviceID, "err", err)
		}
		return c.refuse(ctx, deviceID, "", code, err.Error())
	}
	if ctx.Err() != nil {
		// The channel ended while the login was deciding: the grant
		// goes nowhere, and the kiosk's hello on a newer channel may
		// have looked for the sessions it did not open before this one
		// committed (see lostGrant).
		c.lostGrant(ctx, deviceID, sess.ID)
		return wire.Envelope{}, fmt.Errorf("login on a channel that ended: %w", ctx.Err())
	}
	c.s.metrics.logins.WithLabelValues("granted").Inc()
	c.s.cfg.Logger.Debug("session started", "user", res.User.ID, "device", deviceID, "session", sess.ID, "role", dec.Role, "expires", dec.ExpiresAt)
	return wire.New(wire.TypeSessionGrant, "", "", wire.SessionGrant{
		SessionID: sess.ID, User: res.User.UserName, DisplayName: res.User.DisplayName, Role: dec.Role, Apps: dec.Apps, ExpiresAt: dec.ExpiresAt,
		ExpiryReason: sess.ExpiryReason, WarnSeconds: c.warnSeconds, NextChallenge: c.nextChallenge(deviceID),
	})
}

// lostGrant ends, as not_opened, the session a login opened on a channel
// that ended before the login committed. A newer channel of the kiosk
// replaces the old one (push ends the old channel's context) before its
// hello runs, and that hello's end of the sessions the kiosk did not open
// (endUnopened) reads them before this commit, or the login's check of
// the context finds it ended: one of the two ends the session. Left to
// the next complete hello, it would stay live in the hub (console,
// metrics, the worker counted as signed in) until it expires. The
// channel's context has ended, so the end is made without it. A failure
// is logged: the kiosk's next complete hello ends the session.
func (c *channel) lostGrant(ctx context.Context, deviceID, sessionID string) {
	ended, err := c.s.engine.EndNotOpened(context.WithoutCancel(ctx), deviceActor(deviceID), deviceID, sessionID)
	switch {
	case err != nil:
		c.s.cfg.Logger.Warn("cannot end the session of a login whose channel ended; the kiosk's next complete hello ends it", "device", deviceID, "session", sessionID, "err", err)
	case ended:
		c.s.cfg.Logger.Info("ended the session of a login whose channel ended before it committed", "device", deviceID, "session", sessionID)
	}
}

// nextChallenge is the challenge that goes with the answer to a login, so
// that the kiosk's next tap costs one round trip without a
// challenge.request in between (the one it used is spent). On failure the
// answer goes without one, and the kiosk asks.
func (c *channel) nextChallenge(deviceID string) *wire.Challenge {
	ch, err := c.rp.BeginLogin(deviceID)
	if err != nil {
		c.s.cfg.Logger.Warn("next challenge", "device", deviceID, "err", err)
		return nil
	}
	return &ch
}

// applyProfile refuses an allowed decision the kiosk's hardware profile
// (prof, or the error reading it) does not allow: an unknown profile, or
// an authenticator model off its allow-list. The profile's user
// verification and apps per role are part of the decision itself
// (policy.Input's ProfileRequiresUV and ProfileApps).
func (c *channel) applyProfile(d store.Device, prof *profiles.Profile, err error, res authn.LoginResult, dec *policy.Decision) {
	if err != nil {
		c.s.cfg.Logger.Error("login refused: the kiosk's hardware profile is unknown", "device", d.ID, "err", err)
		dec.Allow, dec.Code = false, wire.RefusedNotAllowedHere
		dec.Detail = fmt.Sprintf("kiosk %s's hardware profile %q is unknown to this hub", d.Name, d.Profile)
		return
	}
	if !prof.AAGUIDAllowed(res.Credential.AAGUID) {
		dec.Allow, dec.Code = false, wire.RefusedNotAllowedHere
		dec.Detail = fmt.Sprintf("authenticator model %x is not on profile %s's allow-list", res.Credential.AAGUID, prof.Name)
		return
	}
	// A model registered at a kiosk that lists none is what the badge
	// claimed; here, as at this profile's own registrations, only an
	// attestation's proof counts while the hub can prove models.
	if len(prof.AllowedAAGUIDs) > 0 && res.Credential.ModelUnproven && c.rp.ProvesModels() {
		dec.Allow, dec.Code = false, wire.RefusedNotAllowedHere
		dec.Detail = fmt.Sprintf("authenticator model %x is on profile %s's allow-list, but no attestation proved it when the badge was registered: enroll the badge again at a kiosk of this profile", res.Credential.AAGUID, prof.Name)
	}
}

// renewCert signs a kiosk's CSR for a fresh certificate, if the kiosk is
// still enabled: a disable leaves its channel open for a moment (for the
// revocation pushes), and a request sent then must not get a certificate.
// The check, the signature, the device's new serials and the audit record
// of the certificate issued are one transaction, so a disable commits
// either before (refused) or after the issuance.
//
// The new certificate becomes the only one the hub takes for the device
// (store.Device.CertSerial), with the one this channel was opened with
// for enroll.ReplacedCertGrace: the certificate the kiosk proved it holds,
// which is not always the last one issued (a kiosk that did not get the
// last renewal's answer renews with the one before). The renewal does not
// cut that grace short, though its request was signed with the new key:
// the kiosk may not have stored the answer. A channel opened with the new
// certificate does (retirePrevCert). A channel opened
// with a certificate the hub no longer takes (a channel that outlived a
// renewal and its grace) gets no certificate and is closed: the kiosk
// reconnects with its newest one and renews then.
//
// The channel a renewal was made over speaks for the certificate it
// issued from then on (channelCert): its peer signed the request with the
// new key, so it holds the kiosk's newest certificate, and it is not
// closed when the certificate it was opened with runs out of grace, nor
// refused at its next renewal (which is made as with the certificate the
// channel was opened with while that one is still taken). The agent keeps that channel; closing it
// a day after every renewal would reconnect every kiosk enrolled together
// at once, for nothing.
//
// A kiosk gets at most one certificate by renewal per renewInterval.
func (c *channel) renewCert(ctx context.Context, deviceID string, cr wire.CertRenew) (wire.Envelope, error) {
	opened := push.PeerCertificate(ctx)
	if opened == nil {
		// Every channel carries one (push.Hub.ServeHTTP).
		return wire.Envelope{}, fmt.Errorf("renew the certificate of device %s: the channel's certificate is unknown", deviceID)
	}
	issued := c.channelCert(ctx) // opened, unless a renewal was made over the channel
	presented := enroll.SerialOf(opened)
	now := c.s.cfg.Now()
	done, wait := c.renewals.start(deviceID, now)
	if wait > 0 {
		return wire.Envelope{}, &push.SafeError{Code: wire.ErrState,
			Message: fmt.Sprintf("this kiosk was issued a certificate less than %s ago: renew again in %s", renewInterval, wait.Round(time.Second)),
			Err:     fmt.Errorf("device %s renews more often than once per %s", deviceID, renewInterval)}
	}
	var (
		der         []byte
		leaf        *x509.Certificate
		stale       bool              // the channel's certificate is no longer taken
		expired     *x509.Certificate // the channel's certificate, expired
		expiredName string
		fromPrev    bool // renewed with the certificate the last renewal replaced
		d           store.Device
	)
	err := c.s.st.InTx(ctx, func(tx store.Ops) error {
		var err error
		d, err = tx.UpdateDevice(ctx, deviceID, func(d store.Device) (store.Device, error) {
			if d.State != store.DeviceActive {
				return d, &push.SafeError{Code: wire.ErrState, Message: "this kiosk is disabled: it gets no new certificate", Err: fmt.Errorf("device %s is disabled", deviceID)}
			}
			// The certificate the channel was opened with while the hub
			// takes it, else the one a renewal over the channel issued
			// (see above). The former first: a kiosk that did not store
			// what the last renewal over this channel issued still holds
			// it, and a renewal presented as the issued one would make
			// that one the previous certificate and drop the one the
			// kiosk holds at once, instead of after its grace.
			// An expired certificate is not renewed (it no longer
			// opens a channel either): the channel's one then, unless a
			// renewal over the channel issued it a newer one.
			peer := opened
			if issued != opened && (!d.TakesCert(enroll.SerialOf(opened), opened.NotBefore, now) || !now.Before(opened.NotAfter)) {
				peer = issued
			}
			presented = enroll.SerialOf(peer)
			if !d.TakesCert(presented, peer.NotBefore, now) {
				stale = true
				return d, &push.SafeError{Code: wire.ErrState, Message: "this channel was opened with a device certificate that has since been replaced: reconnect with the newest one, then renew",
					Err: fmt.Errorf("device %s: the channel's certificate %s is superseded by %s", deviceID, presented, d.CertSerial)}
			}
			// Unless the hub CA has expired too (device certificates end
			// with it): then signing fails below, the hub's fault, which
			// no new enrollment would mend.
			if !now.Before(peer.NotAfter) && now.Before(c.s.certs.CA.Cert.NotAfter) {
				expired, expiredName = peer, d.Name
				return d, &push.SafeError{Code: wire.ErrState, Message: expiredRenewal,
					Err: fmt.Errorf("device %s: the channel's certificate %s expired at %s", deviceID, presented, peer.NotAfter.UTC().Format(time.RFC3339))}
			}
			var err error
			der, err = c.s.certs.CA.SignDeviceCSR(cr.CSR, deviceID, enroll.DeviceCertLifetime, now)
			if errors.Is(err, certs.ErrInvalidCSR) {
				return d, &push.SafeError{Code: wire.ErrBadMessage, Message: "the certificate request is not valid", Err: err}
			} else if err != nil {
				// The hub's CA cannot sign: the hub's fault, answered
				// wire.ErrInternal and logged by push.
				return d, fmt.Errorf("issue a renewed certificate for device %s: %w", deviceID, err)
			}
			if leaf, err = x509.ParseCertificate(der); err != nil {
				return d, fmt.Errorf("issue a renewed certificate for device %s: %w", deviceID, err)
			}
			// Renewed with the previous certificate (the kiosk missed the
			// last renewal's answer): it stays the previous one, but its
			// grace is not extended, or a key the kiosk no longer has
			// could be kept alive by renewing with it within every grace.
			fromPrev = d.PrevCertSerial != "" && presented == d.PrevCertSerial && presented != d.CertSerial
			if !fromPrev {
				d.PrevCertUntil = now.Add(enroll.ReplacedCertGrace)
			}
			d.CertSerial, d.CertIssued, d.PrevCertSerial = enroll.SerialOf(leaf), leaf.NotBefore, presented
			return d, nil
		})
		if err != nil {
			return err
		}
		_, err = c.s.audit.Append(ctx, tx, auditEntry(deviceActor(deviceID), "device.cert_renew", "device:"+deviceID,
			map[string]any{"name": d.Name, "serial": d.CertSerial, "notAfter": leaf.NotAfter.UTC(), "renewedWith": presented}))
		return err
	})
	done(err == nil)
	log := c.s.cfg.Logger
	switch {
	case stale:
		log.Warn("certificate renewal refused: the kiosk's channel was opened with a certificate since replaced; closing it so that the kiosk reconnects with its newest one",
			"device", deviceID, "serial", presented)
		c.s.push.DisconnectChannel(ctx, supersededClose) // this channel, not a newer one of the device
	case expired != nil:
		log.Warn("certificate renewal refused: the kiosk's device certificate has expired, and an expired certificate is not renewed; closing its channel. It is refused from now on: find out why its renewals failed (the agent's log), disable it and enroll it again",
			"device", deviceID, "name", expiredName, "serial", presented, "not_after", expired.NotAfter.UTC())
		c.s.push.DisconnectChannel(ctx, expiredClose)
	case err == nil && fromPrev:
		log.Warn("device certificate renewed with the certificate the last renewal replaced: the kiosk did not take that renewal's answer, or the old key is used elsewhere; the certificate the last renewal issued is no longer taken",
			"device", deviceID, "name", d.Name, "renewed_with", presented, "issued", d.CertSerial, "previous_until", d.PrevCertUntil)
	}
	if err != nil {
		return wire.Envelope{}, err
	}
	// The channel speaks for the new certificate from now on, until it
	// expires.
	c.speaksFor(ctx, leaf)
	c.cuts.watch(ctx, deviceID, leaf, leaf.NotAfter)
	return wire.New(wire.TypeCert, "", "", wire.Cert{Cert: der})
}

// channelCert is the device certificate the channel of ctx speaks for:
// the one the last renewal over it issued, else the one it was opened
// with (nil when unknown).
func (c *channel) channelCert(ctx context.Context) *x509.Certificate {
	if v, ok := c.issued.Load(ctx); ok {
		return v.(*x509.Certificate)
	}
	return push.PeerCertificate(ctx)
}

// speaksFor records that the channel of ctx holds cert, issued by a
// renewal over it, until the channel ends.
func (c *channel) speaksFor(ctx context.Context, cert *x509.Certificate) {
	if _, loaded := c.issued.Swap(ctx, cert); !loaded {
		context.AfterFunc(ctx, func() { c.issued.Delete(ctx) })
	}
}

// supersededClose is the close reason of a channel whose device
// certificate the hub no longer takes, and supersededHello the refusal of
// its hello; expiredClose, expiredHello and expiredRenewal say the same of
// a certificate that has expired, which only a new enrollment replaces.
const (
	supersededClose = "device certificate superseded: reconnect with the newest one"
	supersededHello = "this channel's device certificate was replaced by a renewal: reconnect with the newest one"
	expiredClose    = "device certificate expired: enroll this kiosk again"
	expiredHello    = "this kiosk's device certificate has expired: enroll this kiosk again"
	expiredRenewal  = "this kiosk's device certificate has expired and cannot be renewed: enroll this kiosk again"
)

// certTakenUntil says until when the hub takes cert, a certificate of
// device d, on a channel: until it expires, and a certificate the hub
// takes only until its grace ends (certGraceEnd) until then if that is
// sooner, which superseded then says. The zero time (over already, and
// superseded) for a certificate the hub does not take at all.
func certTakenUntil(d store.Device, cert *x509.Certificate) (end time.Time, superseded bool) {
	if end, limited := certGraceEnd(d, cert); limited && end.Before(cert.NotAfter) {
		return end, true
	}
	return cert.NotAfter, false
}

// certGraceEnd says until when the hub takes cert, a certificate of
// device d (store.Device.TakesCert): limited is false when it takes it
// for good (d's current certificate, one issued after it, any while d
// records no serial), until a renewal changes d; otherwise end is
// d.PrevCertUntil for the certificate d's last renewal replaced, and the
// zero time (over already) for any other.
func certGraceEnd(d store.Device, cert *x509.Certificate) (end time.Time, limited bool) {
	serial := enroll.SerialOf(cert)
	// At PrevCertUntil the grace is over: what TakesCert takes then, it
	// takes whatever the time.
	if d.TakesCert(serial, cert.NotBefore, d.PrevCertUntil) {
		return time.Time{}, false
	}
	if serial == d.PrevCertSerial {
		return d.PrevCertUntil, true
	}
	return time.Time{}, true
}

// cutGraceEnded closes, every interval until ctx ends, the channels whose
// certificate the hub no longer takes by its clock (graceCuts): one that
// has expired, or one a renewal replaced whose grace has ended. The TLS
// handshake checks a device certificate once, and a channel lives for
// days: a channel opened with the certificate a renewal replaced (by a
// kiosk that lost the renewal's answer, or by whoever else holds its old
// key) would otherwise go on past the grace for as long as it lasts, and
// one whose kiosk never renewed past its certificate's expiry. A channel
// a renewal was made over is cut only when the certificate it was issued
// expires: it speaks for that one (renewCert). Each pass costs a look at
// the earliest end until one is due.
func (c *channel) cutGraceEnded(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.cutDue(ctx, c.s.cfg.Now())
		}
	}
}

// cutDue closes the channels whose certificate the hub no longer takes at
// now (certTakenUntil). Each device is read again first: its record may
// have changed since the channel was watched (a database restored from a
// backup). A channel whose device cannot be read is closed all the same:
// the kiosk reconnects, and the TLS handshake decides.
func (c *channel) cutDue(ctx context.Context, now time.Time) {
	log := c.s.cfg.Logger
	for _, cut := range c.cuts.due(now) {
		if cut.ctx.Err() != nil {
			continue // the channel has ended meanwhile
		}
		d, err := c.s.st.GetDevice(ctx, cut.deviceID)
		// The certificate the channel speaks for now, read after its
		// device: a renewal over the channel while due had taken it out
		// (so that the renewal's watch added it again) made it speak for
		// the certificate the renewal issued, which the hub takes.
		cert := cut.cert
		if cc := c.channelCert(cut.ctx); cc != nil {
			cert = cc
		}
		serial := enroll.SerialOf(cert)
		reason := supersededClose
		switch {
		case err != nil && ctx.Err() != nil:
			return // the hub is stopping and closes every channel
		case err != nil:
			log.Warn("cannot read the device of a channel whose certificate the hub takes no longer (its grace ended, or it expired): closing the channel; the kiosk reconnects and the TLS handshake decides",
				"device", cut.deviceID, "serial", serial, "err", err)
		case d.State != store.DeviceActive:
			log.Info("closing the channel of a disabled kiosk whose certificate's grace has ended or that has expired", "device", d.ID, "name", d.Name, "serial", serial)
		default:
			end, superseded := certTakenUntil(d, cert)
			if end.After(now) {
				c.cuts.watch(cut.ctx, cut.deviceID, cert, end)
				continue
			}
			if !superseded {
				reason = expiredClose
				log.Warn("closing a kiosk's channel: its device certificate has expired, and the kiosk did not renew it over the channel. It is refused from now on: find out why its renewals failed (the agent's log), disable it and enroll it again",
					"device", d.ID, "name", d.Name, "site", d.Site, "serial", serial, "not_after", cert.NotAfter.UTC())
				break
			}
			args := []any{"device", d.ID, "name", d.Name, "site", d.Site, "serial", serial, "current_serial", d.CertSerial, "grace_ended", cut.end.UTC()}
			// The kiosk lost its newest certificate, or it is not the
			// kiosk: as verifyDevice says at the handshake.
			log.Warn("closing a kiosk's channel opened with a device certificate a renewal replaced, whose grace has ended. A kiosk that lost its newest certificate is refused from now on (disable it and enroll it again); otherwise the kiosk's old key is in use elsewhere", args...)
		}
		c.s.push.DisconnectChannel(cut.ctx, reason)
	}
}

// graceCuts are the open channels with the time until which the hub
// takes their device certificate (certTakenUntil), earliest end first: a
// channel joins when it opens (Hello), moves when a renewal is made over
// it (renewCert: it then speaks for the certificate the renewal issued,
// until that one expires), and leaves when it ends or when it is due.
// Memory is one entry per channel, and a pass that finds nothing due
// looks at the first only.
type graceCuts struct {
	mu    sync.Mutex
	queue graceQueue
	byCtx map[context.Context]*graceCut // by the channel's context
}

// graceCut is one watched channel.
type graceCut struct {
	ctx      context.Context // the channel's (push.DisconnectChannel)
	deviceID string
	cert     *x509.Certificate // the channel's
	end      time.Time
	index    int         // in queue; -1 once out of it
	stop     func() bool // stops the removal at the channel's end
}

// watch has the channel of ctx (of deviceID, speaking for cert) closed
// at end unless it has ended by then; a channel watched already gets the
// new end and certificate.
func (g *graceCuts) watch(ctx context.Context, deviceID string, cert *x509.Certificate, end time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if e, ok := g.byCtx[ctx]; ok {
		e.end, e.cert = end, cert
		heap.Fix(&g.queue, e.index)
		return
	}
	if g.byCtx == nil {
		g.byCtx = make(map[context.Context]*graceCut)
	}
	e := &graceCut{ctx: ctx, deviceID: deviceID, cert: cert, end: end}
	heap.Push(&g.queue, e)
	g.byCtx[ctx] = e
	e.stop = context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if e.index >= 0 {
			heap.Remove(&g.queue, e.index)
			delete(g.byCtx, e.ctx)
		}
	})
}

// forget stops watching the channel of ctx, if it was.
func (g *graceCuts) forget(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.byCtx[ctx]; ok {
		heap.Remove(&g.queue, e.index)
		delete(g.byCtx, ctx)
		e.stop()
	}
}

// due takes the channels whose end is at or before now out and returns
// them.
func (g *graceCuts) due(now time.Time) []*graceCut {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*graceCut
	for len(g.queue) > 0 && !now.Before(g.queue[0].end) {
		e := heap.Pop(&g.queue).(*graceCut)
		delete(g.byCtx, e.ctx)
		e.stop()
		out = append(out, e)
	}
	return out
}

// len is the number of channels watched.
func (g *graceCuts) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// graceQueue is a container/heap of graceCuts by end.
type graceQueue []*graceCut

func (q graceQueue) Len() int           { return len(q) }
func (q graceQueue) Less(i, j int) bool { return q[i].end.Before(q[j].end) }
func (q graceQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *graceQueue) Push(x any) {
	e := x.(*graceCut)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *graceQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}

// renewInterval is the least time between two certificates a kiosk gets
// by renewal. The agent renews at most once a minute whatever happens
// (agent.MinRenewInterval); a kiosk asking more often is faulty or is not
// the kiosk, and each renewal makes the certificate before it the
// previous one.
const renewInterval = time.Minute

// renewLimiter paces renewals per device (renewInterval), in memory: a
// restarted hub forgets, which costs at most one extra renewal.
type renewLimiter struct {
	mu    sync.Mutex
	last  map[string]time.Time // device ID → when its last renewal began
	swept time.Time            // when entries older than renewInterval were last dropped
}

// start begins a renewal of deviceID at now, or returns how long to wait
// when one began less than renewInterval before. done ends it: a renewal
// that issued nothing (issued false) does not count.
func (l *renewLimiter) start(deviceID string, now time.Time) (done func(issued bool), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = make(map[string]time.Time)
	}
	if now.Sub(l.swept) >= renewInterval {
		for id, t := range l.last {
			if now.Sub(t) >= renewInterval {
				delete(l.last, id)
			}
		}
		l.swept = now
	}
	prev, had := l.last[deviceID]
	// A renewal "after" now (the hub's clock was set back) does not hold
	// the kiosk up until the clock is back there.
	if had && !now.Before(prev) && now.Sub(prev) < renewInterval {
		return nil, prev.Add(renewInterval).Sub(now)
	}
	l.last[deviceID] = now
	return func(issued bool) {
		if issued {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if t, ok := l.last[deviceID]; ok && t.Equal(now) {
			if had {
				l.last[deviceID] = prev
			} else {
				delete(l.last, deviceID)
			}
		}
	}, 0
}

// profile returns the hardware profile kiosk d was enrolled with. A
// profile this hub does not know (its file was taken out of
// DATA/profiles) fails closed: its allow-list and user verification
// rules cannot be checked, so nothing registers or signs in there.
func (c *channel) profile(d store.Device) (*profiles.Profile, error) {
	if p, ok := c.s.profiles[d.Profile]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: kiosk %s was enrolled with hardware profile %q, which this hub does not know: put %s.json back in the data directory's %s/ and restart the hub, or enroll the kiosk again with a known profile",
		lifecycle.ErrInvalid, d.Name, d.Profile, d.Profile, ProfilesDir)
}

// refuse records a refused login and answers the kiosk's safe code.
func (c *channel) refuse(ctx context.Context, deviceID, userID, code, why string) (wire.Envelope, error) {
	c.s.metrics.logins.WithLabelValues(code).Inc()
	c.s.cfg.Logger.Info("login refused", "device", deviceID, "user", userID, "code", code, "why", why)
	subject := "device:" + deviceID
	if userID != "" {
		subject = "user:" + userID
	}
	err := c.s.st.InTx(ctx, func(tx store.Ops) error {
		_, err := c.s.audit.Append(ctx, tx, auditEntry(deviceActor(deviceID), "login.refused", subject, map[string]any{"device": deviceID, "code": code, "why": why}))
		return err
	})
	if err != nil {
		return wire.Envelope{}, err
	}
	return wire.New(wire.TypeLoginRefused, "", "", wire.LoginRefused{Reason: code, NextChallenge: c.nextChallenge(deviceID)})
}

// Acked queues a revocation acknowledgement for recording; the reader
// goroutine must not wait on the database.
func (c *channel) Acked(deviceID string, p push.Push, at time.Time) {
	if p.Type != wire.TypeSessionRevoke {
		return
	}
	rv, ok := p.Data.(wire.SessionRevoke)
	if !ok {
		return
	}
	if w := c.wave.Load(); w != nil {
		w.settle(rv.SessionID, deviceID)
	}
	select {
	case c.acks <- ack{sessionID: rv.SessionID, deviceID: deviceID, at: at, sent: p.Sent}:
	default:
		c.s.cfg.Logger.Warn("revocation ack dropped: recorder is behind", "session", rv.SessionID)
	}
}

// Leaving marks when a kiosk was last seen as its channel ends, before
// the channel leaves the registry (push.Leaver): marked in Disconnected,
// after, a scrape in between found the kiosk neither connected nor
// recently seen, and counted it away since its stored time, maybe days
// ago. A channel a newer one replaced is marked too, which is as true.
func (c *channel) Leaving(deviceID string) {
	c.s.seen.mark(deviceID, c.s.cfg.Now())
}

// Disconnected notes that a kiosk went away.
func (c *channel) Disconnected(deviceID string) {
	if w := c.wave.Load(); w != nil {
		w.settleDevice(deviceID)
	}
	c.devices.Delete(deviceID)
	c.s.cfg.Logger.Debug("kiosk disconnected", "device", deviceID)
}

// device returns a connected kiosk's record.
func (c *channel) device(ctx context.Context, deviceID string) (store.Device, error) {
	if d, ok := c.devices.Load(deviceID); ok {
		return d.(store.Device), nil
	}
	return c.s.st.GetDevice(ctx, deviceID)
}

// Ack batching. A mass revoke brings thousands of acks within a few
// hundred milliseconds, while the same CPUs are still pushing to the
// kiosks that have not acked yet. The recorder therefore waits until the
// acks pause for ackQuiet (or ackBatch of them are waiting, or the first
// has waited ackMaxWait) and writes them in one transaction: the writes
// come after the fan-out instead of competing with it, and the same index
// pages are rewritten once instead of dozens of times. Only the recording
// waits: each ack's time was taken when it arrived.
//
// A batch the store refuses for a reason that passes (the disk full, the
// database locked by another process: store.Outage) is kept and written
// again ackRetry later, with the acks that came meanwhile: a dropped ack
// leaves its revocation unacknowledged for good, and the teardown reports
// would count a kiosk that tore the session down as one that never did.
// What is kept is bounded by ackBatch; past it, acks wait in c.acks, and
// past that Acked drops them, as when the recorder is behind.
//
// When ctx ends (the hub shutting down), what the recorder holds and
// what is still queued is written before it returns, for at most
// ackFlushWait: the acks of the kiosks the shutdown disconnects arrive
// last, and dropped they would leave those revocations unacknowledged
// for good, as a refused batch did.
const (
	ackBatch     = 16384
	ackQuiet     = 25 * time.Millisecond
	ackMaxWait   = time.Second
	ackRetry     = time.Second
	ackFlushWait = 5 * time.Second
)

// recordAcks writes acknowledgements in batches, one transaction each,
// until ctx ends, then writes what it holds (flushAcks) and returns.
func (c *channel) recordAcks(ctx context.Context) {
	// The flush's ackFlushWait counts from the stop, not from the end of
	// a write the stop found running: that write cannot be cut short
	// (SQLite's BEGIN waits out its busy timeout while another process
	// holds the lock), and a window of its own after it would make the
	// shutdown wait up to twice as long, past what systemd waits.
	stopped := make(chan time.Time, 1)
	defer context.AfterFunc(ctx, func() { stopped <- time.Now() })()
	batch := make([]ack, 0, ackBatch)
	quiet := time.NewTimer(ackQuiet)
	quiet.Stop()
	var (
		retry    <-chan time.Time // while batch holds acks the store refused
		observed int              // batch[:observed] are in the metrics already
		failing  time.Time        // when the store began refusing them
	)
	for {
		in := c.acks
		if len(batch) == cap(batch) {
			in = nil // full of refused acks: the others wait in c.acks
		}
		select {
		case <-ctx.Done():
			c.flushAcks(ctx, stopped, batch, observed)
			return
		case a := <-in:
			batch = append(batch, a)
			if retry != nil {
				continue // written with the refused ones when the retry is due
			}
		case <-retry:
		}
		retry = nil
		first, last := time.Now(), time.Now()
		quiet.Reset(ackQuiet)
	collect:
		for len(batch) < cap(batch) {
			select {
			case a := <-c.acks:
				batch = append(batch, a)
				last = time.Now()
			case now := <-quiet.C:
				// The timer is not reset per ack (that would cost more
				// than the ack); it is re-armed for what is left of the
				// pause after the latest one.
				left := ackQuiet - now.Sub(last)
				if left <= 0 || now.Sub(first) >= ackMaxWait {
					break collect
				}
				quiet.Reset(min(left, ackMaxWait-now.Sub(first)))
			case <-ctx.Done():
				break collect
			}
		}
		quiet.Stop()
		if ctx.Err() != nil {
			c.flushAcks(ctx, stopped, batch, observed)
			return
		}
		err := c.writeAcks(ctx, batch)
		if err != nil && ctx.Err() != nil {
			// Cut short by the shutdown, or refused while it came:
			// nothing was written, and writing an ack twice changes
			// nothing. The flush tries again if its window from the
			// stop has not passed meanwhile.
			c.flushAcks(ctx, stopped, batch, observed)
			return
		}
		for _, a := range batch[observed:] {
			c.s.metrics.observeAck(a.at.Sub(a.sent))
		}
		observed = len(batch)
		if err == nil {
			if !failing.IsZero() {
				c.s.cfg.Logger.Info("revocation acks recorded again", "n", len(batch), "refused_since", failing.Format(time.RFC3339))
				failing = time.Time{}
			}
			batch, observed = batch[:0], 0
			continue
		}
		if _, what, do, ok := store.Outage(err); ok {
			// Logged once per outage: the retries would fill the log.
			if failing.IsZero() {
				failing = time.Now()
				c.s.cfg.Logger.Error("record revocation acks: "+what+"; they are kept and written again when the store allows", "n", len(batch), "err", err, "do", do)
			}
			retry = time.After(ackRetry)
			continue
		}
		c.s.cfg.Logger.Error("record revocation acks", "n", len(batch), "err", err)
		batch, observed, failing = batch[:0], 0, time.Time{}
	}
}

// writeAcks records batch in one transaction.
func (c *channel) writeAcks(ctx context.Context, batch []ack) error {
	return c.s.st.InTx(ctx, func(tx store.Ops) error {
		for _, a := range batch {
			if _, err := tx.AckRevocations(ctx, a.sessionID, a.deviceID, a.at); err != nil {
				return err
			}
		}
		return nil
	})
}

// flushAcks writes, once recordAcks' ctx has ended, the acks it holds
// (batch, of which batch[:observed] are in the metrics already) and
// those still queued in c.acks, ackBatch at a time, until ackFlushWait
// after the stop (the time stopped has, or now if it has none yet): the
// caller closes the store after. What the store refuses then, or what
// is left when that time has passed, is lost, and logged with its count.
func (c *channel) flushAcks(ctx context.Context, stopped <-chan time.Time, batch []ack, observed int) {
	at := time.Now()
	select {
	case at = <-stopped:
	default:
	}
	wctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), at.Add(ackFlushWait))
	defer cancel()
	for {
	drain:
		for len(batch) < cap(batch) {
			select {
			case a := <-c.acks:
				batch = append(batch, a)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return
		}
		for _, a := range batch[observed:] {
			c.s.metrics.observeAck(a.at.Sub(a.sent))
		}
		if err := c.writeAcks(wctx, batch); err != nil {
			c.s.cfg.Logger.Error("record revocation acks at shutdown: they are lost, and their revocations stay unacknowledged", "n", len(batch)+len(c.acks), "err", err)
			return
		}
		if len(batch) < cap(batch) {
			return
		}
		batch, observed = batch[:0], 0
	}
}

// pushRevocations sends session.revoke to the kiosks of the sessions the
// revocations ended. An offline kiosk gets the verdict when it reconnects.
// failed, when set, is called with the session of each push that could not
// be sent.
func (c *channel) pushRevocations(p *push.Hub, rs []store.Revocation, failed func(sessionID string)) {
	if failed == nil {
		failed = func(string) {}
	}
	outcome := func(r store.Revocation, err error) {
		if err == nil {
			return
		}
		failed(r.SessionID)
		if !errors.Is(err, push.ErrOffline) && !errors.Is(err, push.ErrClosed) {
			c.s.cfg.Logger.Warn("push session.revoke", "device", r.DeviceID, "session", r.SessionID, "err", err)
		}
	}
	out := make([]push.Outgoing, 0, len(rs))
	of := make([]int, 0, len(rs)) // index in rs of each push
	for i, r := range rs {
		if r.SessionID == "" || r.DeviceID == "" {
			continue
		}
		out = append(out, push.Outgoing{DeviceID: r.DeviceID, Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: r.SessionID, Reason: r.Reason}})
		of = append(of, i)
	}
	if len(rs) >= asyncPushes {
		// From a goroutine of its own (Server.revoked): the writes go
		// out from here, not through ten thousand writer goroutines.
		p.PushMany(out, func(i int, _ push.Push, err error) { outcome(rs[of[i]], err) })
		return
	}
	for i, o := range out {
		_, err := p.Push(o.DeviceID, o.Type, o.Data)
		outcome(rs[of[i]], err)
	}
}

// authorizeEnrollment starts a credential registration for user at the
// kiosk named device: the kiosk's next tap registers, if may (nil: no
// check) still allows the user then (authn.MayRegister).
func (c *channel) authorizeEnrollment(ctx context.Context, a lifecycle.Actor, p *push.Hub, userName, deviceName string, may authn.MayRegister) error {
	// Disabled users are looked up too, then refused: among active users
	// only, a name that spells a disabled user exactly found the one
	// active user named alike up to case (a database from before names
	// were folded), and armed the badge for that other worker.
	us, _, err := c.s.st.ListUsers(ctx, store.UserQuery{UserName: userName, States: []store.UserState{store.UserActive, store.UserPending, store.UserDisabled}})
	if err != nil {
		return err
	}
	if len(us) == 0 {
		return fmt.Errorf("user %q: %w", userName, store.ErrNotFound)
	}
	u, err := oneUserNamed(us, userName)
	if err != nil {
		return err
	}
	if u.State == store.UserDisabled {
		return fmt.Errorf("user %q is disabled: %w", u.UserName, store.ErrNotFound)
	}
	d, err := c.deviceByName(ctx, deviceName)
	if err != nil {
		return err
	}
	prof, err := c.profile(d)
	if err != nil {
		return err
	}
	var allowed [][]byte
	for _, id := range prof.AllowedAAGUIDs {
		allowed = append(allowed, id[:])
	}
	es, err := c.rp.BeginRegistrationIf(ctx, d.ID, u, allowed, may)
	if err != nil {
		return err
	}
	if _, err := p.Push(d.ID, wire.TypeEnrollStart, es); err != nil {
		// Refused (the kiosk is offline): it must not arm the kiosk when
		// it connects later, with nobody at it expecting that.
		c.rp.CancelRegistration(d.ID, es)
		return err
	}
	return c.s.st.InTx(ctx, func(tx store.Ops) error {
		_, err := c.s.audit.Append(ctx, tx, auditEntry(a, "credential.enroll_authorized", "user:"+u.ID, map[string]any{"device": d.ID, "deviceName": d.Name}))
		return err
	})
}

func (c *channel) deviceByName(ctx context.Context, name string) (store.Device, error) {
	d, err := c.s.st.GetDeviceByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		if d, err = c.s.st.GetDevice(ctx, name); err == nil {
			return d, nil
		}
		return store.Device{}, fmt.Errorf("kiosk %q: %w", name, store.ErrNotFound)
	}
	return d, err
}

// expiryReason is the session-end reason a kiosk reports when the session
// reaches its expiry, from what bounded it.
func expiryReason(endsBy string) string {
	if endsBy == policy.EndsByShift {
		return wire.ReasonShiftEnd
	}
	return wire.ReasonExpired
}
