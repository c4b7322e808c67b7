package cli_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest/clock"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// storedToken returns the token id of the hub in dir.
func storedToken(t *testing.T, dir, id string) store.Token {
	t.Helper()
	var tok store.Token
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		var err error
		if tok, err = st.GetToken(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	})
	return tok
}

// tokenAudit returns the detail of the audit records of action about
// token id, in order.
func tokenAudit(t *testing.T, dir, action, id string) []map[string]string {
	t.Helper()
	var out []map[string]string
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: action, Subject: "token:" + id})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var d map[string]string
			if err := json.Unmarshal(r.Detail, &d); err != nil {
				t.Fatalf("%s detail %s: %v", action, r.Detail, err)
			}
			out = append(out, d)
		}
	})
	return out
}

// createToken runs token create with args after --data dir and returns
// the plaintext and the stored token.
func createToken(t *testing.T, dir string, args ...string) (string, store.Token) {
	t.Helper()
	code, out, errs := run(t, append([]string{"token", "create", "--data", dir}, args...)...)
	plain := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(plain, "sgt_") {
		t.Fatalf("token create %v: exit %d, stdout %q, stderr %q", args, code, out, errs)
	}
	return plain, storedToken(t, dir, tokenID(plain))
}

// tokenID is the ID part of a token's plaintext, sgt_<id>_<secret>.
func tokenID(plain string) string { return plain[len("sgt_") : len("sgt_")+16] }

// near reports whether got is within a minute of want (the CLI reads the
// real clock).
func near(got, want time.Time) bool { return got.Sub(want).Abs() < time.Minute }

// TestTokenCreateExpiry: every new token expires: by default 90 days on
// for admin and a year for scim and metrics, or when --expires says (a
// number of days, or the end of a date in UTC); the expiry is printed and
// audited.
func TestTokenCreateExpiry(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	date := now.AddDate(0, 0, 100).UTC().Format(time.DateOnly)
	dayAfter, _ := time.Parse(time.DateOnly, date)
	dayAfter = dayAfter.AddDate(0, 0, 1)
	for _, tc := range []struct {
		scope, expires string
		want           time.Time
	}{
		{"admin", "", now.AddDate(0, 0, 90)},
		{"scim", "", now.AddDate(0, 0, 365)},
		{"metrics", "", now.AddDate(0, 0, 365)},
		{"scim", "30d", now.AddDate(0, 0, 30)},
		{"admin", "730d", now.AddDate(0, 0, 730)},
		{"scim", date, dayAfter},
	} {
		args := []string{"--name", tc.scope + "-" + tc.expires, "--scope", tc.scope}
		if tc.expires != "" {
			args = append(args, "--expires", tc.expires)
		}
		code, out, errs := run(t, append([]string{"token", "create", "--data", dir}, args...)...)
		if code != 0 {
			t.Fatalf("token create %v: exit %d, %q", args, code, errs)
		}
		tok := storedToken(t, dir, tokenID(strings.TrimSpace(out)))
		if !near(tok.Expires, tc.want) {
			t.Errorf("%v: expires %v, want %v", args, tok.Expires, tc.want)
		}
		if !strings.Contains(errs, "expires "+tok.Expires.UTC().Format("2006-01-02 15:04:05 UTC")) || !strings.Contains(errs, "shown once") {
			t.Errorf("%v: stderr %q does not say when the token expires", args, errs)
		}
		recs := tokenAudit(t, dir, "token.create", tok.ID)
		if len(recs) != 1 || recs[0]["expires"] != tok.Expires.Format(time.RFC3339) {
			t.Errorf("%v: token.create records %v; want one with the expiry %s", args, recs, tok.Expires.Format(time.RFC3339))
		}
	}
}

