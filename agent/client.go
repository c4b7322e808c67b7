package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// Handler receives what the device channel reports. The Client calls it
// from its read goroutine, in the order things arrive, so implementations
// must hand work off rather than block (the Agent queues it).
type Handler interface {
	// HelloSessions returns what the hello message reports of the
	// kiosk's sessions: LiveSession, Ended and Complete (wire.Hello).
	HelloSessions() wire.Hello
	// Connected is called once the hub has answered hello.
	Connected(w wire.Welcome)
	// Disconnected is called when an established channel ends.
	Disconnected(err error)
	// Push delivers a hub push (session.revoke, enroll.start). A
	// Welcome.Revoke arrives here too, as a session.revoke whose ID is the
	// welcome's ID. The handler acknowledges it with Reply(ID, "ack").
	Push(env wire.Envelope)
	// DeviceRefused is called when a connection attempt fails because the
	// hub refuses the device certificate, or it has expired by the kiosk's
	// clock: nobody can sign in until an admin acts. It is called once per
	// refusal, not per attempt: again only after the channel was up in
	// between, when the reason changes, or after
	// ClientConfig.RefusedRepeat. The Client keeps trying, with
	// ClientConfig.RefusedBackoff, and calls Connected if the hub takes the
	// kiosk again.
	DeviceRefused(err *DeviceRefusedError)
	// LateAnswer delivers an answer of the hub's that came after its
	// request had given up (Request returned an error): a session.grant
	// the kiosk never opened, which the handler reports. Acks are not
	// delivered.
	LateAnswer(env wire.Envelope)
}

// Errors of Client.Request and Client.Reply. Test with errors.Is.
var (
	ErrNotConnected = errors.New("not connected to the hub")
	ErrDisconnected = errors.New("connection to the hub lost")
)

// RemoteError is the hub's wire.Error answer to a request.
type RemoteError struct {
	Type    string // the request's type
	Code    string // wire.Err*
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("hub refused %s: %s: %s", e.Type, e.Code, e.Message)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	HubURL string         // https://HOST[:PORT]
	CAPool *x509.CertPool // what the hub's HTTPS certificate must chain to (the --ca of enrollment)
	// DeviceCAPool is the hub CA, which issues the device certificate:
	// a renewed one must chain to it. Nil: CAPool (the hub serves a
	// certificate of its own CA).
	DeviceCAPool *x509.CertPool
	Renewer      *certs.Renewer // the device certificate
	// StateDir, if set, is where a renewed key pair is stored (KeyFile,
	// CertFile). Without it certificates are renewed in memory only.
	StateDir     string
	Profile      string
	AgentVersion string
	Logger       *slog.Logger
	Clock        Clock
	// Backoff between connection attempts; the zero value is 250 ms base,
	// 30 s cap, full jitter.
	Backoff Backoff
	// RefusedBackoff replaces Backoff while the hub refuses the device
	// certificate (DeviceRefusedError): nothing changes until an admin
	// acts, so the kiosk asks less often, but often enough to be back soon
	// after it is enabled again. A zero Base or Cap means
	// DefaultRefusedBackoffBase, DefaultRefusedBackoffCap.
	RefusedBackoff Backoff
	// RefusedRepeat is how long a refusal that lasts, with the same
	// reason, goes unreported after it was reported (default
	// DefaultRefusedRepeat). See Handler.DeviceRefused.
	RefusedRepeat time.Duration
	// StableAfter is how long a connection must last to reset the backoff
	// (default DefaultStableAfter).
	StableAfter time.Duration
	// RequestTimeout bounds Request when its context has no deadline
	// (default 10 s); HandshakeTimeout bounds TLS+WebSocket+hello (10 s).
	RequestTimeout, HandshakeTimeout time.Duration
	// RenewRetry is the wait after a failed certificate renewal (1 min),
	// doubled at each consecutive failure up to MaxRenewRetry; never less
	// than MinRenewInterval.
	RenewRetry time.Duration
}

