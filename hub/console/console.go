// Package console is the hub's web console for hub admins, site
// supervisors and auditors, served under /console/.
//
// It owns console accounts' passkey sign-in (WebAuthn through go-webauthn;
// no passwords anywhere), their cookie sessions, CSRF protection, the
// authorization rules that a supervisor sees and acts only on its own
// sites (and which access-review items it may decide) and that an auditor
// reads the evidence and changes nothing, and the
// server-rendered pages (html/template, a little plain JavaScript,
// everything embedded), access reviews and risk findings included, which
// it drives through the hub's governance service.
//
// The package does not import package hub: the hub builds a Config of the
// pieces the console needs (store, lifecycle engine, audit log, and funcs
// for what only the hub can do, such as arming a badge enrollment on a
// connected kiosk) and mounts Handler. Every state change goes through the
// lifecycle engine or writes an audit record with actor
// "console:<account name>" and system "console".
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultInviteTTL       = 72 * time.Hour
	// DefaultMaxBodyBytes caps console request bodies: forms and WebAuthn
	// responses are small.
	DefaultMaxBodyBytes = 64 << 10
)

// Metric is one program metric for the dashboard, as a provider measured it.
type Metric struct {
	Name  string
	Value string // already formatted, with its unit
	Note  string // how it was measured, or over which period
}

// Governance is what the console uses of the hub's access-governance
// service (*governance.Service): access reviews and risk findings. Every
// change it makes goes through the lifecycle engine with its audit record,
// so the console passes the viewer's actor and nothing else.
type Governance interface {
	Campaigns(ctx context.Context) (governance.Overview, error)
	CampaignItems(ctx context.Context, id string, p governance.ItemPage) (governance.CampaignPage, error)
	StartCampaign(ctx context.Context, a lifecycle.Actor, req governance.CampaignRequest) (governance.CampaignPage, error)
	StartCampaignOnce(ctx context.Context, a lifecycle.Actor, req governance.CampaignRequest, k governance.CampaignKey) (_ governance.CampaignPage, replayed bool, _ error)
	RunDueAs(ctx context.Context, a lifecycle.Actor) (governance.Started, error)
	Decide(ctx context.Context, d governance.Decider, itemID, decision, comment string) (governance.ItemView, error)
	Findings(ctx context.Context, opt governance.FindingsOptions) ([]governance.Finding, error)
	Remediate(ctx context.Context, a lifecycle.Actor, id string, opt governance.FindingsOptions) (governance.Remediation, error)
}

var _ Governance = (*governance.Service)(nil)

