package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// backupProgressEvery is how often backup says how far its copy has come.
const backupProgressEvery = 5 * time.Second

// copyProgress says on stderr at each tick, until stop is called, how much
// of the copy of name has reached path: VACUUM INTO runs as one statement
// that reports nothing until it is done, which on a database of gigabytes
// takes minutes, with no sign of life between the first line and the
// last. The size of the file is what SQLite has written of the copy so
// far (it writes its pages as its cache fills, the rest at the end); it
// is no fraction of a total, which the copy of the live pages alone does
// not know. stop returns once no line can follow, so that nothing is
// written to stderr after it.
func (e env) copyProgress(path, name string, tick <-chan time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-tick:
				if fi, err := os.Stat(path); err == nil {
					fmt.Fprintf(e.stderr, "copying %s: %s written\n", name, sizeText(fi.Size()))
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// progressLines says on stderr how far a command that reads or changes a
// lot at once has come (import shifts, findings, report, review show): a
// line at most once a tick, when the command calls step as it advances,
// so that the line counts what was done, not just that time passed. The
// first comes a tick (backupProgressEvery) after the start: a run that
// ends sooner prints none. step runs on the command's goroutine, so the
// lines need no lock and none can follow the command's end.
type progressLines struct {
	w    io.Writer
	tick <-chan time.Time
}

// longProgress returns the progress lines of a long command, at each of
// ticks (nil: every backupProgressEvery), and what stops their ticker.
//
// The lines go to the stderr of the command line even where the rest of
// the output is held back (readHub): they are a sign of life for the
// operator watching, not part of the report, which readHub withholds when
// the database changed under it; held, they would come at the end.
func (e env) longProgress(ticks <-chan time.Time) (p progressLines, stop func()) {
	stop = func() {}
	if ticks == nil {
		t := time.NewTicker(backupProgressEvery)
		ticks, stop = t.C, t.Stop
	}
	w := e.stderr
	if hw, ok := w.(heldWriter); ok {
		w = hw.w
	}
	return progressLines{w: w, tick: ticks}, stop
}

// step writes line() as a line if a tick has come since the last one.
func (p progressLines) step(line func() string) {
	select {
	case <-p.tick:
		fmt.Fprintln(p.w, line())
	default:
	}
}