// TestTokenFlagMistakes: a bad --expires or --overlap is a usage mistake
// (exit 2, the command's -h named) found before anything is opened: a new
// --data is not made a hub, an existing one gets no token and no audit
// record.
func TestTokenFlagMistakes(t *testing.T) {
	dir := t.TempDir()
	_, tok := createToken(t, dir, "--name", "okta", "--scope", "scim")
	past := time.Now().AddDate(0, 0, -2).UTC().Format(time.DateOnly)
	far := time.Now().AddDate(2, 0, 2).UTC().Format(time.DateOnly)
	for _, tc := range []struct {
		args []string // after --data DIR
		want string
	}{
		{[]string{"token", "create", "--name", "x", "--scope", "scim", "--expires", "never"}, "every token expires"},
		{[]string{"token", "create", "--name", "x", "--scope", "scim", "--expires", "0d"}, "at least a day"},
		{[]string{"token", "create", "--name", "x", "--scope", "admin", "--expires", "800d"}, "at most 2 years"},
		{[]string{"token", "create", "--name", "x", "--scope", "admin", "--expires", far}, "at most 2 years"},
		{[]string{"token", "create", "--name", "x", "--scope", "scim", "--expires", past}, "has passed"},
		{[]string{"token", "create", "--name", "x", "--scope", "scim", "--expires", "90"}, "number of days"},
		{[]string{"token", "rotate", "--id", tok.ID, "--overlap", "8d"}, "--overlap"},
		{[]string{"token", "rotate", "--id", tok.ID, "--overlap", "-1h"}, "--overlap"},
		{[]string{"token", "rotate", "--id", tok.ID, "--overlap", "soon"}, "--overlap"},
		{[]string{"token", "rotate", "--id", tok.ID, "--expires", "3y"}, "--expires"},
		{[]string{"token", "rotate", "--id", tok.ID, "--expires", "never"}, "--expires"},
		{[]string{"token", "rotate", "--overlap", "1h"}, "needs --id"},
	} {
		hint := "Run 'shiftgate-hub token " + tc.args[1] + " -h' for its flags."
		newDir := filepath.Join(t.TempDir(), "new")
		for _, d := range []string{dir, newDir} {
			args := append([]string{tc.args[0], tc.args[1], "--data", d}, tc.args[2:]...)
			code, out, errs := run(t, args...)
			if code != 2 || out != "" || !strings.Contains(errs, tc.want) || !strings.Contains(errs, hint) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %q and %q", tc.args, code, out, errs, tc.want, hint)
			}
		}
		if _, err := os.Stat(newDir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v made the new --data: %v", tc.args, err)
		}
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		ts, err := st.ListTokens(t.Context())
		if err != nil || len(ts) != 1 {
			t.Errorf("tokens after the mistakes: %d, %v; want the one created", len(ts), err)
		}
		for _, action := range []string{"token.create", "token.rotate"} {
			recs, _ := st.ListAudit(t.Context(), store.AuditQuery{Action: action})
			if want := map[string]int{"token.create": 1}[action]; len(recs) != want {
				t.Errorf("%d %s records after the mistakes, want %d", len(recs), action, want)
			}
		}
	})
	if got := storedToken(t, dir, tok.ID); !got.Expires.Equal(tok.Expires) || got.ReplacedBy != "" {
		t.Errorf("a refused rotation changed the token: %+v", got)
	}
}

// TestTokenRotateCommand: rotate prints a new token of the same name and
// scope once; the old one works for the overlap and is refused after it;
// the rotation is audited with both IDs and no secret; a rotated token
// cannot be rotated again, an unknown one is named.
func TestTokenRotateCommand(t *testing.T) {
	dir := t.TempDir()
	oldPlain, old := createToken(t, dir, "--name", "entra", "--scope", "scim")
	code, out, errs := run(t, "token", "rotate", "--data", dir, "--id", old.ID, "--overlap", "2h", "--expires", "60d")
	newPlain := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(newPlain, "sgt_") || newPlain == oldPlain {
		t.Fatalf("token rotate: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	now := time.Now()
	rotated, next := storedToken(t, dir, old.ID), storedToken(t, dir, tokenID(newPlain))
	if !near(rotated.Expires, now.Add(2*time.Hour)) || rotated.ReplacedBy != next.ID {
		t.Errorf("rotated token: expires %v, replaced by %q; want in 2h, by %s", rotated.Expires, rotated.ReplacedBy, next.ID)
	}
	if next.Name != "entra" || next.Scope != store.ScopeSCIM || next.ID == old.ID || !near(next.Expires, now.AddDate(0, 0, 60)) {
		t.Errorf("successor %+v; want entra, scim, a new ID, 60 days", next)
	}
	for _, want := range []string{"id " + next.ID, "shown once", "identity provider", "works until", old.ID} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not say %q", errs, want)
		}
	}

	// The old token works during the overlap, the new one throughout.
	clk := clock.New(now)
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		v := token.NewVerifier(st, clk.Now, nil)
		for _, p := range []string{oldPlain, newPlain} {
			if _, err := v.Verify(t.Context(), p, store.ScopeSCIM); err != nil {
				t.Errorf("during the overlap: %v", err)
			}
		}
		clk.Advance(2*time.Hour + time.Minute)
		if _, err := v.Verify(t.Context(), oldPlain, store.ScopeSCIM); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("the old token after the overlap: %v, want ErrInvalid", err)
		}
		if _, err := v.Verify(t.Context(), newPlain, store.ScopeSCIM); err != nil {
			t.Errorf("the new token after the overlap: %v", err)
		}
	})

	recs := tokenAudit(t, dir, "token.rotate", old.ID)
	if len(recs) != 1 || recs[0]["old_id"] != old.ID || recs[0]["new_id"] != next.ID || recs[0]["name"] != "entra" ||
		recs[0]["old_expires"] != rotated.Expires.Format(time.RFC3339) || recs[0]["new_expires"] != next.Expires.Format(time.RFC3339) {
		t.Errorf("token.rotate records %v; want one with both IDs and expiries", recs)
	}
	for _, p := range []string{oldPlain, newPlain} {
		secret := p[len("sgt_")+17:]
		if b, _ := json.Marshal(recs); strings.Contains(string(b), secret) {
			t.Errorf("the audit record holds a secret: %s", b)
		}
	}

	code, out, errs = run(t, "token", "rotate", "--data", dir, "--id", old.ID)
	if code != 1 || out != "" || !strings.Contains(errs, "rotated already") || !strings.Contains(errs, next.ID) {
		t.Errorf("rotating again: exit %d, stdout %q, stderr %q; want 1, naming the successor", code, out, errs)
	}
	code, _, errs = run(t, "token", "rotate", "--data", dir, "--id", "0000000000000000")
	if code != 1 || !strings.Contains(errs, "no token 0000000000000000") {
		t.Errorf("rotating an unknown token: exit %d, %q", code, errs)
	}

	// Overlap 0: the old token stops at once.
	p3, third := createToken(t, dir, "--name", "prom", "--scope", "metrics")
	if code, _, errs := run(t, "token", "rotate", "--data", dir, "--id", third.ID, "--overlap", "0"); code != 0 || !strings.Contains(errs, "refused from now on") {
		t.Fatalf("rotate --overlap 0: exit %d, %q", code, errs)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		if _, err := token.NewVerifier(st, nil, nil).Verify(t.Context(), p3, store.ScopeMetrics); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("the old token after rotate --overlap 0: %v, want ErrInvalid", err)
		}
	})
}

