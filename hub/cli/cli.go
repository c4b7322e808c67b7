// Package cli implements the shiftgate-hub command line: serve, token,
// device, site, audit, review, findings, report, backup, restore and
// demo. Each subcommand parses its own flags, says what it is doing on
// stderr, prints its result on stdout and returns an exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/shiftgate/shiftgate/hub"
)

const usage = `shiftgate-hub: the Shiftgate hub

Usage:
  shiftgate-hub serve  --data DIR [--listen ADDR] [--public-url URL] [--tls-cert FILE --tls-key FILE] [--new-ca]
                                                                      run the hub
  shiftgate-hub token  create --data DIR --name NAME --scope scim|admin|metrics [--expires 90d|DATE]
                                                                      print a new API token once (expires: admin 90d, scim/metrics 365d by default, at most 2 years)
  shiftgate-hub token  list   --data DIR                                 list tokens, their expiry and state (never their secrets)
  shiftgate-hub token  rotate --data DIR --id ID [--overlap 24h] [--expires 90d|DATE]
                                                                      print the token's successor once; the old one works for the overlap (0 to 7d), then is refused
  shiftgate-hub token  revoke --data DIR --id ID                         revoke a token at once
  shiftgate-hub device code   --data DIR --site SITE --name NAME [--profile PROFILE]
                                                                      print a one-time kiosk enrollment code
  shiftgate-hub device list   --data DIR                                 list enrolled kiosks
  shiftgate-hub site   set    --data DIR --name NAME --time-zone ZONE    register a site, or change its time zone
  shiftgate-hub site   list   --data DIR                                 list registered sites and their time zones
  shiftgate-hub audit  verify --data DIR [--anchor SEQ:HASH] [--checkpoints LOG --public-key PEM]
                                                                      check the audit hash chain (against a kept head, or the hub's signed checkpoints)
  shiftgate-hub audit  verify --export FILE (--public-key PEM | --data DIR) [--after SEQ] [--anchor SEQ:HASH]
                                                                      check an export: its signature with the hub's public key, or its hashes with audit.key
  shiftgate-hub audit  export --data DIR [--after SEQ]                   audit records as JSON lines, signed (last line)
  shiftgate-hub audit  public-key --data DIR                             the public key that checks signed exports (key id on stderr)
  shiftgate-hub audit  reindex --data DIR                                rebuild the audit search indexes from the records (hub stopped; keeps a copy of hub.db first)
  shiftgate-hub backup --data DIR --out FILE                             a checked copy of the database, taken beside a running hub
  shiftgate-hub restore --data DIR --from FILE                           put a backup in place as the database (refused while a hub runs; the old one is kept)
  shiftgate-hub import shifts --data DIR [--zone ZONE] [--dry-run] FILE.csv  replace listed users' shifts, all or nothing
  shiftgate-hub review start --data DIR --name NAME --due DATE [--site S] [--role R] [--privileged] [--external]
                                                                      start an access-review campaign
  shiftgate-hub review list  --data DIR [--format text|json]           campaigns and their completion
  shiftgate-hub review show  --data DIR --id ID [--format text|json|csv]  one campaign's items (csv: audit evidence)
  shiftgate-hub review run   --data DIR                                start due default campaigns, escalate overdue items
  shiftgate-hub findings --data DIR [--format json|csv] [--dormant-days N]   risk findings
  shiftgate-hub report   --data DIR [--format json|csv] [--since DATE] [--until DATE]
                                                                      the four governance numbers (for a period)
  shiftgate-hub admin  bootstrap --data DIR [--name NAME] [--user USERNAME] [--public-url URL] [--force]
                                                                      print the first console admin's one-time link
  shiftgate-hub demo   --data DIR [--listen ADDR] [--exit]               a hub with a demo organisation

Run 'shiftgate-hub COMMAND -h' for a command's flags.
`

// errUsage marks a mistake in the command line; the message says what to fix.
var errUsage = errors.New("usage")

// env is what every subcommand gets.
type env struct {
	stdout, stderr io.Writer
	// cmd is the subcommand's flag set, once it has made one (see flags):
	// a usage mistake points to its -h.
	cmd *command
}

// command records the flag set of the subcommand being run.
type command struct{ fs *flag.FlagSet }

