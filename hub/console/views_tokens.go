package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// tokensData is what the Tokens page shows.
type tokensData struct {
	Tokens []tokenRow
	// New is a token just made (created or by a rotation), shown once.
	New *newToken
	// Rotated is the token a rotation just replaced, with its new expiry,
	// and how long it still works ("" when it no longer does).
	Rotated    *store.Token
	RotatedFor string
	// Expiries and Overlaps are the choices of the create and rotate forms.
	Expiries, Overlaps []tokenChoice
	// CreateKey is the create form's key (secretFormKey), new on every
	// load of the page: the form sent twice makes one token.
	CreateKey string
	// Repeated is the token the create form made when it was sent
	// before: its secret was shown on the first answer only.
	Repeated *store.Token
}

// tokenRow is a token in the table.
type tokenRow struct {
	store.Token
	Status token.Status
	// Rotatable: neither revoked nor replaced by a rotation already (by
	// a successor that was not revoked since: token.Rotatable).
	Rotatable bool
	// MadeBy names the console account that made the token, as the audit
	// trail names accounts (console:<name>); "" for one the CLI made or
	// made before tokens recorded their maker.
	MadeBy string
}

type newToken struct {
	Plain   string
	Token   store.Token
	Expires string // how far off, e.g. "90 days"
}

// tokenChoice is an option of a select of the Tokens page.
type tokenChoice struct {
	Value, Label string
	Selected     bool
}

// expiryChoices are the create and rotate forms' expiries: the scope's
// default (admin 90 days; scim and metrics a year) or a fixed number of
// days, up to the most a token may live. The handlers take any value
// token.ParseExpiry does (a date, too).
var expiryChoices = []tokenChoice{
	{"", fmt.Sprintf("default: %d days for admin, %d for scim and metrics", int(token.DefaultAdminLifetime.Hours()/24), int(token.DefaultLifetime.Hours()/24)), true},
	{"30d", "30 days", false},
	{"90d", "90 days", false},
	{"180d", "180 days", false},
	{"365d", "365 days", false},
	{"730d", "730 days (2 years, the most)", false},
}

// overlapChoices are the rotate form's overlaps: how long the old token
// goes on working beside its successor.
var overlapChoices = []tokenChoice{
	{"0", "stop the old token now", false},
	{"1h", "old token works 1 more hour", false},
	{"24h", "old token works 24 more hours", true},
	{"72h", "old token works 3 more days", false},
	{"168h", "old token works 7 more days (the most)", false},
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return c.renderTokens(w, r, v, http.StatusOK, nil, nil)
}

// renderTokens renders the Tokens page, newest token first, with a token
// just made (nt) and the one it replaced (rotated), when there are.
func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, v *viewer, code int, nt *newToken, rotated *store.Token) error {
	return c.renderTokensWith(w, r, v, code, tokensData{New: nt, Rotated: rotated})
}

// renderTokensWith renders the Tokens page with what d says of a token
// just made (New, Rotated, Repeated), and the rest read anew.
func (c *Console) renderTokensWith(w http.ResponseWriter, r *http.Request, v *viewer, code int, d tokensData) error {
	rotated := d.Rotated
	key, err := newGrantFormKey()
	if err != nil {
		return err
	}
	ts, err := c.st.ListTokens(r.Context())
	if err != nil {
		return err
	}
	slices.Reverse(ts)
	now := c.cfg.Now()
	var rotatedFor string
	if rotated != nil && rotated.Expires.After(now) {
		rotatedFor = token.Within(rotated.Expires.Sub(now))
	}
	byID := token.ByID(ts)
	makers, err := c.tokenMakers(r.Context(), ts)
	if err != nil {
		return err
	}
	rows := make([]tokenRow, len(ts))
	for i, t := range ts {
		st := token.StatusAt(t, now)
		if token.Succeeded(t, byID) {
			// Its user has the successor: its end in the overlap is
			// nothing to act on (as the gauge and the start-up
			// warning see it).
			st.Soon = false
		}
		rows[i] = tokenRow{Token: t, Status: st, Rotatable: token.Rotatable(t, byID), MadeBy: makers[t.CreatedBy]}
		if t.CreatedBy != "" && rows[i].MadeBy == "" {
			rows[i].MadeBy = "console account " + t.CreatedBy // as the audit trail names it (token.Actor)
		}
	}
	d.Tokens, d.RotatedFor, d.Expiries, d.Overlaps, d.CreateKey = rows, rotatedFor, expiryChoices, overlapChoices, key
	c.render(w, r, code, "tokens", v, &page{Title: "API and SCIM tokens", Nav: "tokens", Data: d})
	return nil
}

// tokenMakers maps the IDs of the console accounts that made ts to their
// audit names (console:<name>), reading the accounts only when one did.
func (c *Console) tokenMakers(ctx context.Context, ts []store.Token) (map[string]string, error) {
	if !slices.ContainsFunc(ts, func(t store.Token) bool { return t.CreatedBy != "" }) {
		return nil, nil
	}
	as, err := c.st.ListConsoleAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("makers of tokens: %w", err)
	}
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.ID] = actorPrefix + a.Name
	}
	return m, nil
}

