package cli

import (
	"fmt"
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