// Config is what the hub gives the console. Store, Engine, Audit, AuditKey,
// AuditSigner, RPID and Origin are required.
type Config struct {
	Store    store.Store
	Engine   *lifecycle.Engine
	Audit    *audit.Log
	AuditKey []byte // to verify the chain from the audit page
	// AuditSigner signs the audit exports (audit-sign.key), so that
	// whoever gets one checks it with the hub's public key alone.
	AuditSigner *audit.Signer
	// AuditWatch, when set, tells what the hub's audit watch has found
	// (audit.Watcher.Status), for the audit page.
	AuditWatch func() audit.WatchStatus
	// RPID and Origin make the WebAuthn relying party: the hub's host name
	// and its public origin (https://host[:port]).
	RPID   string
	Origin string
	// ArmEnrollment makes the next tap at the kiosk named deviceName
	// register a badge for userName; it fails with an error wrapping
	// push.ErrOffline when the kiosk is not connected. may, when set, is
	// asked about the user inside the transaction that stores the badge's
	// credential, as it reads the user, and refuses the registration with
	// its error (authn.MayRegister): a supervisor's scope, checked again
	// at the tap.
	ArmEnrollment func(ctx context.Context, a lifecycle.Actor, userName, deviceName string, may func(ctx context.Context, tx store.Ops, u store.User) error) error
	// KioskOnline reports whether a kiosk holds its channel now.
	KioskOnline func(deviceID string) bool
	// KioskConnected, when set, lists the kiosks holding their channel
	// now (push.Hub.ConnectedIDs). The Kiosks page reads it before
	// KioskSeen and the store, so that a kiosk leaving meanwhile is found
	// in one of them; without it the page asks KioskOnline per kiosk.
	KioskConnected func() []string
	// KioskSeen, when set, returns when kiosks were last seen, for the
	// sightings the hub holds in memory and has not yet stored (it writes
	// them every few seconds). The Kiosks page shows the later of such a
	// time and the stored one: a kiosk that just left has the time its
	// channel opened in the store, maybe days ago.
	KioskSeen func() map[string]time.Time
	// KioskCleanup, when set, returns the kiosks whose agent reports its
	// start-up clean-up failing (wire.CleanupReport), by device ID: the
	// Kiosks page says so on each, as such a kiosk is locked and signs
	// nobody in however healthy its channel looks.
	KioskCleanup func() map[string]KioskCleanup
	// DisableDevice disables a kiosk and cuts its channel off.
	DisableDevice func(ctx context.Context, a lifecycle.Actor, deviceID string) error
	// TokenRevoked is called with a token's ID once its revocation or
	// rotation has committed, so that whatever verifies bearer tokens in
	// this process (token.Verifier.Forget) applies the change (refuses the
	// token, or its expiry brought forward) at once instead of after its
	// cache time.
	TokenRevoked func(id string)
	// Profiles are shown on the policy page (read-only: they are files),
	// and offered on the Kiosks page to bind an enrollment code to.
	// The login policy itself is Engine.Policy, edited through
	// Engine.UpdatePolicy (views_policy.go).
	Profiles map[string]*profiles.Profile
	// Metrics, when set, supplies the dashboard's program metrics; when nil
	// the dashboard says "not yet measured" instead of showing numbers.
	Metrics func(ctx context.Context) ([]Metric, error)
	// Governance serves the Reviews, My reviews and Findings pages; when
	// nil those pages answer 404.
	Governance Governance

	Now             func() time.Time
	Logger          *slog.Logger
	IdleTimeout     time.Duration // no request for this long ends a session
	AbsoluteTimeout time.Duration // a session ends this long after sign-in, whatever
	InviteTTL       time.Duration // how long an invite link works
	MaxBodyBytes    int64
	// LivePoll is how often a live-update stream checks for changes; 1 s
	// if zero.
	LivePoll time.Duration
}

// KioskCleanup is a kiosk's failing start-up clean-up (Config.KioskCleanup).
type KioskCleanup struct {
	Since time.Time // the first failed try, by the kiosk's clock
	Try   int       // the latest failed try
}

