package hub

import (
	"context"
	"fmt"
	"net/http"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// revokeTokensOfDisabledMakers applies at start the rule that an admin API
// token goes with the console account that made it
// (token.RevokeOfDisabledMaker says why): every path that disables an
// account revokes its admin tokens (store.DisableConsoleAccount), but an
// account disabled before the hub did so kept them working, and nothing
// would revoke them later (the leaver path skips an account already
// disabled). In one transaction, it revokes the admin tokens that still
// work whose maker is disabled, or is gone from the store
// (orphaned/token_of_inactive_maker takes a gone maker for one that no
// longer answers for its tokens, as a disabled one), each audited as a
// token.revoke by the hub with the reason and "atStart", and logs them at
// warn by ID and name. SCIM and metrics tokens stay working, as
// when an account is disabled. A second start finds nothing to do.
func (s *Server) revokeTokensOfDisabledMakers(ctx context.Context) error {
	type revoked struct {
		tok  store.Token
		gone bool
	}
	var done []revoked
	err := s.st.InTx(ctx, func(tx store.Ops) error {
		accounts, err := tx.ListConsoleAccounts(ctx)
		if err != nil {
			return fmt.Errorf("console accounts: %w", err)
		}
		disabled := make(map[string]bool, len(accounts))
		for _, a := range accounts {
			disabled[a.ID] = !a.Disabled.IsZero()
		}
		ts, err := token.RevokeOfDisabledMakers(ctx, tx, func(id string) bool {
			d, known := disabled[id]
			return d || !known
		}, s.cfg.Now())
		if err != nil {
			return err
		}
		for _, t := range ts {
			_, known := disabled[t.CreatedBy]
			detail := token.RevokeAuditDetail(t)
			detail["atStart"] = "true"
			if !known {
				detail["reason"] = token.ReasonMakerGone
			}
			if _, err := s.audit.Append(ctx, tx, auditEntry(lifecycle.Actor{Name: "hub", System: "config"}, "token.revoke", "token:"+t.ID, detail)); err != nil {
				return err
			}
			done = append(done, revoked{t, !known})
		}
		return nil
	})
	// Even after an error, as the console's Revoke does: the commit may
	// have happened, and forgetting a token that still works only costs a
	// store read.
	for _, r := range done {
		s.verifier.Forget(r.tok.ID)
	}
	if err != nil {
		return err
	}
	if len(done) == 0 {
		return nil
	}
	names := make([]string, 0, len(done))
	for _, r := range done {
		why := "disabled"
		if r.gone {
			why = "gone"
		}
		names = append(names, r.tok.ID+" ("+r.tok.Name+", maker console account "+r.tok.CreatedBy+" "+why+")")
	}
	s.cfg.Logger.Warn("admin API tokens revoked at start: the console accounts that made them were disabled (or are gone) before the hub revoked an account's admin tokens with it; their users need new ones made by an enabled account",
		"count", len(names), "tokens", names)
	return nil
}

// makerMayAct refuses, with 401, an admin API token made on the console
// whose maker may not act now (console.Console.MakerStopped: the account
// is disabled or gone, or its hub user has left), as the maker's console
// session is refused, and reports whether the request may go on; when it
// may not, it has answered. The token is not revoked: an account whose
// hub user has left is still enabled, and its tokens act again if the
// identity provider enables the user. SCIM and metrics tokens, and those
// the CLI made, are not the maker's hands on the API and are left alone,
// as when a maker is disabled (token.RevokeOfDisabledMaker).
//
// It reads the maker and its hub user on every such request, as the
// console reads the account of every console request: the JSON API is no
// hot path, and the verifier's cache would otherwise keep a leaver's
// token working for its TTL.
func (s *Server) makerMayAct(w http.ResponseWriter, r *http.Request, t store.Token) bool {
	if t.Scope != store.ScopeAdmin || t.CreatedBy == "" {
		return true
	}
	why, err := s.console.MakerStopped(r.Context(), t.CreatedBy)
	if err != nil {
		s.writeAPIError(w, r, err)
		return false
	}
	if why == "" {
		return true
	}
	s.cfg.Logger.Warn("admin API token refused: "+why, "token_id", t.ID, "token_name", t.Name, "account", t.CreatedBy)
	w.Header().Set("WWW-Authenticate", `Bearer realm="shiftgate-`+store.ScopeAdmin+`"`)
	writeAPIJSON(w, http.StatusUnauthorized, apiError{"this admin token may not act: " + why +
		"; ask an admin who stays for a token of their own (Tokens on the console)"})
	return false
}
