package sim

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// The floor. A mass revoke's per-kiosk ack time has a lower bound on a
// given machine that no hub can beat: one TLS record out to every kiosk
// and one back, over as many mTLS connections, with the kiosks' process
// on the same cores. RunFloor measures that bound in the topology of the
// mass-revoke scenario, two processes (this one with the kiosks, a child
// "floor hub"), with everything a hub does taken away: no WebSocket, no
// JSON, no database, no session state. The floor hub writes one record
// to each connection in turn from one goroutine (the cheapest way to send
// them) and reads the acks with a goroutine per connection; each kiosk
// answers a record with one at once. The times are measured as the
// mass-revoke scenario measures them: from just before the round is
// started to the moment each kiosk has written its ack.
//
// The record sizes are those of the frames they stand for: a
// session.revoke push with its WebSocket header, and an ack.
const (
	floorPushBytes = 140
	floorAckBytes  = 90
)

// FloorConfig configures RunFloor.
type FloorConfig struct {
	Kiosks          int       // connections (default 10,000)
	Rounds          int       // rounds (default 5)
	DialConcurrency int       // TLS handshakes in flight (default 200)
	Progress        io.Writer // progress lines (default io.Discard)
	// HubCommand starts the floor hub: the program and its arguments,
	// to which RunFloor appends "--dir DIR --kiosks N". It must run
	// ServeFloor. shiftgate-sim passes itself with "floor-hub".
	HubCommand []string
	// RoundTimeout bounds each round (default 2 min).
	RoundTimeout time.Duration
}