// Client is the agent's end of the device channel: one WebSocket over
// mutual TLS to HubURL+wire.WSPath, re-established forever with backoff.
// Request and Reply may be called from any goroutine; they fail at once
// with ErrNotConnected while there is no channel.
type Client struct {
	cfg    ClientConfig
	wsURL  string
	log    *slog.Logger
	clock  Clock
	dialer *websocket.Dialer
	nextID atomic.Uint64
	cur    atomic.Pointer[conn]

	// renewal paces certificate renewals across connections (renew.go).
	renewal renewState
}

// NewClient checks cfg and fills in defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := parseHubURL(cfg.HubURL)
	if err != nil {
		return nil, fmt.Errorf("new hub client: %w", err)
	}
	if cfg.Renewer == nil || cfg.CAPool == nil {
		return nil, errors.New("new hub client: a device certificate and the hub CA are required")
	}
	u.Scheme = "wss"
	u.Path = wire.WSPath
	if cfg.DeviceCAPool == nil {
		cfg.DeviceCAPool = cfg.CAPool
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = DefaultStableAfter
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	if cfg.RenewRetry <= 0 {
		cfg.RenewRetry = time.Minute
	}
	if cfg.RefusedBackoff.Base <= 0 {
		cfg.RefusedBackoff.Base = DefaultRefusedBackoffBase
	}
	if cfg.RefusedBackoff.Cap <= 0 {
		cfg.RefusedBackoff.Cap = DefaultRefusedBackoffCap
	}
	if cfg.RefusedRepeat <= 0 {
		cfg.RefusedRepeat = DefaultRefusedRepeat
	}
	c := &Client{cfg: cfg, wsURL: u.String(), log: cfg.Logger, clock: cfg.Clock}
	c.dialer = &websocket.Dialer{
		TLSClientConfig:  certs.ClientTLSConfig(cfg.CAPool, cfg.Renewer),
		HandshakeTimeout: cfg.HandshakeTimeout,
		Proxy:            http.ProxyFromEnvironment,
	}
	return c, nil
}

// Run connects and keeps the channel up until ctx is done, then closes it
// and returns nil once every goroutine it started has finished.
//
// While the hub refuses the device certificate (or it has expired by the
// kiosk's clock) Run keeps trying, with RefusedBackoff instead of Backoff,
// and says so once, not at every attempt: an error in the log with what to
// do, and h.DeviceRefused (see there for when it is said again).
func (c *Client) Run(ctx context.Context, h Handler) error {
	bo, rbo := c.cfg.Backoff, c.cfg.RefusedBackoff
	var told *DeviceRefusedError // the refusal last reported, until the channel is up
	var toldAt time.Time
	for {
		up, established, err := c.session(ctx, h, told != nil)
		if ctx.Err() != nil {
			return nil
		}
		if established {
			told = nil
			rbo.Reset()
		}
		var refused *DeviceRefusedError
		if errors.As(err, &refused) {
			d := rbo.Next()
			now := c.clock.Now()
			if told == nil || told.Reason != refused.Reason || now.Sub(toldAt) >= c.cfg.RefusedRepeat {
				told, toldAt = refused, now
				c.log.Error("hub channel refused: this kiosk must be enabled or enrolled again; retrying slowly",
					"reason", refused.Reason, "err", err, "hint", refused.Hint(), "retry_within", rbo.Ceiling())
				h.DeviceRefused(refused)
			} else {
				c.log.Debug("hub channel still refused; reconnecting", "reason", refused.Reason, "in", d.Round(time.Millisecond))
			}
			if !sleep(ctx, c.clock, d) {
				return nil
			}
			continue
		}
		if up >= c.cfg.StableAfter {
			bo.Reset()
		}
		d := bo.Next()
		c.log.Warn("hub channel down; reconnecting", "err", err, "in", d.Round(time.Millisecond))
		if !sleep(ctx, c.clock, d) {
			return nil
		}
	}
}

// sleep waits d on clock; false if ctx ended first.
func sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	done := make(chan struct{})
	t := clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// conn is one established channel.
type conn struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{} // closed when the channel ends
	once sync.Once
	err  error // why it ended; read after done

	h Handler // for LateAnswer

	// mu guards pending, and the send of an answer into its request's
	// channel: a request that gives up and then finds its channel empty
	// under mu knows that a later answer goes to LateAnswer.
	mu      sync.Mutex
	pending map[string]chan wire.Envelope
}

