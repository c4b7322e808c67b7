package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// enrollHint is the kiosk's command that redeems the code: what the
// installer types next. It names the code, not its value: stderr may go to
// a log that stdout, captured by a script, does not. The code is read from
// standard input (--code -), as the installer types or pipes it: on the
// command line, every local user of the kiosk could read it while enroll
// runs.
func enrollHint(profile string) string {
	if profile == "" {
		profile = "PROFILE"
	}
	return "shiftgate-agent enroll --hub https://HUB:PORT --ca ca.pem --code - --state /var/lib/shiftgate --profile " + profile
}

func (e env) device(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: device needs code or list", errUsage)
	}
	switch args[0] {
	case "code":
		fs := e.flags("device code")
		data := fs.String("data", "", "hub data directory")
		site := fs.String("site", "", "site the kiosk stands at")
		name := fs.String("name", "", "kiosk name, unique, e.g. north-ward-3")
		profile := fs.String("profile", "", "hardware profile the kiosk must enroll with (default: the installer chooses)")
		if err := parse(fs, args[1:], "data", "site", "name"); err != nil {
			return err
		}
		// Before the hub is opened (enroll.NewCode checks again): a
		// mistake must not leave a new, empty hub in --data.
		if err := enroll.CheckKiosk(*name, *site); err != nil {
			return fmt.Errorf("%w: device code: --name, --site: %v", errUsage, err)
		}
		if *profile != "" && strings.TrimSpace(*profile) == "" {
			return fmt.Errorf("%w: device code: --profile is blank: leave it out for a code any profile may redeem", errUsage)
		}
		*profile = strings.TrimSpace(*profile)
		if *profile != "" {
			// The hub's profiles are files (built in, and DIR/profiles/):
			// known without the database.
			err := hub.CheckProfile(*data, *profile)
			switch {
			case errors.Is(err, hub.ErrUnknownProfile):
				return fmt.Errorf("%w: device code: --profile: %v", errUsage, err)
			case err != nil:
				return fmt.Errorf("--profile: %w", err) // DIR/profiles/ cannot be read: not a usage mistake
			}
		}
		var code string
		fresh := noHub(*data)
		err := withNewAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
			var err error
			code, err = enroll.NewCode(ctx, st, log, "cli", *name, *site, *profile, time.Now())
			return err
		})
		if err != nil {
			return err
		}
		e.newHubNote(*data, fresh, "the code")
		if *profile != "" {
			fmt.Fprintf(e.stderr, "enrollment code for kiosk %q at %s with profile %s; valid once, for %v:\n", *name, *site, *profile, enroll.CodeTTL)
		} else {
			fmt.Fprintf(e.stderr, "enrollment code for kiosk %q at %s; valid once, for %v:\n", *name, *site, enroll.CodeTTL)
		}
		fmt.Fprintln(e.stdout, code)
		ca := filepath.Join(*data, "ca.pem")
		if _, err := os.Stat(ca); errors.Is(err, os.ErrNotExist) {
			// A code made before the hub's first start: its CA is not made yet.
			ca += " (written when the hub first starts: shiftgate-hub serve --data " + *data + ")"
		}
		fmt.Fprintf(e.stderr, "on the kiosk, with %s copied to it (and, if the hub serves --tls-cert, that certificate's root added to it): %s, and give it the code above when it asks (or pipe it in)\n", ca, enrollHint(*profile))
		return nil
	case "list":
		fs := e.flags("device list")
		data := fs.String("data", "", "hub data directory")
		if err := parse(fs, args[1:], "data"); err != nil {
			return err
		}
		return e.readHub(ctx, *data, func(st *sqlite.ReadOnly, e env) error {
			ds, err := st.ListDevices(ctx, "")
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSITE\tPROFILE\tSTATE\tENROLLED\tLAST SEEN")
			for _, d := range ds {
				state := "active"
				if d.State == store.DeviceDisabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, shown(d.Name), shown(d.Site), shown(d.Profile), state, stamp(d.Created), stamp(d.LastSeen))
			}
			return tw.Flush()
		})
	}
	return fmt.Errorf("%w: unknown device command %q", errUsage, args[0])
}
