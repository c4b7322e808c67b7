// Command shiftgate-kiosk is the kiosk's screen: the agent core (as in
// shiftgate-agent run, badge reader included) with the Fyne UI of package
// ui in place of the commands on stdin. It still prints the agent's events, one JSON object
// per line, on stdout. With --demo it brings its own hub (see demo.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/ui"
)

func main() {
	// The kiosk locks the screen and enforces sessions whoever reads its
	// events: a Go program that does not handle SIGPIPE is killed by its
	// first write to a stdout or stderr pipe whose reader has gone, which
	// left the signed-in worker's session open and its apps running.
	// Notified, such a write fails with EPIPE and the events are lost.
	// Notified, not ignored: an ignored SIGPIPE would be inherited by the
	// session apps.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	exit := func(err error) {
		stop()
		os.Exit(exitCode(err, os.Stderr))
	}
	exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, exit))
}

// closers are run's clean-ups, run in reverse order, once, by whichever
// goroutine ends run.
type closers struct {
	once sync.Once
	fns  []func()
}

func (c *closers) add(f func()) { c.fns = append(c.fns, f) }

func (c *closers) run() {
	c.once.Do(func() {
		for i := len(c.fns) - 1; i >= 0; i-- {
			c.fns[i]()
		}
	})
}

// exitCode reports err on stderr, with how to fix it where there is a
// known fix, and returns the exit status: 0 for none (or -h), 2 for a
// mistake in the command line (usageError), 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "shiftgate-kiosk: %v\n", err)
	if errors.Is(err, agent.ErrFIDO2NotBuilt) {
		fmt.Fprintln(stderr, fido2Hint)
	}
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line (parse): exit status 2, as
// the flag package gives its own and shiftgate-agent and shiftgate-hub
// give theirs.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// fido2Hint says how to get hardware key support, after
// agent.ErrFIDO2NotBuilt.
const fido2Hint = "for security keys and NFC badges build the kiosk with libfido2: apt-get install libfido2-dev; go build -tags fido2 ./ui/cmd/shiftgate-kiosk (or use --authenticator soft:DIR with --badges for software badges, or --demo)"

type options struct {
	state, auth, badges, screenshot string
	sessionUser, sessionHomes       string
	warning, shotAfter, exitAfter   time.Duration
	fullscreen, demo                bool
	lang                            string
	texts                           *ui.Texts // the screen's language: --lang, or the locale's (chooseTexts)
}

// parse reads the command line; getenv gives the locale's variables, for
// the screen's language without --lang. Its errors are usage errors.
func parse(args []string, getenv func(string) string, stderr io.Writer) (o options, err error) {
	defer func() {
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			err = usageError{err}
		}
	}()
	fs := flag.NewFlagSet("shiftgate-kiosk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.state, "state", "", "enrolled state directory (shiftgate-agent enroll)")
	fs.StringVar(&o.auth, "authenticator", "", "soft:DIR (software badges DIR/NAME.json, tapped with --badges) or fido2 (the badge reader: USB keys and NFC cards)")
	fs.StringVar(&o.badges, "badges", "", "comma-separated badge names shown as virtual badges to tap")
	fs.BoolVar(&o.demo, "demo", false, "try it without hardware: an in-process hub on 127.0.0.1 with demo users and virtual badges (no --state, --authenticator, --badges)")
	fs.DurationVar(&o.warning, "warning", agent.DefaultWarning, "shift-end warning lead before expires_at")
	fs.BoolVar(&o.fullscreen, "fullscreen", false, "run full screen")
	fs.DurationVar(&o.shotAfter, "screenshot-after", 0, "capture the window this long after start (with --screenshot)")
	fs.StringVar(&o.screenshot, "screenshot", "", "PNG file for --screenshot-after")
	fs.DurationVar(&o.exitAfter, "exit-after", 0, "quit this long after start (unattended runs)")
	fs.StringVar(&o.sessionUser, "session-user", "", "user (name or ID) the session apps run as, not the kiosk's own: keeps them out of the state directory (the kiosk must run as root)")
	fs.StringVar(&o.sessionHomes, "session-homes", "", "with --session-user: directory for the sessions' homes, outside --state")
	fs.StringVar(&o.lang, "lang", "", "language of the screen, a BCP 47 tag: "+strings.Join(ui.Languages(), ", ")+
		" (or a regional variant, e.g. de-AT); default: the locale's, as gettext reads it (LANGUAGE, then LC_ALL, LC_MESSAGES or LANG), else English")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.demo && (o.state != "" || o.auth != "" || o.badges != ""):
		return o, errors.New("--demo brings its own kiosk state and badges: leave out --state, --authenticator and --badges")
	case !o.demo && (o.state == "" || o.auth == ""):
		return o, errors.New("--state and --authenticator are required (or --demo)")
	case o.auth == "fido2" && o.badges != "":
		return o, errors.New("--badges are virtual soft badges: with --authenticator fido2 the badge reader taps")
	case o.warning <= 0:
		return o, fmt.Errorf("--warning %s: must be positive", o.warning)
	case (o.shotAfter > 0) != (o.screenshot != ""):
		return o, errors.New("--screenshot-after and --screenshot go together")
	}
	o.texts, err = chooseTexts(o.lang, getenv)
	return o, err
}

