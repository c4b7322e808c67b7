package governance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Finding kinds.
const (
	KindDormant        = "dormant"
	KindOrphaned       = "orphaned"
	KindPrivilegeCreep = "privilege_creep"
	KindExternalNoEnd  = "external_without_end_date"
	KindUntrustedModel = "untrusted_authenticator"
)

// Finding rules: the precise condition a finding meets (see Findings).
const (
	RuleNoLogin                  = "no_login"
	RuleCredentialWithoutUser    = "credential_without_active_user"
	RuleSessionWithoutUser       = "session_without_active_user"
	RuleEndDatePassed            = "end_date_passed"
	RuleDuplicateExternalID      = "duplicate_external_id"
	RuleCredentialsNoEntitlement = "credentials_without_entitlements"
	RuleRoleWithoutSite          = "role_without_site"
	RuleRoleKeptAfterMove        = "role_kept_after_move"
	RuleGrantKeptAfterMove       = "grant_kept_after_move"
	RuleGrantChain               = "grant_chain"
	RuleNoEndDate                = "no_end_date"
	RuleModelRuledOut            = "model_ruled_out"
)

// Remediations: what POST /api/v1/findings/{id}/remediate does.
const (
	RemedyRevokeCredentials = "revoke_credentials" // every active credential of the user
	RemedyRevokeCredential  = "revoke_credential"  // the one credential
	RemedyEndSession        = "end_session"        // end the one kiosk session, pushed to its kiosk
	RemedyDeprovision       = "deprovision"        // disable and strip, like a SCIM leaver
	RemedyRemoveRole        = "remove_role"        // remove the group membership
	RemedyRevokeGrant       = "revoke_grant"
	RemedyNone              = "" // the fix belongs in the HR source
)

// Finding is one risk. Its ID is derived from what it is about, so the
// same condition keeps its ID from one report to the next, and a
// remediation names exactly what it acts on.
type Finding struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Rule        string     `json:"rule"`
	UserID      string     `json:"user_id"`
	User        string     `json:"user"` // userName (a deleted user's from its tombstone); empty when the store does not know the user
	Entitlement string     `json:"entitlement,omitempty"`
	Since       *time.Time `json:"since,omitempty"`
	Detail      string     `json:"detail"`
	Remediation string     `json:"remediation"`

	// What remediation acts on.
	groupID   string
	grantID   string
	credID    []byte
	sessionID string
	consoleID string
}

func newFinding(kind, rule string, u store.User, userID, ent string, since time.Time, remedy, detail string) Finding {
	sum := sha256.Sum256([]byte(kind + "\x00" + rule + "\x00" + userID + "\x00" + ent))
	return Finding{ID: rule + "-" + hex.EncodeToString(sum[:8]), Kind: kind, Rule: rule, UserID: userID, User: u.UserName,
		Entitlement: ent, Since: timePtr(since), Detail: detail, Remediation: remedy}
}

// FindingsOptions tunes a findings report.
type FindingsOptions struct {
	// DormantAfter overrides Config.DormantAfter when positive.
	DormantAfter time.Duration
}