func (cn *conn) close(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.done)
		cn.ws.Close()
	})
}

// session runs one connection: dial, hello/welcome, then the read loop. It
// returns how long the channel was established, whether it was, and why it
// ended. A certificate that has expired by the kiosk's clock is not
// dialed with (a *DeviceRefusedError). wasRefused: the previous attempt
// was refused, for the log.
func (c *Client) session(ctx context.Context, h Handler, wasRefused bool) (time.Duration, bool, error) {
	if err := c.expiredLocally(); err != nil {
		return 0, false, err
	}
	// One deadline for the dial, TLS, the upgrade and hello/welcome.
	deadline := time.Now().Add(c.cfg.HandshakeTimeout)
	hctx, cancel := context.WithDeadline(ctx, deadline)
	// The upgrade's answer and the welcome are read with that deadline
	// alone, not ctx: a stop (the agent's SIGTERM) while a hub that is
	// busy or hung has not answered would wait out the deadline. The
	// connection is closed instead, from the moment it is dialed until
	// the welcome has come.
	var raw atomic.Pointer[net.Conn]
	dialer := *c.dialer
	dialer.NetDialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err == nil {
			raw.Store(&conn)
		}
		return conn, err
	}
	stopped := context.AfterFunc(ctx, func() {
		if conn := raw.Load(); conn != nil {
			(*conn).Close()
		}
	})
	defer stopped()
	ws, resp, err := dialer.DialContext(hctx, c.wsURL, nil)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		return 0, false, c.explainDial(err, resp)
	}
	ws.SetReadLimit(wire.MaxMessageBytes)
	// The hub pings every wire.PingInterval; answering (as gorilla does by
	// default) and pushing the read deadline out keeps a quiet channel up,
	// and a dead one is noticed within wire.PongWait.
	ws.SetPingHandler(func(data string) error {
		_ = ws.SetReadDeadline(time.Now().Add(wire.PongWait))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wire.WriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	cn := &conn{ws: ws, out: make(chan []byte, 16), done: make(chan struct{}), pending: map[string]chan wire.Envelope{}, h: h}

	// hello/welcome before anything else; nothing else writes yet.
	helloID := c.newID()
	hs := h.HelloSessions()
	hello, err := wire.New(wire.TypeHello, helloID, "", wire.Hello{
		AgentVersion: c.cfg.AgentVersion, Profile: c.cfg.Profile,
		LiveSession: hs.LiveSession, Ended: hs.Ended, Complete: hs.Complete,
	})
	if err != nil {
		ws.Close()
		return 0, false, err
	}
	welcomeEnv, welcome, err := c.handshake(ws, hello, deadline)
	if err != nil {
		ws.Close()
		return 0, false, err
	}
	if !stopped() {
		// ctx ended as the welcome came, and the connection is closed:
		// from here on a stop sends a close frame (below) instead.
		ws.Close()
		return 0, false, ctx.Err()
	}
	start := c.clock.Now()

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.writeLoop(cn) }()
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			_ = ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "agent stopping"), time.Now().Add(time.Second))
			cn.close(ctx.Err())
		case <-cn.done:
		}
	}()
	c.cur.Store(cn)
	c.log.Info("hub channel up", "hub", c.cfg.HubURL, "device", welcome.DeviceID, "site", welcome.Site)
	if wasRefused {
		c.log.Info("the hub accepts this kiosk's device certificate again")
	}
	h.Connected(welcome)
	if welcome.Revoke != nil {
		id := welcomeEnv.ID
		if id == "" {
			id = helloID
		}
		env, err := wire.New(wire.TypeSessionRevoke, id, "", welcome.Revoke)
		if err == nil {
			h.Push(env)
		}
	}
	rctx, rcancel := context.WithCancel(ctx)
	go func() { defer wg.Done(); c.renewLoop(rctx, cn, welcome.ServerTime) }()

	c.readLoop(cn, h)
	rcancel()
	c.cur.CompareAndSwap(cn, nil)
	wg.Wait()
	up := c.clock.Now().Sub(start)
	h.Disconnected(cn.err)
	return up, true, cn.err
}