// run runs the kiosk until the agent stops or the window is closed.
//
// exit, if not nil, ends the process with run's result. Once the window
// is up, run does not quit Fyne when the agent stops: Fyne 2.7.1 can
// panic at a quit ("send on closed channel": its lifecycle goroutine
// hands the app's stopped event to the main loop while the loop drains
// and closes its queue, internal/driver/glfw/loop.go), which made about
// one SIGTERM in five here exit 2 instead of 0. The goroutine that saw the
// agent stop cleans up as run would and calls exit itself, with the Fyne
// loop still running; the process ends with it. Without exit (tests
// calling run) Fyne is quit as before.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, exit func(error)) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	var cleanup closers
	defer cleanup.run()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var badges []string
	for b := range strings.SplitSeq(o.badges, ",") {
		if b = strings.TrimSpace(b); b != "" {
			badges = append(badges, b)
		}
	}
	intents := new(agentIntents)
	onApp := appButton(o, log, intents)
	if o.demo {
		d, err := startDemo(ctx, stderr)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		cleanup.add(func() { d.Close() })
		o.state, o.auth, badges = d.State, "soft:"+d.BadgeDir, d.Badges
	}
	src, err := agent.ParseAuthenticator(o.auth, authenticator.SoftOptions{})
	if err != nil {
		return err
	}
	// The profile's clear-clipboard teardown step empties the clipboard of
	// the app created below (its scale comes from the profile). A cleanup
	// at start, before it exists, has nothing to clear: the clipboard of a
	// kiosk that crashed went with its X client.
	var fyneApp fyne.App
	clearClipboard := func(ctx context.Context) error {
		if fyneApp == nil {
			return nil
		}
		return ui.ClipboardClearer(fyneApp)(ctx)
	}
	opts, err := sessionsOptions(o, clearClipboard)
	if err != nil {
		return err
	}
	sessions, err := agent.NewSessions(o.state, log, opts...)
	if err != nil {
		return err
	}
	cleanup.add(func() { sessions.Close() })

	size, labels := fyne.NewSize(1280, 800), map[string]string{}
	if p := sessions.Profile(); p != nil {
		if d := p.Display; d.Width > 0 && d.Height > 0 {
			scale := 1.0
			if d.Scale > 0 {
				scale = d.Scale
				if os.Getenv("FYNE_SCALE") == "" {
					os.Setenv("FYNE_SCALE", strconv.FormatFloat(d.Scale, 'f', -1, 64))
				}
			}
			size = fyne.NewSize(float32(float64(d.Width)/scale), float32(float64(d.Height)/scale))
		}
		for _, apps := range p.Apps {
			for _, a := range apps {
				labels[a.ID] = a.Label
			}
		}
	}
	a := app.NewWithID("org.shiftgate.kiosk") // before any widget
	fyneApp = a                               // before the agent runs (and tears down)
	a.Settings().SetTheme(ui.Theme())
	model := ui.New(ui.Options{Intents: intents, Badges: badges, AppLabels: labels, OnApp: onApp, Texts: o.texts})
	reader, err := agent.ReaderFor(o.auth, sessions.Profile(), log)
	if err != nil {
		return err
	}
	// Events go to stdout from their own goroutine, as shiftgate-agent
	// writes them: a reader that stops draining stdout must not freeze
	// the state machine.
	events := agent.NewQueuedSink(agent.NewJSONLines(stdout), agent.DefaultEventQueue, log)
	cleanup.add(func() { events.Close(time.Second) })
	core, err := agent.New(agent.Config{
		StateDir: o.state, Authenticators: src, Reader: reader, Warning: o.warning, Logger: log,
		IdleTimeout:  sessions.IdleTimeout(),
		MaxSession:   sessions.MaxSession(),
		OfflineGrace: sessions.OfflineGrace(),
		Teardown:     sessions.End,
		Cleanup:      sessions.Cleanup,
		OpenApp:      sessions.OpenApp,
		Events: agent.EventFunc(func(e agent.Event) {
			if e.Event == agent.EventSessionStarted {
				sessions.Start(e) // before the screen says so: the apps are up
			}
			model.Emit(e)
			events.Emit(e)
		}),
	})
	if err != nil {
		return err
	}
	intents.a = core

	w := a.NewWindow("Shiftgate")
	model.Attach(w)
	w.Resize(size) // the profile's display, in Fyne units
	w.SetFullScreen(o.fullscreen)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	shotErr := make(chan error, 1)
	result := func(err error) error {
		if o.screenshot != "" {
			select {
			case serr := <-shotErr:
				err = errors.Join(err, serr)
			default:
				err = errors.Join(err, errors.New("quit before the screenshot was taken"))
			}
		}
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := core.Run(ctx)
		if exit != nil {
			cancel()
			err = result(err)
			cleanup.run()
			exit(err) // ends the process: Fyne is not quit (see run)
		}
		done <- err
		fyne.Do(a.Quit)
	}()
	go model.Run(ctx)
	if o.screenshot != "" {
		// Capture runs on the GL context itself: not from inside fyne.Do.
		time.AfterFunc(o.shotAfter, func() { shotErr <- writePNG(o.screenshot, w) })
	}
	if o.exitAfter > 0 {
		time.AfterFunc(o.exitAfter, cancel)
	}
	log.Info("kiosk running", "state", o.state, "lang", o.texts.Language())
	w.ShowAndRun()
	cancel()
	return result(<-done)
}