// Findings evaluates every rule against the current state and the audit
// history, ordered by kind, rule, userName and ID:
//
//   - dormant/no_login: an active user holding an active credential whose
//     last login is DormantAfter or more ago. The last login is the latest
//     use of any of its credentials, or, when later, its creation, its
//     start date or a credential's registration (a badge enrolled
//     yesterday is not dormant).
//     Remediation: revoke its active credentials.
//   - orphaned/credential_without_active_user: an active credential whose
//     user is disabled, deleted or unknown. Remediation: revoke it.
//   - orphaned/session_without_active_user: a live kiosk session whose
//     user is disabled, deleted or unknown: someone is signed in at a
//     kiosk right now as a person who no longer has access, the most
//     dangerous orphan. Leaver flows end such sessions, so this means one
//     slipped through (a failed push, a restore, a direct store edit).
//     Remediation: end the session and push its revocation to the kiosk.
//   - orphaned/end_date_passed: an active or pending user whose end date
//     (from HR) has passed but who was not deprovisioned. Remediation:
//     deprovision.
//   - orphaned/duplicate_external_id: active or pending users sharing one
//     externalId (one identity at the IdP): each but the newest is
//     orphaned. Remediation: deprovision.
//   - orphaned/credentials_without_entitlements: an active or pending user
//     with an active credential but no site, no group and no current
//     grant: the IdP stopped managing it without disabling it.
//     Remediation: revoke its active credentials.
//   - privilege_creep/role_without_site: a group role of a user with no
//     sites (a role counts only at the user's sites). Remediation: remove
//     the membership.
//   - privilege_creep/role_kept_after_move: a group role the user held
//     before its latest mover event (a site removed, or the department
//     changed to another one: a department cleared or filled in is no
//     move; see history.mover), neither re-added since nor kept in an
//     access review since.
//     Remediation: remove the membership.
//   - privilege_creep/grant_kept_after_move: a current just-in-time grant
//     created before the user's latest mover event. Remediation: revoke it.
//   - privilege_creep/grant_chain: a current grant that continues an
//     unbroken chain of grants of the same role at the same site (each
//     starting no later than the previous one ended) lasting more than
//     MaxGrantChain: standing access outside the IdP. Remediation: revoke
//     it.
//   - external_without_end_date/no_end_date: an active or pending
//     contractor, vendor or temp without an end date. No remediation: the
//     end date belongs in the HR source.
//   - untrusted_authenticator/model_ruled_out: an active credential of an
//     authenticator model that Config.ModelRuledOut rules out (the FIDO
//     metadata reports it revoked, its attestation key or its users' keys
//     compromised, its user verification bypassable). Registration refuses
//     such a model from then on; the badges already registered are
//     reported here. Remediation: revoke the credential.
//   - dormant/console_no_signin: an enabled web-console account that has
//     not signed in for DormantAfter (its last passkey use, or its
//     creation or last change when later). user is the account's name,
//     user_id the ID of the hub user it is linked to, if any.
//     Remediation: disable the console account.
//   - orphaned/console_account_of_inactive_user: an enabled console
//     account linked to a hub user who is disabled (deprovisioned) or
//     deleted; or linked to no hub user while a hub user of its name is
//     disabled (an account the link migration could not place, which the
//     console and the leaver path take for that user's: user_id is then
//     empty and the detail names the user). Remediation: disable the
//     console account. Any other console account linked to no hub user
//     (the first admin of a hub, made by admin bootstrap, before or
//     without the identity provider provisioning them) is not an orphan
//     here: it never had an HR identity, and the console's Accounts page
//     lists it for review.
//   - orphaned/token_of_inactive_maker: an API token that still works
//     (not revoked, not expired, not replaced by a rotation to a
//     successor still in use) made or rotated on the console by an
//     account that is disabled or gone, or that stands for a hub user
//     who is disabled or deleted (as for console_account_of_inactive_user,
//     a disabled user of its name when it is linked to none). user is the
//     account's name, user_id its hub user's ID, entitlement token:<id>.
//     Disabling the account (the leaver path included) revokes its admin
//     tokens (store.DisableConsoleAccount), and the hub's start those of
//     accounts disabled or gone before it did; SCIM and metrics tokens
//     are left working, since revoking a SCIM token stops provisioning
//     for everyone, so an admin token is found here only while its
//     account is enabled and its hub user gone. No remediation in the hub:
//     rotating it shows a new secret to whoever rotates, to give to the
//     token's user, which a remediation cannot; the detail names the
//     console's and the CLI's rotate and revoke.
func (s *Service) Findings(ctx context.Context, opt FindingsOptions) ([]Finding, error) {
	fs, _, err := s.findings(ctx, opt)
	return fs, err
}

// findings is Findings, and the audit facts it evaluated them on.
func (s *Service) findings(ctx context.Context, opt FindingsOptions) ([]Finding, ruleFacts, error) {
	now := s.now()
	facts, err := s.facts(ctx)
	if err != nil {
		return nil, ruleFacts{}, fmt.Errorf("findings: %w", err)
	}
	d, err := loadDirectory(ctx, s.cfg.Store)
	if err != nil {
		return nil, ruleFacts{}, fmt.Errorf("findings: %w", err)
	}
	out, err := s.evaluate(ctx, s.cfg.Store, d, facts, now, s.dormantAfter(opt), "")
	if err != nil {
		return nil, ruleFacts{}, fmt.Errorf("findings: %w", err)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return strings.Compare(a.Kind+"\x00"+a.Rule+"\x00"+strings.ToLower(a.User)+"\x00"+a.ID, b.Kind+"\x00"+b.Rule+"\x00"+strings.ToLower(b.User)+"\x00"+b.ID)
	})
	if out == nil {
		out = []Finding{}
	}
	return out, facts, nil
}

