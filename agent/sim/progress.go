package sim

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports a running phase on the progress writer:
// "enrolling kiosks 1200/10000…" every interval, and a last line when done.
type progress struct {
	w     io.Writer
	name  string
	total int
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, every time.Duration, name string, total int) *progress {
	p := &progress{w: w, name: name, total: total, start: time.Now(), stop: make(chan struct{})}
	fmt.Fprintf(w, "%s 0/%d…\n", name, total)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintf(w, "%s %d/%d…\n", name, p.n.Load(), total)
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *progress) add(n int) { p.n.Add(int64(n)) }

// done stops the reports and prints the outcome.
func (p *progress) done(err error) {
	close(p.stop)
	p.wg.Wait()
	d := time.Since(p.start).Round(time.Millisecond)
	if err != nil {
		fmt.Fprintf(p.w, "%s %d/%d failed after %s: %v\n", p.name, p.n.Load(), p.total, d, err)
		return
	}
	fmt.Fprintf(p.w, "%s %d/%d done in %s\n", p.name, p.n.Load(), p.total, d)
}
