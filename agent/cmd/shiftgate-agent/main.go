// Command shiftgate-agent is the headless kiosk agent: it enrolls a kiosk
// with its hub and runs the session state machine, printing one JSON event
// per line on stdout and reading "tap NAME", "signout", "activity" and
// "open APP [SESSION_ID]" on stdin. With --authenticator fido2 the badge
// reader taps: security keys and NFC cards presented on the kiosk. Its
// register command registers one key for the enrollment an admin
// authorises for the kiosk, and exits.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/authenticator"
)

const usage = `usage:
  shiftgate-agent enroll --hub URL --ca FILE --code CODE --state DIR --profile NAME
  shiftgate-agent run --state DIR --authenticator soft:DIR|fido2 [--warning 5m] [--session-user USER --session-homes DIR]
  shiftgate-agent register --state DIR --authenticator soft:DIR|fido2 [--key NAME] [--timeout 2m]

enroll takes the one-time code as --code CODE, or, kept out of the process
list other local users can read, as --code - (one line on standard input)
or in the environment variable ` + codeEnv + `.

register connects as the kiosk, waits for the enrollment an admin authorises
for it meanwhile (POST /api/v1/enrollments {"user": USERNAME, "device": KIOSK}),
registers the key (soft: --key NAME, touched by itself; fido2: touch the key
when asked on stderr), prints run's JSON events and exits 0 after
credential.registered. Stop the kiosk's run (or UI) first: one agent process
per state directory (a second one exits 1 at once). It exits 3 at once when
the hub refuses the kiosk's device certificate (device.refused: the kiosk is
disabled or deleted, or must be enrolled again), 130 when interrupted. Every
command exits 2 on a mistake in the command line, 1 on any other failure.
"COMMAND -h" lists a command's flags.
`