// tokenCreate makes a bearer token that expires when the form says (the
// scope's default if it says nothing) and shows it once; only its hash
// is kept, and the viewer's account as its maker (store.Token.CreatedBy).
// The form's key (secretFormKey), looked up and kept in the transaction
// that makes the token, makes the form sent twice one token: the second
// answer names it and says its secret was shown once, on the first.
func (c *Console) tokenCreate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := fields(r, "name", "scope", "expires", "once")
	if err != nil {
		return err
	}
	once, err := secretFormKey(v, tokenForm, f[3], f[:3])
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	expires, err := token.ParseExpiry(f[2], now)
	if err != nil {
		return badRequest(err.Error())
	}
	plain, t, err := token.NewExpiring(f[0], f[1], now, expires)
	if err != nil {
		return badRequest(err.Error())
	}
	// The token is this account's: it may not decide on the account's
	// own access any more than the account's session may.
	t.CreatedBy = v.account.ID
	var made string // the token the form's key made before
	err = c.st.InTx(r.Context(), func(tx store.Ops) error {
		made = ""
		if once != nil {
			// Before anything else: the second of two requests racing
			// gets the first one's token, whatever has changed since.
			k, err := formMade(r.Context(), tx, *once, now.UTC())
			if err == nil {
				made = k.GrantID
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := makerLiveIn(r.Context(), tx, v); err != nil {
			return err
		}
		if _, err := tx.CreateToken(r.Context(), t); err != nil {
			return err
		}
		if once != nil {
			if err := keepFormKey(r.Context(), tx, *once, t.ID, now.UTC()); err != nil {
				return err
			}
		}
		return c.auditIn(r.Context(), tx, v, "token.create", "token:"+t.ID, token.CreateAuditDetail(t))
	})
	if errors.Is(err, errFormKeyReused) {
		return errTokenFormReused
	}
	if err != nil {
		return err
	}
	if made != "" {
		prior, err := c.st.GetToken(r.Context(), made)
		if err != nil {
			return err
		}
		return c.renderTokensWith(w, r, v, http.StatusOK, tokensData{Repeated: &prior})
	}
	return c.renderTokens(w, r, v, http.StatusCreated, &newToken{Plain: plain, Token: t, Expires: token.Within(t.Expires.Sub(now))}, nil)
}

// errTokenFormReused refuses a create form whose key made a token already
// with other values: a page sent again after it was changed (one restored
// by the browser's Back button, say). A new page has a new key.
var errTokenFormReused = &statusError{http.StatusConflict,
	"this token form was sent before with other values, and made the token it asked for then (see the list of tokens): reload the page to create another token"}

// tokenRotate replaces a token by a new one of the same name and scope,
// shown once, and lets the old one work on for the overlap the form says
// (token.RotateBy). The new token is the viewer's, who is shown its
// secret.
func (c *Console) tokenRotate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	f, err := fields(r, "overlap", "expires")
	if err != nil {
		return err
	}
	overlap, err := token.ParseOverlap(f[0])
	if err != nil {
		return badRequest(err.Error())
	}
	now := c.cfg.Now()
	expires, err := token.ParseExpiry(f[1], now)
	if err != nil {
		return badRequest(err.Error())
	}
	var rot token.Rotation
	err = c.st.InTx(r.Context(), func(tx store.Ops) error {
		if err := makerLiveIn(r.Context(), tx, v); err != nil {
			return err
		}
		var err error
		if rot, err = token.RotateBy(r.Context(), tx, id, v.account.ID, now, overlap, expires); err != nil {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "token.rotate", "token:"+rot.Old.ID, rot.AuditDetail())
	})
	// The old token's expiry may now be sooner than what the verifier
	// remembers; as after a revocation, even after an error.
	c.cfg.TokenRevoked(id)
	switch {
	case errors.Is(err, token.ErrCannotRotate):
		return &statusError{http.StatusConflict, firstLine(err)}
	case err != nil:
		return err
	}
	return c.renderTokens(w, r, v, http.StatusCreated, &newToken{Plain: rot.Plain, Token: rot.New, Expires: token.Within(rot.New.Expires.Sub(now))}, &rot.Old)
}

// makerLiveIn refuses (errAccountStopped), inside the transaction that
// makes a token for viewer v (tokenCreate, tokenRotate), an account that
// was disabled, or whose hub user left, after its session was checked.
// Disabling an account revokes the admin tokens it made in the disabling
// transaction (store.DisableConsoleAccount): a token made after that
// commit would be a working admin token of a disabled maker, shown to the
// very person disabled, and nothing would revoke it.
func makerLiveIn(ctx context.Context, tx store.Ops, v *viewer) error {
	_, err := sessionSelfIn(v.account.ID)(ctx, tx)
	return err
}

// errTokenRevoked stops tokenRevoke's update of a token revoked already.
var errTokenRevoked = errors.New("the token is already revoked")

func (c *Console) tokenRevoke(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		t, err := tx.UpdateToken(r.Context(), id, func(old store.Token) (store.Token, error) {
			if !old.Revoked.IsZero() {
				return old, errTokenRevoked
			}
			old.Revoked = c.cfg.Now().UTC()
			return old, nil
		})
		if err != nil {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "token.revoke", "token:"+t.ID, map[string]string{"name": t.Name, "scope": t.Scope})
	})
	// Even after an error: the commit may have happened, and forgetting a
	// token that is still valid only costs a store read.
	c.cfg.TokenRevoked(id)
	if errors.Is(err, errTokenRevoked) {
		// Revoked by another admin, another tab or a repeated submit:
		// nothing was done again, and the page says so.
		return done(w, r, "/console/tokens", "token-unchanged")
	}
	if err != nil {
		return err
	}
	return done(w, r, "/console/tokens", "token-revoked")
}
