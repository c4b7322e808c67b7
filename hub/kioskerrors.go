package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A kiosk's error messages that answer no push are logged, each a line of
// up to a kilobyte, at most kioskErrorLines a kioskErrorWindow per kiosk:
// a kiosk (a faulty one, or whoever holds its key) sends them as fast as
// it can write, and must not flood the hub's log, nor bury the other
// kiosks' lines in it. A kiosk in trouble says the same thing over and
// over: the first few lines say what.
const (
	kioskErrorWindow = time.Minute
	kioskErrorLines  = 5
)

// kioskErrorLog paces the log lines of kiosks' error messages per kiosk,
// in memory: a restarted hub forgets, which costs at most a few lines.
type kioskErrorLog struct {
	mu    sync.Mutex
	by    map[string]*kioskErrorCount // device ID → its current window
	swept time.Time                   // when ended windows were last dropped
}

// kioskErrorCount is one kiosk's window of error messages.
type kioskErrorCount struct {
	start   time.Time // when the window began
	logged  int       // messages logged in it
	dropped int       // messages not logged in it
}

// kioskErrorTurn is what to log of one kiosk error message.
type kioskErrorTurn struct {
	log bool // log the message
	// dropped is, when log, how many of the kiosk's messages before this
	// one were not logged: the line says so.
	dropped int
	// mutedUntil is set at the first message of a window not logged: a
	// line says that the kiosk's messages are dropped until then.
	mutedUntil time.Time
}

// take counts an error message of deviceID at now and says what to log.
func (l *kioskErrorLog) take(deviceID string, now time.Time) kioskErrorTurn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = make(map[string]*kioskErrorCount)
	}
	if now.Sub(l.swept) >= kioskErrorWindow {
		// A window that ended with messages dropped is kept until the
		// kiosk's next message, whose line says how many: at most one
		// entry a kiosk.
		for id, w := range l.by {
			if w.dropped == 0 && now.Sub(w.start) >= kioskErrorWindow {
				delete(l.by, id)
			}
		}
		l.swept = now
	}
	w := l.by[deviceID]
	// A window "after" now (the hub's clock was set back) ends, rather
	// than muting the kiosk until the clock is back there.
	if w == nil || now.Before(w.start) || now.Sub(w.start) >= kioskErrorWindow {
		var dropped int
		if w != nil {
			dropped = w.dropped
		}
		l.by[deviceID] = &kioskErrorCount{start: now, logged: 1}
		return kioskErrorTurn{log: true, dropped: dropped}
	}
	if w.logged < kioskErrorLines {
		w.logged++
		return kioskErrorTurn{log: true}
	}
	if w.dropped++; w.dropped == 1 {
		return kioskErrorTurn{mutedUntil: w.start.Add(kioskErrorWindow)}
	}
	return kioskErrorTurn{}
}

// logLine logs a kiosk's line (msg, args) at level if the kiosk's turn at
// now allows it, saying how many of its lines were dropped before it
// (dropped_before) when some were; at the first line of a window that is
// not logged, it logs muted instead, with the device, when its lines are
// logged again (until), and mutedArgs.
func (l *kioskErrorLog) logLine(ctx context.Context, log *slog.Logger, deviceID string, now time.Time, level slog.Level, msg string, args []any, muted string, mutedArgs ...any) {
	turn := l.take(deviceID, now)
	switch {
	case turn.log && turn.dropped > 0:
		log.Log(ctx, level, msg, append(args, "dropped_before", turn.dropped)...)
	case turn.log:
		log.Log(ctx, level, msg, args...)
	case !turn.mutedUntil.IsZero():
		log.Log(ctx, slog.LevelWarn, muted, append([]any{"device", deviceID, "until", turn.mutedUntil.UTC()}, mutedArgs...)...)
	}
}