func (c FloorConfig) withDefaults() FloorConfig {
	if c.Kiosks == 0 {
		c.Kiosks = 10000
	}
	if c.Rounds == 0 {
		c.Rounds = 5
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 200
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.RoundTimeout <= 0 {
		c.RoundTimeout = 2 * time.Minute
	}
	return c
}

// Validate reports every problem with c at once.
func (c FloorConfig) Validate() error {
	var errs []error
	if c.Kiosks < 0 || c.Rounds < 0 || c.DialConcurrency < 0 {
		errs = append(errs, errors.New("--kiosks, --rounds and --dial-concurrency must not be negative"))
	}
	if c.Kiosks > maxKiosks {
		errs = append(errs, fmt.Errorf("--kiosks %d: at most %d (one file descriptor per kiosk; the hard limit is 20,000)", c.Kiosks, maxKiosks))
	}
	if len(c.HubCommand) == 0 {
		errs = append(errs, errors.New("no command to start the floor hub"))
	}
	return errors.Join(errs...)
}

// ScenarioFloor is RunFloor's scenario name in its Result.
const ScenarioFloor = "floor"

// RunFloor measures the floor (see above) and returns it as a Result.
func RunFloor(ctx context.Context, cfg FloorConfig) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dir, err := os.MkdirTemp("", "shiftgate-floor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// The floor hub's PKI, and one device certificate all kiosks share
	// (the handshakes are not measured).
	pki, err := certs.LoadOrCreateHub(dir, nil, time.Now())
	if err != nil {
		return nil, err
	}
	key, err := certs.NewDeviceKey()
	if err != nil {
		return nil, err
	}
	csr, err := certs.NewCSR(key, "floor")
	if err != nil {
		return nil, err
	}
	der, err := pki.CA.SignDeviceCSR(csr, "floor", time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}

	hub, err := startFloorHub(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := hub.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	// The kiosks: the mass-revoke scenario's TLS settings.
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.CA.Pool(), Certificates: []tls.Certificate{cert}, ServerName: "localhost"}
	conns, err := dialFloor(ctx, cfg, hub.addr, tcfg)
	var wg sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	if err != nil {
		return nil, err
	}
	if err := hub.expect("ready"); err != nil {
		return nil, err
	}

	var round atomic.Pointer[floorRound]
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, ack := make([]byte, 512), make([]byte, floorAckBytes)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(ack); err != nil {
					return
				}
				if r := round.Load(); r != nil {
					r.record(time.Now())
				}
			}
		}()
	}

	res = &Result{Scenario: ScenarioFloor, Hub: "none (a bare TLS child process)", Kiosks: len(conns), Rounds: cfg.Rounds}
	var p50s, p99s, lasts, hubCPUs, simCPUs []float64
	for i := range cfg.Rounds {
		r := &floorRound{want: len(conns), done: make(chan struct{}), times: make([]time.Time, 0, len(conns))}
		runtime.GC() // as the mass-revoke scenario does before a round
		round.Store(r)
		hub0, _ := procCPU(hub.cmd.Process.Pid)
		sim0 := selfCPU()
		r.t0 = time.Now()
		if err := hub.send("round"); err != nil {
			return res, err
		}
		timer := time.NewTimer(cfg.RoundTimeout)
		select {
		case <-r.done:
		case <-timer.C:
			timer.Stop()
			return res, fmt.Errorf("floor round %d: only %d of %d acks within %s", i+1, r.count(), len(conns), cfg.RoundTimeout)
		case <-ctx.Done():
			timer.Stop()
			return res, ctx.Err()
		}
		timer.Stop()
		simCPU := selfCPU() - sim0
		if err := hub.expect("done"); err != nil {
			return res, err
		}
		hub1, _ := procCPU(hub.cmd.Process.Pid)
		round.Store(nil)
		lat := r.latencies()
		p50, p99, last := percentile(lat, 50), percentile(lat, 99), percentile(lat, 100)
		p50s, p99s, lasts = append(p50s, p50), append(p99s, p99), append(lasts, last)
		hubCPUs, simCPUs = append(hubCPUs, ms(hub1-hub0)), append(simCPUs, ms(simCPU))
		res.PerRound = append(res.PerRound, map[string]float64{
			"ack_p50_ms": p50, "ack_p99_ms": p99, roundLastAck: last, "hub_cpu_ms": ms(hub1 - hub0), "sim_cpu_ms": ms(simCPU),
		})
		fmt.Fprintf(cfg.Progress, "floor round %d/%d: per-kiosk ack p50 %.1f ms, p99 %.1f ms\n", i+1, cfg.Rounds, p50, p99)
		time.Sleep(200 * time.Millisecond) // let the round's last packets settle
	}
	res.Metrics = []Metric{
		summarize(MetricFloorLastAck, "ms", lasts, "TLS record out and back, no WebSocket, JSON or database"),
		summarize("floor: per-kiosk ack p50", "ms", p50s, "each round's median ack, over rounds"),
		summarize(MetricFloorP99, "ms", p99s, "each round's p99 ack, over rounds; the mass revoke's lower bound here"),
		summarize("floor hub CPU per round", "ms", hubCPUs, "the child process: writes and ack reads"),
		summarize("floor kiosks CPU per round", "ms", simCPUs, "this process: reads and acks"),
	}
	return res, nil
}

// floorRound collects one round's ack times.
type floorRound struct {
	t0    time.Time
	want  int
	mu    sync.Mutex
	times []time.Time
	done  chan struct{}
}

func (r *floorRound) record(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.times) == r.want {
		return
	}
	r.times = append(r.times, at)
	if len(r.times) == r.want {
		close(r.done)
	}
}

func (r *floorRound) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

// latencies returns each ack's time since t0, in ms.
func (r *floorRound) latencies() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]float64, len(r.times))
	for i, at := range r.times {
		out[i] = ms(at.Sub(r.t0))
	}
	return out
}

// dialFloor opens cfg.Kiosks TLS connections to addr, cfg.DialConcurrency
// at a time. On error it returns what it opened, for closing.
func dialFloor(ctx context.Context, cfg FloorConfig, addr string, tcfg *tls.Config) ([]*tls.Conn, error) {
	p := startProgress(cfg.Progress, 2*time.Second, "floor: connecting kiosks", cfg.Kiosks)
	conns := make([]*tls.Conn, cfg.Kiosks)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, cfg.DialConcurrency)
	d := &tls.Dialer{Config: tcfg}
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			c, err := d.DialContext(dctx, "tcp", addr)
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, fmt.Errorf("dial floor hub: %w", err))
				mu.Unlock()
				return
			}
			conns[i] = c.(*tls.Conn)
			p.add(1)
		}()
	}
	wg.Wait()
	p.done(first)
	return slices.DeleteFunc(conns, func(c *tls.Conn) bool { return c == nil }), first
}