// handshake sends hello and waits for welcome until deadline, the one
// the dial had.
func (c *Client) handshake(ws *websocket.Conn, hello wire.Envelope, deadline time.Time) (wire.Envelope, wire.Welcome, error) {
	var w wire.Welcome
	frame, err := hello.Encode()
	if err != nil {
		return wire.Envelope{}, w, err
	}
	_ = ws.SetWriteDeadline(deadline)
	if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return wire.Envelope{}, w, fmt.Errorf("send hello: %w", err)
	}
	_ = ws.SetReadDeadline(deadline)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return wire.Envelope{}, w, fmt.Errorf("wait for welcome: %w", err)
		}
		env, err := wire.Decode(data)
		if err != nil {
			return wire.Envelope{}, w, fmt.Errorf("wait for welcome: %w", err)
		}
		if env.Re != hello.ID {
			c.log.Warn("hub sent a message before welcome; ignored", "type", env.Type)
			continue
		}
		switch env.Type {
		case wire.TypeWelcome:
			if err := env.Unmarshal(&w); err != nil {
				return env, w, fmt.Errorf("welcome: %w", err)
			}
			_ = ws.SetReadDeadline(time.Now().Add(wire.PongWait))
			return env, w, nil
		case wire.TypeError:
			// A *RemoteError says "hub refused hello" itself.
			return env, w, remoteError(wire.TypeHello, env)
		default:
			return env, w, fmt.Errorf("hub answered hello with %s", env.Type)
		}
	}
}

func (c *Client) writeLoop(cn *conn) {
	for {
		select {
		case frame := <-cn.out:
			_ = cn.ws.SetWriteDeadline(time.Now().Add(wire.WriteWait))
			if err := cn.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				cn.close(fmt.Errorf("write: %w", err))
				return
			}
		case <-cn.done:
			return
		}
	}
}

func (c *Client) readLoop(cn *conn, h Handler) {
	for {
		typ, data, err := cn.ws.ReadMessage()
		if err != nil {
			cn.close(fmt.Errorf("read: %w", err))
			break
		}
		_ = cn.ws.SetReadDeadline(time.Now().Add(wire.PongWait))
		if typ != websocket.TextMessage {
			c.replyError(cn, "", wire.ErrBadMessage, "binary frames are not part of the protocol")
			continue
		}
		env, err := wire.Decode(data)
		if err != nil {
			c.log.Warn("bad message from hub", "err", err)
			code := wire.ErrBadMessage
			if env.V != wire.Version && env.Type != "" {
				code = wire.ErrVersion
			}
			c.replyError(cn, env.ID, code, err.Error())
			continue
		}
		if env.Re != "" {
			cn.mu.Lock()
			ch := cn.pending[env.Re]
			delete(cn.pending, env.Re)
			if ch != nil {
				ch <- env // buffered, one answer per request
			}
			cn.mu.Unlock()
			if ch == nil && env.Type != wire.TypeAck {
				c.log.Debug("answer to no pending request", "type", env.Type, "re", env.Re)
				h.LateAnswer(env)
			}
			continue
		}
		switch env.Type {
		case wire.TypeSessionRevoke, wire.TypeEnrollStart, wire.TypeSessionExtend:
			if env.ID == "" {
				c.replyError(cn, "", wire.ErrBadMessage, env.Type+" without id")
				continue
			}
			h.Push(env)
		case wire.TypeError:
			var e wire.Error
			_ = env.Unmarshal(&e)
			c.log.Warn("hub reported an error", "code", e.Code, "message", e.Message)
		default:
			c.log.Warn("unknown message type from hub", "type", env.Type)
			c.replyError(cn, env.ID, wire.ErrUnknownType, "unknown type "+strconv.Quote(env.Type))
		}
	}
	cn.mu.Lock()
	cn.pending = nil
	cn.mu.Unlock()
}

func (c *Client) replyError(cn *conn, re, code, msg string) {
	env, err := wire.New(wire.TypeError, "", re, wire.Error{Code: code, Message: msg})
	if err == nil {
		_ = c.send(context.Background(), cn, env)
	}
}

func (c *Client) newID() string { return "a" + strconv.FormatUint(c.nextID.Add(1), 10) }