func (c *Config) setDefaults() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if c.Engine == nil {
		errs = append(errs, errors.New("lifecycle engine is required"))
	}
	if c.Audit == nil || len(c.AuditKey) == 0 || c.AuditSigner == nil {
		errs = append(errs, errors.New("audit log, its key and its export signer are required"))
	}
	if c.RPID == "" || c.Origin == "" {
		errs = append(errs, errors.New("RP ID and origin are required"))
	}
	u, err := url.Parse(c.Origin)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Path != "" {
		errs = append(errs, fmt.Errorf("origin %q: want https://host[:port]", c.Origin))
	}
	if len(errs) > 0 {
		return fmt.Errorf("console: %w", errors.Join(errs...))
	}
	c.Origin = serializeOrigin(u)
	if c.ArmEnrollment == nil {
		c.ArmEnrollment = func(context.Context, lifecycle.Actor, string, string, func(context.Context, store.Ops, store.User) error) error {
			return errors.New("badge enrollment is not available")
		}
	}
	if c.KioskOnline == nil {
		c.KioskOnline = func(string) bool { return false }
	}
	if c.DisableDevice == nil {
		c.DisableDevice = c.Engine.DisableDevice
	}
	if c.TokenRevoked == nil {
		c.TokenRevoked = func(string) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AbsoluteTimeout <= 0 {
		c.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if c.InviteTTL <= 0 {
		c.InviteTTL = DefaultInviteTTL
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.LivePoll <= 0 {
		c.LivePoll = time.Second
	}
	return nil
}

// serializeOrigin writes an https origin as browsers send it in the
// Origin header (the HTML serialization): lower-case host, no default
// port. The origin check compares that header byte for byte, so a public
// URL written https://Hub.Example.org:443 must not refuse every form.
func serializeOrigin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != "443" {
		host += ":" + p
	}
	return "https://" + host
}

// Console serves the web console. It is safe for concurrent use.
type Console struct {
	cfg      Config
	st       store.Store
	wa       *webauthn.WebAuthn
	pages    map[string]*pageTemplate
	handler  http.Handler
	static   http.Handler
	ceremony *ceremonies
	streams  liveStreams
	// ownPages matches the routes only the console's own pages may ask
	// for (optOwnPages), for the sign-in page's next (signinNext).
	ownPages  *http.ServeMux
	done      chan struct{}
	closeOnce sync.Once
}

// New checks cfg and returns a Console.
func New(cfg Config) (*Console, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         "Shiftgate console",
		RPOrigins:             []string{cfg.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		// Console sign-in is usernameless (discoverable credentials) and
		// always verifies the user: the console can end anyone's access.
		// Unlike kiosk badges, synced passkeys are welcome here.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("console: webauthn relying party: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg: cfg, st: cfg.Store, wa: wa, pages: pages,
		static:   http.StripPrefix("/console/static/", http.FileServerFS(sub)),
		ceremony: newCeremonies(cfg.Now),
		done:     make(chan struct{}),
	}
	c.handler = c.routes()
	return c, nil
}

// Handler serves everything under /console/.
func (c *Console) Handler() http.Handler { return c.handler }

// Shutdown ends the live-update streams, which would otherwise hold a
// graceful server shutdown open; register it with
// http.Server.RegisterOnShutdown.
func (c *Console) Shutdown() { c.closeOnce.Do(func() { close(c.done) }) }

// Access levels a route demands.
type access int

const (
	public     access = iota // no session: sign-in and registration
	signedIn                 // any console account: its own account
	siteAccess               // supervisors, and admins for any site
	adminOnly                // admins
	// evidence: admins and auditors, reading the audit trail, access
	// reviews, findings and the dashboard. GETs only (routes refuses
	// anything else): an auditor changes nothing but its own account.
	evidence
)

// routes lists every console route with the access it demands. guard
// enforces session, role and CSRF for all of them in one place, and the
// handlers of site routes reach records only through authz.go.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	c.ownPages = http.NewServeMux()
	handle := func(pattern string, level access, h handlerFunc, opts ...routeOpt) {
		if level == evidence && !strings.HasPrefix(pattern, http.MethodGet+" ") {
			// A programming error, caught by every test that makes a
			// console, as ServeMux catches conflicting patterns.
			panic("console: " + pattern + ": evidence routes are GETs: an auditor changes nothing")
		}
		var o routeOpt
		for _, opt := range opts {
			o |= opt
		}
		mux.Handle(pattern, c.guard(level, o, h))
		if o&optOwnPages != 0 {
			c.ownPages.Handle(pattern, http.NotFoundHandler())
		}
	}
	// The files themselves, not a listing of the directory.
	mux.Handle("GET /console/static/{file}", c.static)

	handle("GET /console/signin", public, c.signinPage)
	handle("GET /console/register", public, c.registerPage)
	handle("POST /console/auth/login/begin", public, c.loginBegin)
	handle("POST /console/auth/login/finish", public, c.loginFinish)
	handle("POST /console/auth/register/begin", public, c.registerBegin)
	handle("POST /console/auth/register/finish", public, c.registerFinish)

	handle("GET /console/{$}", signedIn, c.home)
	handle("GET /console/me", signedIn, c.mePage)
	handle("POST /console/signout", signedIn, c.signout)
	handle("POST /console/signout-everywhere", signedIn, c.signoutEverywhere)
	handle("POST /console/me/passkeys", signedIn, c.mePasskeyAdd)
	handle("POST /console/me/sessions/{id}/end", signedIn, c.meSessionEnd)

	// evidence routes serve auditors too: the dashboard (without its live
	// sessions for them), the audit trail, reviews and findings.
	handle("GET /console/dashboard", evidence, c.dashboard)
	handle("GET /console/users", adminOnly, c.usersPage)
	handle("GET /console/users/{id}", adminOnly, c.userPage)
	handle("POST /console/users/{id}/signout", adminOnly, c.userSignout)
	handle("POST /console/users/{id}/disable", adminOnly, c.userDisable)
	handle("POST /console/credentials/{id}/revoke", adminOnly, c.credentialRevoke)
	handle("GET /console/devices", adminOnly, c.devicesPage)
	handle("POST /console/devices/codes", adminOnly, c.deviceCode)
	handle("POST /console/devices/{id}/disable", adminOnly, c.deviceDisable)
	handle("GET /console/policy", adminOnly, c.policyPage)
	handle("POST /console/policy/globals", adminOnly, c.policyGlobals)
	handle("POST /console/policy/roles", adminOnly, c.policyRoleSave)
	handle("POST /console/policy/roles/delete", adminOnly, c.policyRoleDelete)
	handle("POST /console/policy/other", adminOnly, c.policyOtherSave)
	handle("GET /console/sites", adminOnly, c.sitesPage)
	handle("POST /console/sites", adminOnly, c.sitePut)
	handle("GET /console/tokens", adminOnly, c.tokensPage)
	handle("POST /console/tokens", adminOnly, c.tokenCreate)
	handle("POST /console/tokens/{id}/revoke", adminOnly, c.tokenRevoke)
	handle("POST /console/tokens/{id}/rotate", adminOnly, c.tokenRotate)
	handle("GET /console/audit", evidence, c.auditPage)
	handle("GET /console/audit/verify", evidence, c.auditVerify, optOwnPages)
	handle("GET /console/audit/export", evidence, c.auditExport, optOwnPages)
	handle("GET /console/accounts", adminOnly, c.accountsPage)
	handle("POST /console/accounts", adminOnly, c.accountInvite)
	handle("POST /console/accounts/{id}/invite", adminOnly, c.accountReinvite)
	handle("POST /console/accounts/{id}/passkeys/revoke", adminOnly, c.accountRevokePasskeys)
	handle("POST /console/accounts/{id}/disable", adminOnly, c.accountDisable)
	handle("POST /console/accounts/{id}/enable", adminOnly, c.accountEnable)

	handle("GET /console/reviews", evidence, c.reviewsPage)
	handle("POST /console/reviews", adminOnly, c.reviewStart)
	handle("POST /console/reviews/run", adminOnly, c.reviewRunDue)
	handle("GET /console/reviews/{id}", evidence, c.campaignPage)
	handle("GET /console/reviews/{id}/export", evidence, c.reviewExport, optOwnPages)
	handle("GET /console/findings", evidence, c.findingsPage)
	handle("GET /console/findings/export", evidence, c.findingsExport, optOwnPages)
	handle("POST /console/findings/{id}/remediate", adminOnly, c.findingRemediate)
	// Supervisors decide the items authz.go lets them reach; admins any.
	handle("GET /console/my-reviews", siteAccess, c.myReviewsPage)
	handle("POST /console/review-items/{id}", siteAccess, c.reviewDecide)

	handle("GET /console/site/{$}", siteAccess, c.sitePage)
	handle("GET /console/site/live", siteAccess, c.siteLive, optPassive, optOwnPages)
	handle("GET /console/site/events", siteAccess, c.siteEvents, optPassive, optOwnPages)
	handle("GET /console/site/users/{id}", siteAccess, c.siteUserPage)
	handle("POST /console/site/sessions/{id}/signout", siteAccess, c.siteSessionSignout)
	handle("POST /console/site/devices/{id}/signout", siteAccess, c.siteDeviceSignout)
	handle("POST /console/site/enrollments", siteAccess, c.siteEnroll)
	handle("POST /console/site/grants", siteAccess, c.siteGrant)
	handle("POST /console/site/grants/{id}/revoke", siteAccess, c.siteGrantRevoke)
	handle("POST /console/site/extensions", siteAccess, c.siteExtend)

	mux.Handle("/console/", c.guard(public, 0, func(w http.ResponseWriter, r *http.Request, _ *viewer) error {
		return errNotFound
	}))
	return securityHeaders(mux)
}

// securityHeaders sets the headers every console response carries. The
// policy allows no inline script or style at all: the pages load
// /console/static/ files only.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// "same-origin", not "no-referrer": under no-referrer browsers send
		// Origin: null on form posts, which the origin check must refuse.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// ContentSecurityPolicy is the console's policy: scripts, styles,
// connections and forms only from the hub itself, no framing, no plugins.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
