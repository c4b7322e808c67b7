package agent

import (
	"slices"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// What the agent enforces whatever the hub says. A hub that is compromised,
// buggy or confused (a bad clock, a bad policy) must not keep a session
// open on a shared kiosk for longer than the kiosk allows, nor make the
// agent overflow a duration: session.grant and session.extend are checked
// here before they touch the live session.

// DefaultMaxSession is Config.MaxSession's default and upper bound: the
// longest maxSession a kiosk profile may set, which is also the hub
// policy's limit.
const DefaultMaxSession = profiles.MaxMaxSession

// maxSessionSlack is added to the latest end the agent accepts
// (GrantedAt + MaxSession): GrantedAt is the agent's estimate of the hub's
// clock when the grant arrived, a little after the hub decided it, so a
// hub keeping exactly to the kiosk's maxSession is never cut.
const maxSessionSlack = time.Minute

// maxWarnings bounds the hub's warning schedule (warn_seconds): the
// agent keeps the shortest leads, the ones closest to the end.
const maxWarnings = 8

// maxGrantApps bounds the apps of a session.grant: the most a hub's login
// policy can give one session, 50 apps (hub/policy.MaxAppsPerRole) for
// each of at most 200 roles (MaxRoles) and the policy's rule for any other
// role. No hub that keeps to its policy sends more; a broken or hostile
// one that did (a 64 KiB frame holds 16,000 one-letter apps) froze the
// kiosk's screen for seconds building a tile for each, and the agent does
// not open such a session (loginDone).
const maxGrantApps = (200 + 1) * 50

// latestEnd is the latest expires_at the live session s may have.
func (a *Agent) latestEnd(s *liveSession) time.Time {
	return s.GrantedAt.Add(a.cfg.MaxSession + maxSessionSlack)
}

// capExpiry returns t, or s's latest end when t is after it (cut).
func (a *Agent) capExpiry(s *liveSession, t time.Time) (end time.Time, cut bool) {
	if latest := a.latestEnd(s); t.After(latest) {
		return latest, true
	}
	return t, false
}

// Device certificates (enroll.go, renew.go). The hub decides a device
// certificate's lifetime, but the agent neither renews more often than
// MinRenewInterval, however short-lived the hub's certificates, nor stores
// one valid for longer than MaxDeviceCertLifetime, at enrollment or at
// renewal.
const (
	// MinRenewInterval is the least time between two renewal attempts,
	// whatever their outcome and across reconnects.
	MinRenewInterval = time.Minute
	// MaxRenewRetry caps the backoff after failed renewals: the wait
	// starts at ClientConfig.RenewRetry (1 min) and doubles at each
	// consecutive failure up to this.
	MaxRenewRetry = time.Hour
	// MaxDeviceCertLifetime is the longest a device certificate, enrolled
	// or renewed, may stay valid from now by the hub's clock; the hub
	// issues 30 days (hub/enroll.DeviceCertLifetime). A longer one is
	// refused: a stolen device key must not outlive the renewal cycle by
	// months.
	MaxDeviceCertLifetime = 30 * 24 * time.Hour
	// deviceCertBackdate is how far before its issuance a device
	// certificate may start (certs.SignDeviceCSR backdates an hour, for
	// kiosks whose clock lags the hub's): a certificate may span
	// MaxDeviceCertLifetime plus this in all.
	deviceCertBackdate = time.Hour
	// certClockSlack is the error allowed in the agent's estimate of the
	// hub's clock (at renewal the welcome's server_time plus the kiosk's
	// monotonic clock since: latency, and drift over a channel up for
	// days; at enrollment the answer's Date header, to the second) when a
	// device certificate's start and end are judged.
	certClockSlack = 5 * time.Minute
)

// hubNow is the agent's estimate of the hub's clock: the wall clock plus
// the skew the last welcome showed.
func (a *Agent) hubNow() time.Time {
	return a.wallNow().Add(time.Duration(a.skew.Load()))
}

// settleGrantTime gives a restored session that has no GrantedAt (saved by
// an agent from before it) one, now: it may then last MaxSession from
// this start at most. It reports whether it changed anything (the caller
// persists), and cuts an expiry past the latest end (MaxSession may have
// been lowered since).
func (a *Agent) settleGrantTime(s *liveSession) bool {
	changed := false
	if s.GrantedAt.IsZero() {
		s.GrantedAt = a.hubNow()
		changed = true
	}
	if end, cut := a.capExpiry(s, s.ExpiresAt); cut {
		a.log.Warn("restored session ends after the longest session this kiosk keeps open: cut",
			"session", s.ID, "expires_at", s.ExpiresAt, "now_ends", end, "max_session", a.cfg.MaxSession)
		s.ExpiresAt = end
		changed = true
	}
	return changed
}

// maxWarnLead is the longest warning lead taken from a schedule: a lead
// longer than the longest session would only warn at once. (It also
// keeps seconds from overflowing a time.Duration.)
func (a *Agent) maxWarnLead() time.Duration { return a.cfg.MaxSession }

// warnLeads turns a warning schedule (seconds before the end) into leads,
// largest first, without duplicates: only leads from 1 s to maxWarnLead,
// and at most maxWarnings of them, the shortest. Empty: none usable.
func (a *Agent) warnLeads(seconds []int) []time.Duration {
	limit := int64(a.maxWarnLead() / time.Second)
	out := make([]time.Duration, 0, min(len(seconds), maxWarnings+1))
	for _, sec := range seconds {
		if sec > 0 && int64(sec) <= limit {
			out = append(out, time.Duration(sec)*time.Second)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxWarnings {
		out = out[:maxWarnings]
	}
	slices.Reverse(out)
	return out
}

// cleanWarnSeconds is the grant's warn_seconds as the agent keeps them
// (session.json): the usable ones (warnLeads), in the hub's order when
// all of them are, largest first otherwise.
func (a *Agent) cleanWarnSeconds(seconds []int) []int {
	leads := a.warnLeads(seconds)
	if len(leads) == 0 {
		if len(seconds) > 0 {
			a.log.Warn("the hub's warning schedule has no usable lead: the agent's own is used", "warn_seconds", len(seconds))
		}
		return nil
	}
	if len(leads) == len(seconds) {
		return seconds // all usable, no duplicates
	}
	out := make([]int, len(leads))
	for i, l := range leads {
		out[i] = int(l / time.Second)
	}
	a.log.Warn("the hub's warning schedule was trimmed to the leads this agent uses", "given", len(seconds), "kept", out)
	return out
}

// revokeReason is the end reason of a session.revoke: the hub's, when it
// is one of the contract's session.ended reasons, forced otherwise (an
// empty one included), so that what the hub sends never becomes an event
// field the kiosk's screen does not know.
func revokeReason(r string) string {
	if wire.KnownReason(r) {
		return r
	}
	return wire.ReasonForced
}
