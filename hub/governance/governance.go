// Package governance owns the hub's identity-governance program: access
// reviews (campaigns of keep/revoke decisions), risk findings (dormant,
// orphaned, privilege creep, external identities without an end date) with
// one-click remediation, and the four numbers that tell how well joiners,
// leavers and reviews are handled.
//
// Everything is computed from what the hub records anyway — the audit log,
// revocations with their Created and Acked times, credentials, users and
// groups — plus the review campaigns this package stores. Every change it
// makes (a campaign started, a decision, an escalation, a remediation) goes
// through the lifecycle engine in one transaction with its audit record, so
// a revocation it causes is pushed to kiosks like any other.
//
// The package does not import package hub: the hub wires a Service to its
// HTTP API, its /metrics and its scheduler; the CLI builds one on the data
// directory for offline reports.
package governance

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Defaults.
const (
	// DefaultDormantAfter is how long without a login makes an account
	// dormant.
	DefaultDormantAfter = 30 * 24 * time.Hour
	// DefaultSupervisorRole is the role whose members at a site review
	// that site's workers when they have no manager.
	DefaultSupervisorRole = "Supervisor"
	// MaxGrantChain is how long back-to-back just-in-time grants of one
	// role at one site may run before they count as privilege creep:
	// lifecycle.MaxGrantLength, the longest single grant.
	MaxGrantChain = lifecycle.MaxGrantLength
)

// Errors. Invalid requests wrap lifecycle.ErrInvalid (the hub answers 400).
var (
	// ErrConflict: the request is valid but the state does not allow it
	// (a decision on an item already decided, a finding that has no
	// remediation). The hub answers 409.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the decider may not make this decision whatever the
	// state: the item is about the decider's own access (segregation of
	// duties). The hub answers 403.
	ErrForbidden = errors.New("forbidden")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", lifecycle.ErrInvalid, fmt.Sprintf(format, args...))
}

// Config is what a Service needs. Store, Audit and Engine are required.
type Config struct {
	Store  store.Store
	Audit  *audit.Log
	Engine *lifecycle.Engine
	Now    func() time.Time
	Logger *slog.Logger
	// Rules says which roles are privileged: a getter, so a policy
	// changed while the hub runs applies at once; Engine.Rules if nil.
	Rules func() policy.Rules
	// DormantAfter: DefaultDormantAfter if zero.
	DormantAfter time.Duration
	// SupervisorRole: DefaultSupervisorRole if empty.
	SupervisorRole string
	// ModelRuledOut, when set, says why the authenticator model aaguid
	// must no longer be trusted (the FIDO metadata reports it revoked or
	// compromised), or "" when nothing rules it out: the rule
	// untrusted_authenticator/model_ruled_out.
	ModelRuledOut func(aaguid []byte) string
}

// Service runs the governance program on one store. It is safe for
// concurrent use.
type Service struct {
	cfg Config

	// hist is the audit history folded so far; histMu serialises
	// catching up with the log.
	histMu sync.Mutex
	hist   *history

	// reviewCounts caches the counts of review campaigns that are due,
	// by campaign ID (see reviewCompletion).
	reviewMu     sync.Mutex
	reviewCounts map[string]campaignCount
}

// New returns a Service; missing optional fields get defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Audit == nil || cfg.Engine == nil {
		return nil, errors.New("governance: Store, Audit and Engine are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rules == nil {
		cfg.Rules = cfg.Engine.Rules
	}
	if cfg.DormantAfter <= 0 {
		cfg.DormantAfter = DefaultDormantAfter
	}
	if cfg.SupervisorRole == "" {
		cfg.SupervisorRole = DefaultSupervisorRole
	}
	return &Service{cfg: cfg, hist: newHistory(), reviewCounts: map[string]campaignCount{}}, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// privileged reports whether the rules mark role privileged.
func (s *Service) privileged(role string) bool {
	rules := s.cfg.Rules()
	for name, r := range rules.Roles {
		if strings.EqualFold(name, role) {
			return r.Privileged
		}
	}
	return rules.Other.Privileged
}

// External employment types: identities HR does not own as employees.
var externalTypes = []string{"contractor", "vendor", "temp"}

func isExternal(u store.User) bool {
	for _, t := range externalTypes {
		if strings.EqualFold(strings.TrimSpace(u.EmploymentType), t) {
			return true
		}
	}
	return false
}

// live reports whether the user holds (or will hold) access: active or
// pending.
func live(u store.User) bool { return u.State == store.UserActive || u.State == store.UserPending }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// timePtr returns nil for the zero time, so JSON says null.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