// TestTokenListStates: token list shows each token's expiry and state; a
// token from before tokens expired is "no expiry: rotate".
func TestTokenListStates(t *testing.T) {
	dir := t.TempDir()
	_, active := createToken(t, dir, "--name", "okta", "--scope", "scim")
	_, soon := createToken(t, dir, "--name", "ci", "--scope", "admin", "--expires", "3d")
	_, legacy := createToken(t, dir, "--name", "legacy", "--scope", "scim")
	_, gone := createToken(t, dir, "--name", "gone", "--scope", "metrics", "--expires", "1d")
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		for id, fn := range map[string]func(*store.Token){
			legacy.ID: func(t *store.Token) { t.Expires = time.Time{} }, // as migrated
			gone.ID:   func(t *store.Token) { t.Expires = time.Now().Add(-time.Hour) },
		} {
			if _, err := st.UpdateToken(t.Context(), id, func(old store.Token) (store.Token, error) { fn(&old); return old, nil }); err != nil {
				t.Fatal(err)
			}
		}
	})
	code, out, errs := run(t, "token", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "STATE") || !strings.Contains(out, "EXPIRES") {
		t.Fatalf("token list: exit %d, %q, %q", code, out, errs)
	}
	for id, want := range map[string][]string{
		active.ID: {"active", active.Expires.UTC().Format("2006-01-02 15:04:05Z")},
		soon.ID:   {"expires in 3 days"},
		legacy.ID: {"no expiry: rotate", "never"},
		gone.ID:   {"expired"},
	} {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, id) {
				line = l
			}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("token list line of %s: %q; want %q", id, line, w)
			}
		}
	}
}

// TestTokenNameChecked: token create refuses a name with a control
// character (a usage mistake, exit 2, before anything is made), and
// token list prints a name stored before names were checked quoted,
// with its escapes spelled out, so that a name cannot shift the columns,
// nor make the terminal erase or rewrite rows: a token named with "cursor
// up, erase line" would otherwise hide the row above it.
func TestTokenNameChecked(t *testing.T) {
	newDir := filepath.Join(t.TempDir(), "new")
	for _, name := range []string{"ci\x1b[1A\x1b[2K", "ci\tprod", "ci\nprod", "ci\xff"} {
		code, out, errs := run(t, "token", "create", "--data", newDir, "--name", name, "--scope", "admin")
		if code != 2 || out != "" || !strings.Contains(errs, "name") {
			t.Errorf("token create --name %q: exit %d, stdout %q, stderr %q; want exit 2 about the name", name, code, out, errs)
		}
	}
	if _, err := os.Stat(newDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused name made the new --data: %v", err)
	}

	dir := t.TempDir()
	_, okta := createToken(t, dir, "--name", "okta", "--scope", "scim")
	_, evil := createToken(t, dir, "--name", "placeholder", "--scope", "admin")
	const evilName = "backdoor\x1b[1A\x1b[2K\r\tx"
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		if _, err := st.UpdateToken(t.Context(), evil.ID, func(old store.Token) (store.Token, error) {
			old.Name = evilName // as stored before names were checked
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	code, out, errs := run(t, "token", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("token list: exit %d, %q", code, errs)
	}
	if strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("token list printed a control character raw:\n%q", out)
	}
	if !strings.Contains(out, evil.ID+`  "backdoor\x1b[1A\x1b[2K\r\tx"`) {
		t.Errorf("token list:\n%s\nwant token %s's name quoted with its escapes", out, evil.ID)
	}
	if !strings.Contains(out, okta.ID+"  okta ") {
		t.Errorf("token list:\n%s\nwant a plain name as it is", out)
	}
}