func main() {
	// The agent enforces sessions (expiry, idle timeout, revocations)
	// whoever reads its events. A Go program that does not handle SIGPIPE
	// is killed by its first write to a stdout or stderr pipe whose reader
	// has gone (a kiosk shell that crashed, a log pipe that closed), which
	// left the worker's session open, its apps running and nothing ending
	// them. Notified, such a write fails with EPIPE instead: the events
	// are lost (said once on stderr) and the agent goes on. Notified, not
	// ignored: an ignored SIGPIPE would be inherited by the session apps.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var err error
	switch args[0] {
	case "enroll":
		err = enroll(ctx, args[1:], stdin, stdout, stderr)
	case "run":
		err = runAgent(ctx, args[1:], stdin, stdout, stderr, log)
	case "register":
		err = register(ctx, args[1:], stdout, stderr, log)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "shiftgate-agent: %v\n", err)
		if errors.Is(err, agent.ErrFIDO2NotBuilt) {
			fmt.Fprintln(stderr, fido2Hint)
		}
		if errors.Is(err, agent.ErrInterrupted) {
			return exitInterrupted
		}
		var refused *agent.DeviceRefusedError
		if errors.As(err, &refused) {
			return exitDeviceRefused
		}
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a mistake in the command line: exit status 2, as the
// flag package gives its own, and shiftgate-hub and shiftgate-kiosk
// theirs. Scripts tell "fix the command" from "the kiosk or hub failed".
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseError marks err, from a flag set's Parse, as a usage mistake; -h
// (flag.ErrHelp) stays itself.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// authenticatorError is a --authenticator value's error: a usage mistake,
// unless the value was right and this binary lacks its support.
func authenticatorError(err error) error {
	if errors.Is(err, agent.ErrFIDO2NotBuilt) {
		return err
	}
	return parseError(err)
}

// fido2Hint says how to get hardware key support, after ErrFIDO2NotBuilt.
const fido2Hint = "for security keys and NFC badges build the agent with libfido2: apt-get install libfido2-dev; go build -tags fido2 ./agent/cmd/shiftgate-agent (or use --authenticator soft:DIR for software badges)"

// exitInterrupted is the exit status of a register stopped by SIGINT or
// SIGTERM before it registered anything (128+SIGINT, as shells report).
const exitInterrupted = 130

// exitDeviceRefused is the exit status of a register the hub refused the
// kiosk's device certificate to (disabled, deleted, expired, another CA):
// retrying cannot help until an admin acts or the kiosk is enrolled again.
const exitDeviceRefused = 3

// codeEnv holds the enrollment code when --code is not given: unlike the
// command line (/proc/PID/cmdline), a process's environment is readable
// only by its own user and root.
const codeEnv = "SHIFTGATE_ENROLL_CODE"

// codeWays is how to give enroll its code, for the errors about it.
const codeWays = "give the one-time code (shiftgate-hub device code) as --code CODE, as --code - with the code on standard input, or in " + codeEnv

// maxCodeLine bounds the line --code - reads: a code is a few dozen
// characters, and a wrong file on stdin must not be read whole.
const maxCodeLine = 1024

func enroll(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg agent.EnrollConfig
	fs.StringVar(&cfg.HubURL, "hub", "", "hub URL, https://HOST[:PORT]")
	fs.StringVar(&cfg.CAFile, "ca", "", "PEM file of the CA(s) the hub's HTTPS certificate chains to: the hub's ca.pem, or, for a hub serving an operator's certificate (serve --tls-cert), that CA's root and the hub's ca.pem")
	fs.StringVar(&cfg.Code, "code", "", "one-time enrollment code (shiftgate-hub device code); other local users can read a command line while it runs, so\n"+
		"prefer \"-\", which reads the code from the first line of standard input, or leave --code out and set "+codeEnv)
	fs.StringVar(&cfg.StateDir, "state", "", "state directory (created, mode 0700)")
	fs.StringVar(&cfg.Profile, "profile", "", "kiosk hardware profile name")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	// The flag wins over the environment, as a command line's explicit
	// choice does; an empty --code is no choice.
	if strings.TrimSpace(cfg.Code) == "" {
		cfg.Code = os.Getenv(codeEnv)
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--hub", cfg.HubURL}, {"--ca", cfg.CAFile}, {"--code", cfg.Code}, {"--state", cfg.StateDir}, {"--profile", cfg.Profile},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		err := usagef("enroll needs %s (see shiftgate-agent enroll -h)", strings.Join(missing, ", "))
		if strings.TrimSpace(cfg.Code) == "" {
			err = usagef("%v; %s", err, codeWays)
		}
		return err
	}
	// Standard input is read only once the rest of the command line is
	// right: a mistake there is said at once, not after the installer
	// typed the code.
	if cfg.Code == "-" {
		if isCharDevice(stdin) {
			// At a terminal, a silent wait for a line looks like a hang.
			fmt.Fprint(stderr, "one-time code (shiftgate-hub device code), then Enter: ")
		}
		code, err := readCode(ctx, stdin)
		if err != nil {
			return err
		}
		cfg.Code = code
	}
	res, err := agent.Enroll(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled as device %s (%s) at site %s; state in %s\n", res.DeviceID, res.DeviceName, res.Site, cfg.StateDir)
	fmt.Fprintf(stderr, "next: shiftgate-agent run --state %s --authenticator fido2 (or soft:DIR for software badges)\n", cfg.StateDir)
	return nil
}

// readCode reads the enrollment code for --code -: the first line of r,
// without surrounding spaces (a CRLF or a trailing blank from a pasted or
// echoed code is no part of it). It gives up when ctx ends: main catches
// SIGINT and SIGTERM into ctx, so a read that ignored it would leave an
// installer's Ctrl-C at a terminal (or a supervisor's stop) unanswered
// until a line or end of file came. The read itself cannot be
// interrupted; it is left to the process's exit.
func readCode(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	read := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(io.LimitReader(r, maxCodeLine+1)).ReadString('\n')
		read <- result{line, err}
	}()
	var line string
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("--code -: stopped waiting for the code on standard input: %w", context.Cause(ctx))
	case res := <-read:
		if res.err != nil && !errors.Is(res.err, io.EOF) {
			return "", fmt.Errorf("--code -: read standard input: %w", res.err)
		}
		line = res.line
	}
	if len(line) > maxCodeLine {
		return "", usagef("--code -: the first line of standard input is longer than %d bytes, which is no enrollment code; %s", maxCodeLine, codeWays)
	}
	code := strings.TrimSpace(line)
	if code == "" {
		return "", usagef("--code -: standard input has no code on its first line; %s", codeWays)
	}
	return code, nil
}

