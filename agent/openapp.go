package agent

import (
	"errors"
	"slices"
)

// OpenApp asks for app, one of the open session's apps (its tile on the
// session screen), to be opened: started again in the session when it no
// longer runs (Config.OpenApp; app.launched follows), left alone when it
// does. sessionID is the session whose screen the tap was made on
// (session.started's session_id). The state machine decides, in order
// with everything else that changes the session: a request made with no
// session open, while the session is ending, after it has ended, for
// another session than the open one, or for an app the session was not
// granted does nothing but log, and an app started before the session
// begins to end is ended by its teardown. Safe from any goroutine.
func (a *Agent) OpenApp(sessionID, app string) {
	a.Activity()
	a.post(func() { a.openApp(sessionID, app) })
}

// OpenAppAnswered is OpenApp for a caller that has no screen to watch and
// must learn what became of each request, as a script on the headless
// agent's stdin: a request that starts nothing is answered with
// app.refused instead of only being logged. The kiosk UI uses OpenApp: its
// session screen shows what it needs, and a stale tile's tap is no news for
// the worker at the kiosk. Safe from any goroutine.
func (a *Agent) OpenAppAnswered(sessionID, app string) {
	a.Activity()
	a.post(func() {
		if reason := a.openApp(sessionID, app); reason != "" {
			a.emit(Event{Event: EventAppRefused, SessionID: sessionID, App: app, Reason: reason})
		}
	})
}

// openApp opens app in session sessionID if it may, and returns why it did
// not (an AppRefused* reason), "" when it started it.
func (a *Agent) openApp(sessionID, app string) string {
	switch {
	case a.state == Ending:
		// Its teardown may be running: nothing is started that it could
		// miss, nor shown to a worker the screen no longer serves.
		a.log.Info("app not opened: the session is ending", "session", a.session.ID, "app", app)
		return AppRefusedEnding
	case !a.state.live():
		a.log.Info("app not opened: no session is open", "app", app, "state", a.state)
		return AppRefusedNoSession
	}
	s := a.session
	switch {
	case sessionID != s.ID:
		// The tap was made on an earlier session's screen and reached the
		// loop after that session ended and this one began (the screen
		// lags the agent's events): opening the app here would act in
		// this session, perhaps another worker's, on a tap made in another.
		a.log.Info("app not opened: the tap was made in another session", "session", s.ID, "tapped_in", sessionID, "app", app)
		if sessionID == "" {
			// Made when no session was open (the headless agent's "open
			// APP" read before this one began).
			return AppRefusedNoSession
		}
		return AppRefusedOtherSession
	case !slices.Contains(s.Apps, app):
		a.log.Warn("app not opened: not one of the session's apps", "session", s.ID, "app", app)
		return AppRefusedNotGranted
	case a.cfg.OpenApp == nil:
		a.log.Info("app not opened: this agent opens no apps", "session", s.ID, "app", app)
		return AppRefusedNotSupported
	}
	launched, err := a.cfg.OpenApp(s.Session, app)
	switch {
	case errors.Is(err, ErrNoApps):
		// The kiosk's sessions launch no apps (WithoutApps): an agent
		// that opens none, as without Config.OpenApp; nothing failed.
		a.log.Info("app not opened: this kiosk runs sessions without apps", "session", s.ID, "app", app)
		return AppRefusedNotSupported
	case errors.Is(err, ErrAppNotOffered):
		// Granted by the hub, but not on this kiosk: nothing failed, and
		// the answer points at the profile, not at the agent's log.
		a.log.Warn("app not opened: the kiosk's profile does not offer it to the session's role", "session", s.ID, "app", app, "role", s.Role)
		return AppRefusedNotOffered
	case err != nil:
		a.log.Warn("app not opened", "session", s.ID, "app", app, "err", err)
		return AppRefusedError
	case !launched:
		// Raising its window is the window manager's business, which
		// the agent has no portable way to ask.
		a.log.Info("app already running: not started again", "session", s.ID, "app", app)
		return AppRefusedAlreadyRunning
	default:
		a.emit(Event{Event: EventAppLaunched, SessionID: s.ID, User: s.User, App: app})
		return ""
	}
}