// Run runs the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := env{stdout: stdout, stderr: stderr, cmd: new(command)}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		// Asked for: on stdout, so that it pipes into less or grep.
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) > 1 && isHelp(args[1]) && subcommands[args[0]] {
		// "token -h": the command's lines of the overview, as asked
		// for; each subcommand's -h lists its flags.
		fmt.Fprint(stdout, commandUsage(args[0]))
		return 0
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = e.serve(ctx, rest)
	case "token":
		err = e.token(ctx, rest)
	case "audit":
		err = e.audit(ctx, rest)
	case "device":
		err = e.device(ctx, rest)
	case "site":
		err = e.site(ctx, rest)
	case "demo":
		err = e.demo(ctx, rest)
	case "import":
		err = e.importCmd(ctx, rest)
	case "review":
		err = e.review(ctx, rest)
	case "findings":
		err = e.findings(ctx, rest)
	case "report":
		err = e.report(ctx, rest)
	case "admin":
		err = e.admin(ctx, rest)
	case "backup":
		err = e.backup(ctx, rest)
	case "restore":
		err = e.restore(ctx, rest)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		// The mistake and where to look, not the whole overview: the
		// error would scroll off above it.
		fmt.Fprintf(stderr, "shiftgate-hub: %v\n%s\n", strings.TrimPrefix(err.Error(), "usage: "), e.helpHint())
		return 2
	default:
		var ex *exitError
		if errors.As(err, &ex) {
			fmt.Fprintf(stderr, "shiftgate-hub: %v\n", ex.err)
			return ex.code
		}
		fmt.Fprintf(stderr, "shiftgate-hub: %v\n", err)
		return 1
	}
}

// subcommands are the commands made of subcommands (token create, …):
// their -h lists those, since the command itself has no flags.
var subcommands = map[string]bool{"token": true, "device": true, "site": true, "audit": true, "import": true, "review": true, "admin": true}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// commandUsage is the overview's lines for cmd (its usage lines and their
// descriptions), then where each subcommand's flags are.
func commandUsage(cmd string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	in := false
	for line := range strings.Lines(usage) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "shiftgate-hub" {
			in = f[1] == cmd
		} else if strings.TrimSpace(line) == "" || !strings.HasPrefix(line, "    ") {
			in = false // a continuation line is indented further than a usage line
		}
		if in {
			b.WriteString(line)
		}
	}
	fmt.Fprintf(&b, "\nRun 'shiftgate-hub %s SUBCOMMAND -h' for a subcommand's flags.\n", cmd)
	return b.String()
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

// existingHub refuses a data directory without a hub database, for every
// command but those that may start a hub (serve, demo, and withNewAudit's):
// opening it would make a new, empty hub, whose empty report or intact
// empty audit chain would answer for the real one a mistyped --data meant,
// or which would take a change meant for it.
func existingHub(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, hub.DBFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no hub (no %s): check --data", dir, hub.DBFile)
	} else if err != nil {
		return err
	}
	return nil
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// flags returns a FlagSet for a subcommand that reports errors as usage.
func (e env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if e.cmd != nil {
		e.cmd.fs = fs
	}
	return fs
}

// helpHint is the line under a usage mistake: the subcommand's -h once its
// flags were parsed (the subcommand is then known to exist), the overview's
// otherwise.
func (e env) helpHint() string {
	if e.cmd != nil && e.cmd.fs != nil && e.cmd.fs.Parsed() {
		fs := e.cmd.fs
		return fmt.Sprintf("Run 'shiftgate-hub %s -h' for its flags.", fs.Name())
	}
	return "Run 'shiftgate-hub -h' for the list of commands."
}

// parseFlags is fs.Parse without the flag package's own report of a
// mistake (its message, then every flag of the command): Run reports it
// once, with a pointer to -h. Asked for with -h, the flags are printed on
// fs's output as usual.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	return err
}

// parse parses args and requires the named string flags. A first
// argument "help" asks for the flags, as -h does: the overview and the
// commands made of subcommands take it so ("shiftgate-hub token help"),
// and a command that takes no arguments could not mean anything else by
// it.
func parse(fs *flag.FlagSet, args []string, required ...string) error {
	if len(args) > 0 && args[0] == "help" {
		args = []string{"-h"}
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	for _, name := range required {
		if f := fs.Lookup(name); f == nil || f.Value.String() == "" {
			return fmt.Errorf("%w: %s needs --%s", errUsage, fs.Name(), name)
		}
	}
	return nil
}

// logger builds the hub's structured logger.
func (e env) logger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: use json or text", errUsage, format)
}