// isCharDevice reports whether r is a file that is a character device: a
// terminal (or /dev/null, where a prompt on stderr does no harm).
func isCharDevice(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func register(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "enrolled state directory (stop the kiosk's run or UI meanwhile: one hub channel per kiosk)")
	auth := fs.String("authenticator", "", "soft:DIR (the software key DIR/NAME.json, created if missing, touched by itself) or fido2 (the security key on the reader: touch it when asked)")
	key := fs.String("key", "", "with soft:DIR, the key NAME to register (required); with fido2, a label for the log")
	timeout := fs.Duration("timeout", agent.DefaultRegisterTimeout, "how long to wait for the hub, the enrollment and the touch")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *state == "" || *auth == "" {
		return usagef("--state and --authenticator are required")
	}
	soft := strings.HasPrefix(*auth, "soft:")
	if soft && *key == "" {
		return usagef("--key NAME is required with --authenticator soft:DIR: the software key to register (DIR/NAME.json)")
	}
	if *timeout <= 0 {
		return usagef("--timeout %s: must be positive", *timeout)
	}
	src, err := agent.ParseAuthenticator(*auth, authenticator.SoftOptions{})
	if err != nil {
		return authenticatorError(err)
	}
	cfg := agent.RegisterConfig{
		StateDir: *state, Authenticators: src, Badge: *key, Timeout: *timeout,
		Events: agent.NewJSONLines(stdout), Logger: log,
	}
	if !soft {
		// A worker at the desk: ask for the touch, and again after a key
		// that gave up waiting, was already registered, or failed.
		cfg.Retry = true
		cfg.Prompt = func(line string) { fmt.Fprintln(stderr, line) }
	}
	_, err = agent.Register(ctx, cfg)
	return err
}

func runAgent(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "enrolled state directory")
	auth := fs.String("authenticator", "", "soft:DIR (software badges DIR/NAME.json, tapped with \"tap NAME\") or fido2 (the badge reader: USB keys and NFC cards)")
	warning := fs.Duration("warning", agent.DefaultWarning, "session.warning lead before expires_at")
	sessionUser := fs.String("session-user", "", "user (name or ID) the session apps run as, not the agent's own: keeps them out of the state directory (the agent must run as root)")
	sessionHomes := fs.String("session-homes", "", "with --session-user: directory for the sessions' homes, outside --state")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *state == "" || *auth == "" {
		return usagef("--state and --authenticator are required")
	}
	if *warning <= 0 {
		return usagef("--warning %s: must be positive", *warning)
	}
	src, err := agent.ParseAuthenticator(*auth, authenticator.SoftOptions{})
	if err != nil {
		return authenticatorError(err)
	}
	opts, err := agent.SessionUserFlags(*sessionUser, *sessionHomes)
	if err != nil {
		return err
	}
	// NewSessions takes the state directory's lock: a second run, register
	// or shiftgate-kiosk on it fails at once.
	sessions, err := agent.NewSessions(*state, log, opts...)
	if err != nil {
		return err
	}
	defer sessions.Close()
	reader, err := agent.ReaderFor(*auth, sessions.Profile(), log)
	if err != nil {
		return err
	}
	// Events go to stdout from their own goroutine: a reader that stops
	// draining stdout must not freeze the state machine (revocations,
	// expiries). Whatever is queued at exit is written if it can be.
	events := agent.NewQueuedSink(&eventOutput{out: agent.NewJSONLines(stdout), log: log}, agent.DefaultEventQueue, log)
	defer events.Close(time.Second)
	live := new(liveSession)
	a, err := agent.New(agent.Config{
		StateDir: *state, Authenticators: src, Reader: reader, Warning: *warning, Logger: log,
		IdleTimeout:  sessions.IdleTimeout(),
		MaxSession:   sessions.MaxSession(),
		OfflineGrace: sessions.OfflineGrace(),
		Teardown:     sessions.End,
		Cleanup:      sessions.Cleanup,
		OpenApp:      sessions.OpenApp,
		Events: agent.EventFunc(func(e agent.Event) {
			if e.Event == agent.EventSessionStarted {
				sessions.Start(e) // before the event: the session's apps are up when it says so
			}
			live.seen(e) // before the event too: a script that read it may write "open APP" at once
			events.Emit(e)
		}),
	})
	if err != nil {
		return err
	}
	go readCommands(stdin, runIntents{Agent: a, live: live}, stderr, log)
	log.Info("agent running", "state", *state)
	return a.Run(ctx)
}

