package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/store"
)

// admin runs `shiftgate-hub admin bootstrap`: the one-time link that lets
// the first console admin register a passkey. Everyone else is invited
// from the console. --user links the account to the hub user of that
// userName instead of the one of its name (console.BootstrapFor).
func (e env) admin(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "bootstrap" {
		return fmt.Errorf("%w: admin needs bootstrap", errUsage)
	}
	fs := e.flags("admin bootstrap")
	data := fs.String("data", "", "hub data directory")
	name := fs.String("name", "admin", "the admin account's name, e.g. an email address")
	user := fs.String("user", "", "the hub user (userName) to link the account to, when it is not the account's name; default: the hub user of that name, if any")
	public := fs.String("public-url", "https://localhost:8443", "the hub's public URL, as in serve --public-url")
	force := fs.Bool("force", false, "also when an admin can already sign in (recovery from lost passkeys)")
	if err := parse(fs, args[1:], "data"); err != nil {
		return err
	}
	// The link is opened at this URL: one that serve would refuse (an IP
	// address: passkeys need a domain) gives a link that cannot work.
	if err := checkPublicURL(*public); err != nil {
		return err
	}
	if err := checkAccountName(*name); err != nil {
		return err
	}
	if strings.ContainsFunc(*user, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: --user: a user name cannot contain control characters", errUsage)
	}
	var tok string
	fresh := noHub(*data)
	err := withNewAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
		var err error
		tok, err = console.BootstrapFor(ctx, st, log, *name, *user, *force, time.Now())
		return err
	})
	if errors.Is(err, console.ErrAdminExists) {
		return &exitError{code: 1, err: fmt.Errorf("%w (or pass --force to recover)", err)}
	}
	if err != nil {
		return err
	}
	e.newHubNote(*data, fresh, "the link")
	linked := ""
	if u := strings.TrimSpace(*user); u != "" {
		linked = fmt.Sprintf(" (linked to hub user %q)", u)
	}
	fmt.Fprintf(e.stderr, "one-time link for console admin %q%s: open it in a browser to register a passkey; valid once, for %v:\n", *name, linked, console.DefaultInviteTTL)
	fmt.Fprintln(e.stdout, console.InviteLink(*public, tok))
	return nil
}

// checkAccountName refuses, before the data directory is opened (or a hub
// made in it), a --name console.Bootstrap would refuse after: the rules of
// a console account's name. TestAccountNameAsConsole keeps them in step.
func checkAccountName(name string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return fmt.Errorf("%w: --name is blank: give the admin account a name, e.g. an email address", errUsage)
	case len(name) > 100:
		return fmt.Errorf("%w: --name: an account name is at most 100 characters", errUsage)
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("%w: --name: an account name cannot contain control characters", errUsage)
	case strings.ContainsAny(name, "<>\"'"):
		return fmt.Errorf("%w: --name: an account name cannot contain < > \" or '", errUsage)
	}
	return nil
}