// floorHub is the child process and its control lines.
type floorHub struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	addr  string
	close func() error
}

func startFloorHub(ctx context.Context, cfg FloorConfig, dir string) (*floorHub, error) {
	args := append(slices.Clone(cfg.HubCommand[1:]), "--dir", dir, "--kiosks", fmt.Sprint(cfg.Kiosks))
	cmd := exec.CommandContext(ctx, cfg.HubCommand[0], args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start floor hub: %w", err)
	}
	h := &floorHub{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	h.close = func() error {
		in.Close() // the floor hub ends at the end of its input
		// If it does not, it is killed: it holds thousands of sockets.
		kill := time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
		defer kill.Stop()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("floor hub: %w", err)
		}
		return nil
	}
	line, err := h.line()
	if err == nil {
		var ok bool
		if h.addr, ok = strings.CutPrefix(line, "listening "); !ok {
			err = fmt.Errorf("floor hub said %q, want its address", line)
		}
	}
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *floorHub) line() (string, error) {
	if h.out.Scan() {
		return h.out.Text(), nil
	}
	if err := h.out.Err(); err != nil {
		return "", fmt.Errorf("floor hub: %w", err)
	}
	return "", errors.New("floor hub ended early; see its error above")
}

func (h *floorHub) expect(want string) error {
	got, err := h.line()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("floor hub said %q, want %q", got, want)
	}
	return nil
}

func (h *floorHub) send(cmd string) error {
	_, err := io.WriteString(h.in, cmd+"\n")
	return err
}

// ServeFloor is the floor hub: it serves the PKI that RunFloor made in
// dir on 127.0.0.1, prints "listening ADDR", and "ready" once the kiosks'
// connections are up. Then, for each line "round" on in, it writes one
// record to every connection and prints "done" when each has answered.
// It returns at the end of in.
func ServeFloor(ctx context.Context, dir string, kiosks int, in io.Reader, out io.Writer) error {
	// Never a PKI of its own somewhere else.
	if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil {
		return fmt.Errorf("--dir %s: not a directory made by shiftgate-sim floor: %w", dir, err)
	}
	pki, err := certs.LoadOrCreateHub(dir, nil, time.Now())
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerTLSConfig(pki, nil))
	if err != nil {
		return err
	}
	defer ln.Close()
	if _, err := fmt.Fprintf(out, "listening %s\n", ln.Addr()); err != nil {
		return err
	}
	var (
		remaining atomic.Int64
		allIn     = make(chan struct{}, 1)
		accepted  = make(chan net.Conn, kiosks)
		wg        sync.WaitGroup
	)
	go func() {
		for range kiosks {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				if err := c.(*tls.Conn).HandshakeContext(hctx); err != nil {
					c.Close()
					return
				}
				accepted <- c
			}()
		}
	}()
	conns := make([]net.Conn, 0, kiosks)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	// The commands are read from the start, so that the end of in (the
	// parent gave up, or died) ends the floor hub in every phase.
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			cmds <- sc.Text()
		}
	}()
	connectBy := time.NewTimer(2 * time.Minute)
	defer connectBy.Stop()
	for len(conns) < kiosks {
		select {
		case c := <-accepted:
			conns = append(conns, c)
		case <-connectBy.C:
			return fmt.Errorf("only %d of %d kiosks connected", len(conns), kiosks)
		case cmd, ok := <-cmds:
			if !ok {
				return nil
			}
			return fmt.Errorf("command %q before the kiosks connected", cmd)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if remaining.Add(-1) == 0 {
					allIn <- struct{}{}
				}
			}
		}()
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	push := make([]byte, floorPushBytes)
	for cmd := range cmds {
		if cmd != "round" {
			return fmt.Errorf("unknown command %q", cmd)
		}
		remaining.Store(int64(len(conns)))
		for _, c := range conns {
			if _, err := c.Write(push); err != nil {
				return err
			}
		}
		select {
		case <-allIn:
		case cmd, ok := <-cmds:
			if !ok {
				return nil // the parent gave up on the round
			}
			return fmt.Errorf("command %q during a round", cmd)
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := fmt.Fprintln(out, "done"); err != nil {
			return err
		}
	}
	return nil
}