// eventOutput writes the events to stdout and says once on stderr when
// that fails (the reader has gone): the agent goes on without them.
type eventOutput struct {
	out    *agent.JSONLines
	log    *slog.Logger
	failed bool // said; only the sink's goroutine uses it
}

func (o *eventOutput) Emit(e agent.Event) {
	o.out.Emit(e)
	if err := o.out.Err(); err != nil && !o.failed {
		o.failed = true
		o.log.Error("cannot write events to stdout: they are lost from now on; sessions are still enforced", "err", err)
	}
}

// intents is what stdin commands drive.
type intents interface {
	Tap(name string)
	Signout()
	Activity()
	// OpenApp asks for app in session sessionID ("": none), and is
	// answered on stdout: app.launched or app.refused.
	OpenApp(sessionID, app string)
	// LiveSession is the ID of the session live now, as the agent's
	// events have announced it; "" when none is.
	LiveSession() string
}

// runIntents is what run's stdin drives: the agent, whose requests to
// open an app are answered on stdout (Agent.OpenAppAnswered: a script has
// no screen to watch), and the live session its events announced.
type runIntents struct {
	*agent.Agent
	live *liveSession
}

func (r runIntents) OpenApp(sessionID, app string) { r.Agent.OpenAppAnswered(sessionID, app) }
func (r runIntents) LiveSession() string           { return r.live.id() }

// liveSession follows the agent's events for the session that is live:
// from its session.started to its session.ending (or session.ended, for
// a teardown interrupted by a restart, which comes without
// session.started).
type liveSession struct {
	mu  sync.Mutex
	sid string
}

func (l *liveSession) seen(e agent.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Event {
	case agent.EventSessionStarted:
		l.sid = e.SessionID
	case agent.EventSessionEnding, agent.EventSessionEnded:
		l.sid = "" // one session at a time: none is live until the next starts
	}
}

func (l *liveSession) id() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sid
}

// maxCommandLine bounds a stdin command line ("tap NAME" needs a few
// dozen bytes, "open APP SESSION_ID" hardly more: app IDs are short
// profile IDs, session IDs the hub's). A longer line is ignored whole,
// with the usual hint, and reading goes on.
const maxCommandLine = 4096

// readCommands applies stdin commands until EOF. Every line, even one it
// does not understand, is worker input (Activity: the session's idle
// timeout starts again). EOF does not stop the agent: it runs until SIGINT
// or SIGTERM.
func readCommands(r io.Reader, a intents, stderr io.Writer, log *slog.Logger) {
	br := bufio.NewReaderSize(r, maxCommandLine)
	for {
		b, err := br.ReadSlice('\n')
		tooLong := errors.Is(err, bufio.ErrBufferFull)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n') // the rest of the line
		}
		if tooLong {
			a.Activity()
			fmt.Fprintf(stderr, "a command line of more than %d bytes was ignored: %s\n", maxCommandLine, commandsHint)
		} else if line := strings.TrimSpace(string(b)); line != "" {
			a.Activity()
			command(line, a, stderr)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("stdin", "err", err)
			}
			break
		}
	}
	log.Info("stdin closed; the agent keeps running until SIGINT or SIGTERM")
}

const commandsHint = `accepted commands are "tap NAME", "signout", "activity" and "open APP [SESSION_ID]"`

// command applies one command line.
func command(line string, a intents, stderr io.Writer) {
	f := strings.Fields(line)
	switch {
	case f[0] == "tap" && len(f) == 2:
		a.Tap(f[1])
	case f[0] == "open" && (len(f) == 2 || len(f) == 3):
		// The request is bound to a session as the line is read: the one
		// it names, else the one live then ("": none), and the state
		// machine refuses it for any other. A script that names the
		// session (session.started's session_id) is safe from a line read
		// late: one written during one worker's session and read after
		// it ended opens nothing in the next worker's, as a stale tile's
		// tap in the kiosk UI does not. Without one, the binding at read
		// time still keeps a session that starts while the request waits
		// for the state machine from getting it.
		sessionID := a.LiveSession()
		if len(f) == 3 {
			sessionID = f[2]
		}
		a.OpenApp(sessionID, f[1])
	case f[0] == "signout" && len(f) == 1:
		a.Signout()
	case f[0] == "activity" && len(f) == 1:
		// input only: done by the caller
	default:
		fmt.Fprintf(stderr, "unknown command %q: %s\n", line, commandsHint)
	}
}