func (c *Client) send(ctx context.Context, cn *conn, env wire.Envelope) error {
	frame, err := env.Frame() // an oversize frame fails here, not the channel
	if err != nil {
		return err
	}
	select {
	case cn.out <- frame:
		return nil
	case <-cn.done:
		return ErrDisconnected
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request sends a message of type typ and waits for the hub's answer (the
// envelope whose Re is the request's ID). A wire.Error answer is returned
// as a *RemoteError. Without a deadline on ctx, RequestTimeout applies.
func (c *Client) Request(ctx context.Context, typ string, data any) (wire.Envelope, error) {
	cn := c.cur.Load()
	if cn == nil {
		return wire.Envelope{}, ErrNotConnected
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
	}
	id := c.newID()
	env, err := wire.New(typ, id, "", data)
	if err != nil {
		return wire.Envelope{}, err
	}
	ch := make(chan wire.Envelope, 1)
	cn.mu.Lock()
	if cn.pending == nil {
		cn.mu.Unlock()
		return wire.Envelope{}, ErrDisconnected
	}
	cn.pending[id] = ch
	cn.mu.Unlock()
	answered := false
	defer func() {
		cn.mu.Lock()
		delete(cn.pending, id)
		cn.mu.Unlock()
		if answered {
			return
		}
		// Given up: an answer that came meanwhile is late (from here on
		// the read loop hands them to LateAnswer itself).
		select {
		case ans := <-ch:
			if ans.Type != wire.TypeAck {
				cn.h.LateAnswer(ans)
			}
		default:
		}
	}()
	if err := c.send(ctx, cn, env); err != nil {
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, err)
	}
	answer := func(ans wire.Envelope) (wire.Envelope, error) {
		answered = true
		if ans.Type == wire.TypeError {
			return ans, remoteError(typ, ans)
		}
		return ans, nil
	}
	var fail error
	select {
	case ans := <-ch:
		return answer(ans)
	case <-cn.done:
		fail = fmt.Errorf("%s: %w", typ, ErrDisconnected)
	case <-ctx.Done():
		fail = fmt.Errorf("%s: no answer from the hub: %w", typ, ctx.Err())
	}
	select {
	case ans := <-ch: // came with the end: taken all the same
		return answer(ans)
	default:
		return wire.Envelope{}, fail
	}
}

// Reply sends an answer without waiting: typ (wire.TypeAck or
// wire.TypeError) with Re set to re.
func (c *Client) Reply(ctx context.Context, re, typ string, data any) error {
	cn := c.cur.Load()
	if cn == nil {
		return ErrNotConnected
	}
	env, err := wire.New(typ, "", re, data)
	if err != nil {
		return err
	}
	return c.send(ctx, cn, env)
}

func remoteError(reqType string, env wire.Envelope) *RemoteError {
	var e wire.Error
	if err := env.Unmarshal(&e); err != nil {
		e = wire.Error{Code: wire.ErrBadMessage, Message: "error without details"}
	}
	return &RemoteError{Type: reqType, Code: e.Code, Message: e.Message}
}

// explainDial turns a failed dial into a message an operator can act on:
// a *DeviceRefusedError when the hub refused the device certificate.
func (c *Client) explainDial(err error, resp *http.Response) error {
	if refused := refusal(err, resp); refused != nil {
		return refused
	}
	if resp != nil {
		return fmt.Errorf("dial %s: HTTP %d: %w", c.wsURL, resp.StatusCode, err)
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		// Most likely a hub switched to an operator's certificate (serve
		// --tls-cert) after this kiosk enrolled trusting the hub CA alone.
		return fmt.Errorf("dial %s: the hub's certificate is not signed by a CA this kiosk trusts for it (%s in its state directory): %w; "+
			"if the hub now serves a certificate of another CA (serve --tls-cert), append that CA's root to %s, keeping the hub CA in it, and restart the agent",
			c.wsURL, CAFile, err, CAFile)
	}
	if code, ok := remoteAlert(err); ok {
		return fmt.Errorf("dial %s: the hub ended the TLS handshake (alert %d): %w", c.wsURL, code, err)
	}
	return fmt.Errorf("dial %s: %w", c.wsURL, err)
}