// dormantAfter is how long without a login makes an account dormant.
func (s *Service) dormantAfter(opt FindingsOptions) time.Duration {
	if opt.DormantAfter > 0 {
		return opt.DormantAfter
	}
	return s.cfg.DormantAfter
}

// ruleFacts is what the rules read from the audit history rather than the
// store: when each user last moved, when each membership was last added,
// and when a reviewer last kept a user's role; and the department each
// user holds, which tells whether a record folded later is a move. seq is
// the last audit record they take in.
type ruleFacts struct {
	seq         int64
	moved       map[string]time.Time
	dept        map[string]deptHeld
	memberSince map[[2]string]time.Time
	kept        map[[2]string]time.Time
}

// facts catches the history up with the audit log and returns a copy of
// the rules' facts, the caller's to change.
func (s *Service) facts(ctx context.Context) (ruleFacts, error) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	h, err := s.sync(ctx)
	if err != nil {
		return ruleFacts{}, err
	}
	return ruleFacts{seq: h.seq, moved: cloneMap(h.moved), dept: cloneMap(h.dept), memberSince: cloneMap(h.memberSince), kept: cloneMap(h.kept)}, nil
}

// through adds to f, whose maps it takes over, the audit records that ops
// reads after f.seq: inside a transaction, those committed since f was
// read and the transaction's own. The Service's history is left alone: a
// transaction's records may yet be rolled back.
func (f ruleFacts) through(ctx context.Context, ops store.Ops) (ruleFacts, error) {
	h := newHistory()
	h.seq, h.moved, h.dept, h.memberSince, h.kept = f.seq, f.moved, f.dept, f.memberSince, f.kept
	if err := h.catchUp(ctx, ops); err != nil {
		return ruleFacts{}, err
	}
	return ruleFacts{seq: h.seq, moved: h.moved, dept: h.dept, memberSince: h.memberSince, kept: h.kept}, nil
}