// sessionsOptions are the session manager's options for o: the session
// user of --session-user, the kiosk's clipboard, advice that names this
// binary, and with --demo no apps (each session still gets its own HOME,
// TMPDIR and a real teardown, but no browser over the demo; nor, then, the
// advice to run apps as a session user).
func sessionsOptions(o options, clear agent.ClipboardClearer) ([]agent.SessionsOption, error) {
	opts, err := agent.SessionUserFlags(o.sessionUser, o.sessionHomes)
	if err != nil {
		return nil, err
	}
	opts = append(opts, agent.WithClipboard(clear), agent.WithCommand("shiftgate-kiosk"))
	if o.demo {
		opts = append(opts, agent.WithoutApps())
	}
	return opts, nil
}

// appButton is what a press on an app tile does: the agent opens the app
// in the live session if it is the one whose screen the tile was on
// (Agent.OpenApp: started again when it no longer runs, with
// app.launched; the agent logs what it did, or why it did nothing). The
// demo's sessions launch no apps: it only logs the press.
func appButton(o options, log *slog.Logger, intents *agentIntents) func(sessionID, app string) {
	if o.demo {
		return func(sessionID, app string) {
			log.Info("demo: app button pressed; the demo launches no apps", "session", sessionID, "app", app)
		}
	}
	return intents.OpenApp
}

// writePNG captures w's canvas into the PNG file name.
func writePNG(name string, w fyne.Window) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	img := w.Canvas().Capture()
	if blank(img) {
		// Fyne reads the GL front buffer, which Mesa under Xvfb leaves
		// empty; "import -window root" sees the real screen there.
		err = errors.New("the captured image is blank (Mesa under Xvfb); take the screenshot from the X server instead, e.g. import -window root")
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	return nil
}

// blank reports whether every pixel of img is fully transparent.
func blank(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0 {
				return false
			}
		}
	}
	return true
}

// agentIntents lets the screen exist before the agent (each needs the
// other); a is set before either runs.
type agentIntents struct{ a *agent.Agent }

func (i *agentIntents) Tap(name string)               { i.a.Tap(name) }
func (i *agentIntents) Signout()                      { i.a.Signout() }
func (i *agentIntents) Activity()                     { i.a.Activity() }
func (i *agentIntents) OpenApp(sessionID, app string) { i.a.OpenApp(sessionID, app) }