// evaluate runs every rule on what ops reads and d holds (see Findings),
// unsorted. With only set, it evaluates just the findings about that user
// ID, and d needs to hold no more than userDirectory reads.
func (s *Service) evaluate(ctx context.Context, ops store.Ops, d *directory, facts ruleFacts, now time.Time, dormant time.Duration, only string) ([]Finding, error) {
	active, err := activeCredentials(ctx, ops, only)
	if err != nil {
		return nil, err
	}
	out, err := s.orphaned(ctx, ops, d, active, now, only)
	if err != nil {
		return nil, err
	}
	models, err := s.untrustedModels(ctx, d, active)
	if err != nil {
		return nil, err
	}
	out = append(out, models...)
	cf, err := consoleFindings(ctx, ops, d, now, dormant, only)
	if err != nil {
		return nil, err
	}
	out = append(out, cf...)
	tf, err := tokenFindings(ctx, ops, d, now, only)
	if err != nil {
		return nil, err
	}
	out = append(out, tf...)
	for _, u := range d.users {
		if !live(u) || only != "" && u.ID != only {
			continue
		}
		creds, err := ops.ListCredentials(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if u.State == store.UserActive && slices.ContainsFunc(creds, func(c store.Credential) bool { return c.State == store.CredentialActive }) {
			// The last sign-in, or what made one possible last: the
			// account's creation, its start date, a badge registered.
			last := later(u.Created, u.StartDate)
			for _, c := range creds {
				last = later(later(last, c.Created), c.LastUsed)
			}
			if now.Sub(last) >= dormant {
				out = append(out, newFinding(KindDormant, RuleNoLogin, u, u.ID, "", last, RemedyRevokeCredentials,
					fmt.Sprintf("%s has not signed in since %s (%d days); its badges still work", u.UserName, last.Format(time.RFC3339), int(now.Sub(last)/(24*time.Hour)))))
			}
		}
		moved := facts.moved[u.ID]
		for _, g := range d.groupsOf[u.ID] {
			ent := "role:" + g.DisplayName
			switch added := facts.memberSince[[2]string{g.ID, u.ID}]; {
			case len(u.Sites) == 0:
				f := newFinding(KindPrivilegeCreep, RuleRoleWithoutSite, u, u.ID, ent, added, RemedyRemoveRole,
					fmt.Sprintf("%s holds role %s but has no site to hold it at", u.UserName, g.DisplayName))
				f.groupID = g.ID
				out = append(out, f)
			case !moved.IsZero() && !added.After(moved) && !facts.kept[[2]string{u.ID, store.FoldName(g.DisplayName)}].After(moved):
				f := newFinding(KindPrivilegeCreep, RuleRoleKeptAfterMove, u, u.ID, ent, moved, RemedyRemoveRole,
					fmt.Sprintf("%s kept role %s across a move on %s (site removed or department changed)", u.UserName, g.DisplayName, moved.Format(time.RFC3339)))
				f.groupID = g.ID
				out = append(out, f)
			}
		}
		grants, err := d.grantsOf(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if !current(g, now) {
				continue
			}
			ent := "grant:" + g.ID
			if !moved.IsZero() && g.Created.Before(moved) {
				f := newFinding(KindPrivilegeCreep, RuleGrantKeptAfterMove, u, u.ID, ent, moved, RemedyRevokeGrant,
					fmt.Sprintf("%s kept a grant of %s at %s across a move on %s", u.UserName, g.Role, g.Site, moved.Format(time.RFC3339)))
				f.grantID = g.ID
				out = append(out, f)
			}
			if first := chainStart(grants, g); g.End.Sub(first) > MaxGrantChain {
				f := newFinding(KindPrivilegeCreep, RuleGrantChain, u, u.ID, ent, first, RemedyRevokeGrant,
					fmt.Sprintf("%s has held %s at %s through back-to-back grants since %s", u.UserName, g.Role, g.Site, first.Format(time.RFC3339)))
				f.grantID = g.ID
				out = append(out, f)
			}
		}
		if isExternal(u) && u.EndDate.IsZero() {
			out = append(out, newFinding(KindExternalNoEnd, RuleNoEndDate, u, u.ID, "", time.Time{}, RemedyNone,
				fmt.Sprintf("%s is a %s without an end date: set endDate in the HR source", u.UserName, strings.ToLower(u.EmploymentType))))
		}
	}
	return out, nil
}

// activeCredentials returns the active credentials of every user, or of
// the user only when it is set.
func activeCredentials(ctx context.Context, ops store.Ops, only string) ([]store.Credential, error) {
	if only == "" {
		return ops.ListActiveCredentials(ctx)
	}
	creds, err := ops.ListCredentials(ctx, only)
	return slices.DeleteFunc(creds, func(c store.Credential) bool { return c.State != store.CredentialActive }), err
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// chainStart returns when the unbroken chain of grants of g's role at g's
// site that ends with g began: walking back, each earlier grant must have
// lasted (to its end or revocation) at least until the next one started.
func chainStart(grants []store.Grant, g store.Grant) time.Time {
	first := g.Start
	for {
		prev := false
		for _, o := range grants {
			if o.ID == g.ID || !strings.EqualFold(o.Role, g.Role) || !strings.EqualFold(o.Site, g.Site) || !o.Start.Before(first) {
				continue
			}
			end := o.End
			if !o.Revoked.IsZero() && o.Revoked.Before(end) {
				end = o.Revoked
			}
			if !end.Before(first) {
				first, prev = o.Start, true
			}
		}
		if !prev {
			return first
		}
	}
}

// orphaned evaluates the orphaned rules (see Findings) on the active
// credentials given, about the user only when it is set (see evaluate).
func (s *Service) orphaned(ctx context.Context, ops store.Ops, d *directory, creds []store.Credential, now time.Time, only string) ([]Finding, error) {
	var out []Finding
	withCred := map[string]bool{}
	for _, c := range creds {
		u, ok, err := d.user(ctx, c.UserID) // a deleted user is named from its tombstone
		if err != nil {
			return nil, err
		}
		if ok && live(u) {
			withCred[u.ID] = true
			continue
		}
		f := newFinding(KindOrphaned, RuleCredentialWithoutUser, u, c.UserID, fmt.Sprintf("credential:%x", c.ID), c.Created, RemedyRevokeCredential,
			fmt.Sprintf("an active credential of user %s, which is %s", d.userName(c.UserID), stateOf(u, ok)))
		f.credID = c.ID
		out = append(out, f)
	}
	sessions, err := s.orphanedSessions(ctx, ops, d, only)
	if err != nil {
		return nil, err
	}
	out = append(out, sessions...)
	for ext, us := range d.byExternalID {
		var lives []store.User
		for _, u := range us {
			if live(u) {
				lives = append(lives, u)
			}
		}
		for _, u := range lives[:max(len(lives)-1, 0)] { // users are ordered by Created: the last is the newest
			if only != "" && u.ID != only {
				continue
			}
			out = append(out, newFinding(KindOrphaned, RuleDuplicateExternalID, u, u.ID, "", u.Created, RemedyDeprovision,
				fmt.Sprintf("%s shares externalId %q with the newer %s: the IdP manages only one of them", u.UserName, ext, lives[len(lives)-1].UserName)))
		}
	}
	for _, u := range d.users {
		if !live(u) || only != "" && u.ID != only {
			continue
		}
		if !u.EndDate.IsZero() && !u.EndDate.After(now) {
			out = append(out, newFinding(KindOrphaned, RuleEndDatePassed, u, u.ID, "", u.EndDate, RemedyDeprovision,
				fmt.Sprintf("%s is still %s although its end date %s has passed", u.UserName, u.State, u.EndDate.Format(time.RFC3339))))
		}
		if withCred[u.ID] && len(u.Sites) == 0 && len(d.groupsOf[u.ID]) == 0 {
			grants, err := d.grantsOf(ctx, u.ID)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(grants, func(g store.Grant) bool { return current(g, now) }) {
				out = append(out, newFinding(KindOrphaned, RuleCredentialsNoEntitlement, u, u.ID, "", u.Modified, RemedyRevokeCredentials,
					fmt.Sprintf("%s holds an active credential but no site, role or grant", u.UserName)))
			}
		}
	}
	return out, nil
}

// orphanedSessions evaluates orphaned/session_without_active_user, about
// the user only when it is set.
func (s *Service) orphanedSessions(ctx context.Context, ops store.Ops, d *directory, only string) ([]Finding, error) {
	sessions, err := ops.ListSessions(ctx, store.SessionQuery{LiveOnly: true, UserID: only})
	if err != nil {
		return nil, err
	}
	var out []Finding
	kiosks := map[string]string{} // device ID → name
	for _, ss := range sessions {
		u, ok, err := d.user(ctx, ss.UserID) // a deleted user is named from its tombstone
		if err != nil {
			return nil, err
		}
		if ok && live(u) {
			continue
		}
		kiosk, seen := kiosks[ss.DeviceID]
		if !seen {
			kiosk = ss.DeviceID
			dev, err := ops.GetDevice(ctx, ss.DeviceID)
			switch {
			case err == nil:
				kiosk = dev.Name
			case !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
			kiosks[ss.DeviceID] = kiosk
		}
		f := newFinding(KindOrphaned, RuleSessionWithoutUser, u, ss.UserID, "session:"+ss.ID, ss.Started, RemedyEndSession,
			fmt.Sprintf("a live kiosk session of user %s on kiosk %s, which is %s", d.userName(ss.UserID), kiosk, stateOf(u, ok)))
		f.sessionID = ss.ID
		out = append(out, f)
	}
	return out, nil
}

// stateOf names the state of a user that holds access it should not, for
// a finding's detail; ok is false when the store does not know the user.
func stateOf(u store.User, ok bool) string {
	if !ok {
		return "unknown"
	}
	return u.State.String()
}

// untrustedModels evaluates untrusted_authenticator/model_ruled_out on the
// active credentials given.
func (s *Service) untrustedModels(ctx context.Context, d *directory, creds []store.Credential) ([]Finding, error) {
	if s.cfg.ModelRuledOut == nil {
		return nil, nil
	}
	var out []Finding
	for _, c := range creds {
		why := s.cfg.ModelRuledOut(c.AAGUID)
		if why == "" {
			continue
		}
		u, _, err := d.user(ctx, c.UserID) // a deleted user is named from its tombstone
		if err != nil {
			return nil, err
		}
		f := newFinding(KindUntrustedModel, RuleModelRuledOut, u, c.UserID, fmt.Sprintf("credential:%x", c.ID), c.Created, RemedyRevokeCredential,
			fmt.Sprintf("an active credential of user %s on %s", d.userName(c.UserID), why))
		f.credID = c.ID
		out = append(out, f)
	}
	return out, nil
}

// Remediation is what Remediate did.
type Remediation struct {
	Finding Finding `json:"finding"`
	Action  string  `json:"action"`
	Outcome string  `json:"outcome"` // "done", or "already gone"
}

// Remediate applies a finding's remediation through the lifecycle engine,
// in one transaction with a finding.remediate audit record; revocations are
// pushed to kiosks. store.ErrNotFound if no current finding has that ID
// (it was fixed meanwhile), ErrConflict if the finding has no remediation.
//
// The finding is evaluated again inside the transaction, on what it reads,
// and the remediation acts on that: between the report and the
// transaction, the user may have been re-enabled, signed in, been given a
// new badge, a site or a later end date, and a remediation decided on the
// report would then revoke access that is now due. ErrConflict when the
// finding no longer holds; when it no longer holds because what the
// remediation removes is gone already (remediated meanwhile), the outcome
// is OutcomeGone instead.
func (s *Service) Remediate(ctx context.Context, a lifecycle.Actor, id string, opt FindingsOptions) (Remediation, error) {
	fs, facts, err := s.findings(ctx, opt)
	if err != nil {
		return Remediation{}, err
	}
	i := slices.IndexFunc(fs, func(f Finding) bool { return f.ID == id })
	if i < 0 {
		return Remediation{}, fmt.Errorf("no current finding %s (it may have been fixed already): %w", id, store.ErrNotFound)
	}
	f := fs[i]
	if f.Remediation == RemedyNone {
		// The detail says what to do instead: in the HR source, or on the
		// console's Tokens page.
		return Remediation{}, fmt.Errorf("%w: finding %s has no one-click remediation: %s", ErrConflict, id, f.Detail)
	}
	why := "finding " + f.ID + " (" + f.Kind + "/" + f.Rule + ") remediated"
	outcome := "done"
	err = s.cfg.Engine.Do(ctx, func(t *lifecycle.Tx) error {
		now := s.now()
		cur, holds, err := s.recheck(ctx, t.Ops(), f, facts, now, s.dormantAfter(opt))
		if err != nil {
			return err
		}
		if !holds {
			gone, err := remedied(ctx, t.Ops(), f, now)
			if err != nil {
				return err
			}
			if !gone {
				who := f.User
				if who == "" {
					who = f.UserID
				}
				return fmt.Errorf("%w: finding %s no longer holds: user %s changed since it was listed; list the findings again", ErrConflict, f.ID, who)
			}
			outcome = OutcomeGone
		} else {
			f = cur
			if outcome, err = remedy(ctx, t, a, f, why, now); err != nil {
				return err
			}
		}
		return t.Audit(ctx, audit.Entry{Actor: a.Name, System: a.System, Action: actionRemediate, Subject: "user:" + f.UserID,
			Detail: map[string]any{"finding": f.ID, "kind": f.Kind, "rule": f.Rule, "entitlement": f.Entitlement, "action": f.Remediation, "outcome": outcome}})
	})
	if err != nil {
		return Remediation{}, fmt.Errorf("remediate finding %s: %w", id, err)
	}
	s.cfg.Logger.Info("finding remediated", "finding", f.ID, "kind", f.Kind, "rule", f.Rule, "user", f.UserID, "actor", a.Name, "outcome", outcome)
	return Remediation{Finding: f, Action: f.Remediation, Outcome: outcome}, nil
}

// recheck evaluates the rules about f's user again on what tx reads, with
// the audit facts brought up to date through tx, and returns the finding
// with f's ID as it stands, or false if there is none.
func (s *Service) recheck(ctx context.Context, tx store.Ops, f Finding, facts ruleFacts, now time.Time, dormant time.Duration) (Finding, bool, error) {
	facts, err := facts.through(ctx, tx)
	if err != nil {
		return Finding{}, false, err
	}
	var d *directory
	if f.UserID != "" {
		d, err = userDirectory(ctx, tx, f.UserID)
	} else {
		d, err = loadDirectory(ctx, tx)
	}
	if err != nil {
		return Finding{}, false, err
	}
	fs, err := s.evaluate(ctx, tx, d, facts, now, dormant, f.UserID)
	if err != nil {
		return Finding{}, false, err
	}
	i := slices.IndexFunc(fs, func(g Finding) bool { return g.ID == f.ID })
	if i < 0 {
		return Finding{}, false, nil
	}
	return fs[i], true, nil
}

// remedied reports whether what f's remediation would remove is gone
// already, as tx reads it: the credential or session, every active
// credential, the user's access, the membership or the grant.
func remedied(ctx context.Context, tx store.Ops, f Finding, now time.Time) (bool, error) {
	var err error
	gone := false
	switch f.Remediation {
	case RemedyRevokeCredential:
		var c store.Credential
		c, err = tx.GetCredential(ctx, f.credID)
		gone = err == nil && c.State == store.CredentialRevoked
	case RemedyRevokeCredentials:
		var cs []store.Credential
		cs, err = activeCredentials(ctx, tx, f.UserID)
		gone = err == nil && len(cs) == 0
	case RemedyEndSession:
		var ss store.Session
		ss, err = tx.GetSession(ctx, f.sessionID)
		gone = err == nil && !ss.Ended.IsZero()
	case RemedyDeprovision:
		var u store.User
		u, err = tx.GetUser(ctx, f.UserID)
		gone = err == nil && !live(u)
	case RemedyRemoveRole:
		var g store.Group
		g, err = tx.GetGroup(ctx, f.groupID)
		gone = err == nil && !slices.Contains(g.Members, f.UserID)
	case RemedyRevokeGrant:
		var g store.Grant
		g, err = tx.GetGrant(ctx, f.grantID)
		gone = err == nil && !current(g, now)
	case RemedyDisableConsole:
		var c store.ConsoleAccount
		c, err = tx.GetConsoleAccount(ctx, f.consoleID)
		gone = err == nil && !c.Disabled.IsZero()
	}
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	return gone, err
}

// remedy applies f's remediation in t and returns its outcome: "done", or
// OutcomeGone when there was nothing left to remove.
func remedy(ctx context.Context, t *lifecycle.Tx, a lifecycle.Actor, f Finding, why string, now time.Time) (string, error) {
	var err error
	switch f.Remediation {
	case RemedyDisableConsole:
		return disableConsole(ctx, t, a, f, why, now)
	case RemedyRevokeCredential:
		err = t.RevokeCredential(ctx, a, f.credID, why)
	case RemedyEndSession:
		err = t.EndSession(ctx, a, f.sessionID, lifecycle.ReasonDeprovisioned, why)
	case RemedyRevokeCredentials:
		var creds []store.Credential
		if creds, err = activeCredentials(ctx, t.Ops(), f.UserID); err != nil {
			return "", err
		}
		for _, c := range creds {
			if err = t.RevokeCredential(ctx, a, c.ID, why); err != nil {
				return "", err
			}
		}
		if len(creds) == 0 {
			err = lifecycle.ErrGone
		}
	case RemedyDeprovision:
		err = t.Deprovision(ctx, a, f.UserID, why)
	case RemedyRemoveRole:
		err = t.RemoveMember(ctx, a, f.groupID, f.UserID)
	case RemedyRevokeGrant:
		_, err = t.RevokeGrant(ctx, a, f.grantID, why)
	default:
		return "", fmt.Errorf("finding %s: unknown remediation %q", f.ID, f.Remediation)
	}
	if errors.Is(err, lifecycle.ErrGone) {
		return OutcomeGone, nil
	}
	if err != nil {
		return "", err
	}
	return "done", nil
}
