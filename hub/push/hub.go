package push

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// DefaultSendQueue is the default length of a connection's outbound queue.
const DefaultSendQueue = 64

// HelloTimeout is how long a new channel may take to send its hello.
const HelloTimeout = 10 * time.Second

// DefaultHelloWait is how long a hello waits, by default, for the hub to
// take it up (Config.HelloWait). An agent gives up on its hello 10 s
// after it began to dial (agent.ClientConfig.HandshakeTimeout), and in a
// reconnect storm the TLS handshake alone may take seconds of that: a
// hello taken up later would mostly be answered to nobody, at the cost of
// a slot others could have used.
const DefaultHelloWait = HelloTimeout / 2

// DefaultMaxHellos returns how many hellos a hub works on at once by
// default (Config.MaxHellos): as many as the SQLite store has reader
// connections (max(4, 2×GOMAXPROCS)). Each hello reads the device record
// and the session the kiosk reports; more hellos at once would only queue
// for a connection, with no deadline, and make every one of them late.
func DefaultMaxHellos() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// busyLogEvery is the least time between two warnings that hellos are
// refused for want of a slot: in a storm there are thousands.
const busyLogEvery = 10 * time.Second

const (
	// maxOutstanding bounds the unacknowledged pushes of one connection; an
	// agent that stops acking is dropped and gets its verdicts on reconnect.
	maxOutstanding = 1024
	// maxQueuedRequests bounds the requests of one connection waiting for
	// the handler; a kiosk flooding requests is dropped.
	maxQueuedRequests = 32
	// maxBatch is how many queued frames the writer sends per wake-up
	// under one write deadline.
	maxBatch = 32
	// closeWait bounds the write of a close frame.
	closeWait = time.Second
	// maxParked bounds the request workers kept waiting for work, and
	// parkTime is how long each waits before it ends (see Hub.worker).
	maxParked = 256
	parkTime  = 5 * time.Second
)

// ErrOffline is returned by Push when the device has no open channel (or its
// channel was just dropped). Test with errors.Is.
var ErrOffline = errors.New("device not connected")

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("push hub closed")

// ErrUnknownType is what Handler.Request returns (wrapped) for a message
// type it does not handle; the agent gets an error message with code
// wire.ErrUnknownType.
var ErrUnknownType = errors.New("unknown message type")

// SafeError is an error whose Code (a wire error code such as wire.ErrState)
// and Message may be shown to the agent. Handler.Request returns one
// (possibly wrapped) to choose the error message the agent receives; Err
// is only logged.
type SafeError struct {
	Code    string
	Message string
	Err     error
}

func (e *SafeError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *SafeError) Unwrap() error { return e.Err }

// Handler is what the hub does with the channel's messages. Its methods
// are called from many connections at once and must be safe for
// concurrent use.
type Handler interface {
	// Hello opens the channel of deviceID. The answer is sent as the
	// welcome; an error (a SafeError to choose the message) is sent as an
	// error message and the channel is closed. ctx ends with the channel.
	Hello(ctx context.Context, deviceID string, hello wire.Hello) (wire.Welcome, error)
	// Request answers one agent message that is neither hello nor an ack
	// of an outstanding push. Requests of one connection are handled one
	// at a time, in order. The reply's V and Re are filled in; a reply
	// with an empty Type sends nothing. An error wrapping ErrUnknownType
	// is answered with wire.ErrUnknownType, a SafeError with its code and
	// message, anything else with wire.ErrInternal. Incoming error
	// messages are passed on too but never answered with an error. ctx
	// ends with the channel, and carries the device certificate it was
	// opened with (PeerCertificate).
	Request(ctx context.Context, deviceID string, env wire.Envelope) (wire.Envelope, error)
	// Acked reports that deviceID acknowledged push at time at. It runs on
	// the connection's reader goroutine: keep it short.
	Acked(deviceID string, push Push, at time.Time)
	// Disconnected reports that a channel whose Hello was called has
	// ended, unless a newer connection of the same device replaced it.
	// Of a device's connections, the one ServeHTTP took up last is its
	// channel: a connection whose hello is admitted after a newer one's
	// (whether that one is still the device's channel or has ended
	// since) is closed as replaced, and neither Hello nor Disconnected
	// is called for it. It is called under the lock a newer connection
	// of the device takes to register (so before that connection's
	// Hello): keep it short, and do not call ServeHTTP or Close from it.
	Disconnected(deviceID string)
}

// Admitter is an optional interface of a Handler. A new channel is
// registered for its device, replacing the device's current one, before
// Hello runs (so that pushes made while Hello decides follow the
// welcome); a Handler that is an Admitter is first asked, by Admit,
// whether the hello may open the channel at all. A refusal is answered
// like one of Hello's, but leaves the device's current channel up: a
// connection the hub refuses (a certificate a renewal replaced, an
// expired one) must not cut off the channel the kiosk has. Admit should
// be quick: pushes made meanwhile go to the current channel. Hello may
// still refuse (what changed in between), and the current channel has
// been replaced then. Hello and Disconnected are not called for a
// connection Admit refused. ctx is the channel's, as Hello's; it ends at
// Hub.Close. Admit and the Hello that follows it get the same ctx, and
// run under one hello slot (Config.MaxHellos), one after the other.
type Admitter interface {
	Admit(ctx context.Context, deviceID string, hello wire.Hello) error
}

// Push is one message pushed to a device and awaiting its ack.
type Push struct {
	ID       string
	DeviceID string
	Type     string
	Data     any
	// Sent is when Push queued it (Config.Now).
	Sent time.Time
}

// Config configures a Hub.
type Config struct {
	// Handler handles hellos, requests, acks and disconnects. Required.
	Handler Handler
	// Now is the clock for Push.Sent and ack times; time.Now by default.
	// Socket deadlines always use the real clock.
	Now func() time.Time
	// Logger gets connection errors and handler failures; discarded by
	// default.
	Logger *slog.Logger
	// SendQueue is the length of each connection's outbound queue
	// (DefaultSendQueue by default). A connection whose queue is full is
	// dropped rather than waited for.
	SendQueue int
	// MaxHellos bounds the hellos the hub works on at once: a slot is
	// taken before Admitter.Admit and given back when Handler.Hello
	// returns (DefaultMaxHellos() by default). When a hub restarts every
	// kiosk says hello within seconds; the others wait for a slot.
	MaxHellos int
	// HelloWait is how long a hello waits for a slot
	// (DefaultHelloWait by default), and never past the time the channel
	// had to say it (HelloTimeout after the upgrade). A hello that gets
	// none is refused with wire.ErrInternal and close code 1013 (try
	// again later), before the connection would replace the device's
	// current channel; the agent retries with its backoff.
	HelloWait time.Duration
}

// timing holds the channel's timings; tests shorten them.
type timing struct {
	ping, pongWait, writeWait, hello, helloWait time.Duration
}

// Hub accepts device channels and pushes to them. Create it with New.
type Hub struct {
	handler   Handler
	now       func() time.Time
	log       *slog.Logger
	sendQueue int
	timing    timing
	upgrader  websocket.Upgrader

	// conns holds the registered channels. A plain map: a mass revoke
	// looks up ten thousand kiosks in a row, which a sync.Map's trie made
	// a third of the pushing goroutine's time (cache misses at each level).
	connMu sync.RWMutex
	conns  map[string]*conn // deviceID → its channel
	count  atomic.Int64
	idBase string
	seq    atomic.Uint64
	// accepted numbers the channel requests in the order ServeHTTP took
	// them up (conn.accepted): of two connections of one device, the
	// one with the higher number is its channel, whichever hello ends
	// first (see register). It is counted under mu, with handshaking.
	accepted atomic.Uint64

	// hellos holds a token for each hello being worked on (MaxHellos);
	// busy counts the hellos refused for want of one, and busyLogged is
	// when that was last logged (UnixNano of the real clock).
	hellos     chan struct{}
	busy       atomic.Int64
	busyLogged atomic.Int64

	closed atomic.Bool
	mu     sync.Mutex // guards hsConn, handshaking and the wg.Add / closed handshake; taken before connMu
	// hsConn holds the channels not registered yet, with the cancel of
	// their context once they have one (nil before).
	hsConn map[*websocket.Conn]context.CancelFunc
	wg     sync.WaitGroup // channels past the upgrade, until their goroutines end
	// handshaking (under mu) holds, for each device with a connection
	// ServeHTTP has numbered and that has neither registered nor ended
	// yet, how many it has and the newest of its connections registered
	// meanwhile (see endHandshake). An entry goes with the device's last
	// such connection: there are at most as many as connections in their
	// handshake, not one for each kiosk ever seen.
	handshaking map[string]*handshakes
	// registering, in tests, runs in register between counting a
	// connection off its handshake and making it its device's channel.
	registering func(c *conn)

	// Request workers (see worker): idle hands a connection with queued
	// requests to a parked worker; stop ends the parked ones at Close.
	idle      chan *conn
	parked    atomic.Int32
	maxParked int32        // maxParked; tests lower it
	started   atomic.Int64 // workers started, for tests
	stop      chan struct{}
	stopOnce  sync.Once
	workersWG sync.WaitGroup
}

// New returns a Hub for cfg. It panics when cfg.Handler is nil, a
// programming error.
func New(cfg Config) *Hub {
	if cfg.Handler == nil {
		panic("push: Config.Handler is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.MaxHellos <= 0 {
		cfg.MaxHellos = DefaultMaxHellos()
	}
	if cfg.HelloWait <= 0 {
		cfg.HelloWait = DefaultHelloWait
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand contract since Go 1.24)
	return &Hub{
		handler:   cfg.Handler,
		now:       cfg.Now,
		log:       cfg.Logger,
		sendQueue: cfg.SendQueue,
		timing: timing{
			ping:      wire.PingInterval,
			pongWait:  wire.PongWait,
			writeWait: wire.WriteWait,
			hello:     HelloTimeout,
			helloWait: cfg.HelloWait,
		},
		hellos: make(chan struct{}, cfg.MaxHellos),
		upgrader: websocket.Upgrader{
			HandshakeTimeout: wire.WriteWait,
			// A small private read buffer; write buffers are pooled so
			// an idle connection holds none.
			ReadBufferSize:  1 << 10,
			WriteBufferSize: 4 << 10,
			WriteBufferPool: &sync.Pool{},
		},
		idBase:      hex.EncodeToString(b[:]) + "-",
		hsConn:      make(map[*websocket.Conn]context.CancelFunc),
		handshaking: make(map[string]*handshakes),
		conns:       make(map[string]*conn),
		idle:        make(chan *conn),
		maxParked:   maxParked,
		stop:        make(chan struct{}),
	}
}

// newID returns a fresh push ID: a per-hub random prefix and a counter.
func (h *Hub) newID() string {
	return h.idBase + strconv.FormatUint(h.seq.Add(1), 36)
}

// ServeHTTP serves the device channel. Mount it at wire.WSPath behind a TLS
// listener configured with certs.ServerTLSConfig.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	deviceID, err := certs.RequireDeviceCert(r.TLS)
	if err != nil {
		http.Error(w, "device certificate required", http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		http.Error(w, "hub shutting down", http.StatusServiceUnavailable)
		return
	}
	// Numbered before the upgrade is answered: a kiosk says hello only
	// once it has that answer, and dials again only after it has given
	// up on its last connection. Of two connections of a kiosk that both
	// say hello, the one it opened later has the higher number. It is
	// counted as in its handshake under the same lock, so that a newer
	// connection of the device that registers finds it counted.
	accepted := h.accepted.Add(1)
	h.beginHandshake(deviceID)
	h.wg.Add(1)
	h.mu.Unlock()

	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the request.
		h.log.Debug("push: upgrade", "device", deviceID, "err", err)
		h.mu.Lock()
		h.endHandshake(deviceID, accepted, false)
		h.mu.Unlock()
		h.wg.Done()
		return
	}
	h.mu.Lock()
	if h.closed.Load() {
		h.endHandshake(deviceID, accepted, false)
		h.mu.Unlock()
		ws.Close()
		h.wg.Done()
		return
	}
	h.hsConn[ws] = nil
	h.mu.Unlock()

	// The channel lives in a goroutine of its own and ServeHTTP returns:
	// net/http then lets go of everything it held for the request (its
	// 4 KiB read and write buffers, the request, and the goroutine whose
	// stack grew during the TLS handshake), about a third of what an idle
	// channel would otherwise keep. The request's context ends when
	// ServeHTTP returns, so the channel keeps only its values.
	ctx := context.WithValue(context.WithoutCancel(r.Context()), peerCertKey{}, r.TLS.VerifiedChains[0][0])
	go func() {
		defer h.wg.Done()
		h.serve(ctx, deviceID, accepted, ws)
	}()
}

// peerCertKey is the context key of a channel's device certificate.
type peerCertKey struct{}

// PeerCertificate returns the verified device certificate that the
// channel whose context is ctx was opened with, the one the kiosk
// presented at the TLS handshake: Handler methods get that context. It
// stays the channel's certificate for as long as the channel lasts,
// whatever the kiosk renews meanwhile. nil for a context of no channel.
func PeerCertificate(ctx context.Context) *x509.Certificate {
	c, _ := ctx.Value(peerCertKey{}).(*x509.Certificate)
	return c
}

// Push queues a push of typ with data (JSON-encoded once, here; a
// json.RawMessage is used as is) to deviceID and records it as outstanding
// until the device acks it. It never blocks: it fails with ErrOffline when
// the device has no channel, and when the channel's send queue is full, in
// which case the channel is dropped (the agent reconnects and gets its
// verdict in the welcome). Push.Sent is when it was queued.
func (h *Hub) Push(deviceID, typ string, data any) (Push, error) {
	return h.push(deviceID, typ, data, false)
}

// push is Push; with direct, the frame is written from the calling
// goroutine when nothing is queued ahead of it (conn.writeDirect), which
// may block for up to the write timeout if the kiosk has stopped reading.
func (h *Hub) push(deviceID, typ string, data any, direct bool) (Push, error) {
	if h.closed.Load() {
		return Push{}, fmt.Errorf("push %s to %s: %w", typ, deviceID, ErrClosed)
	}
	c := h.conn(deviceID)
	if c == nil {
		return Push{}, fmt.Errorf("push %s to %s: %w", typ, deviceID, ErrOffline)
	}
	p := Push{ID: h.newID(), DeviceID: deviceID, Type: typ, Data: data}
	frame, err := encodePush(typ, p.ID, data)
	if err != nil {
		return Push{}, fmt.Errorf("push %s to %s: %w", typ, deviceID, err)
	}
	p.Sent = h.now()
	if err := c.addPending(p); err != nil {
		return Push{}, fmt.Errorf("push %s to %s: %w", typ, deviceID, err)
	}
	sent := false
	if direct {
		sent = c.sendFrame(frame)
	} else {
		sent = c.enqueue(frame)
	}
	if !sent {
		c.takePending(p.ID)
		return Push{}, fmt.Errorf("push %s to %s: channel dropped: %w", typ, deviceID, ErrOffline)
	}
	return p, nil
}

// Disconnect closes deviceID's channel at once (close code 1008 with
// reason, e.g. wire.ReasonDeviceDisabled), without sending what is still
// queued. Messages the device sends from now on are ignored. It does
// nothing when the device is not connected.
func (h *Hub) Disconnect(deviceID, reason string) {
	if c := h.conn(deviceID); c != nil {
		c.close(websocket.ClosePolicyViolation, reason)
	}
}

// DisconnectChannel is Disconnect for the one channel whose context is ctx
// (the context a Handler method got): it closes that channel, not the
// device's newer one, which may have replaced it meanwhile, and does
// nothing when it has already ended or ctx is no channel's of h.
func (h *Hub) DisconnectChannel(ctx context.Context, reason string) {
	if c, ok := ctx.Value(connKey{}).(*conn); ok && c.hub == h {
		c.close(websocket.ClosePolicyViolation, reason)
	}
}

// Connected reports whether deviceID has an open channel (from its hello
// on).
func (h *Hub) Connected(deviceID string) bool {
	return h.conn(deviceID) != nil
}

// conn returns deviceID's channel, or nil.
func (h *Hub) conn(deviceID string) *conn {
	h.connMu.RLock()
	c := h.conns[deviceID]
	h.connMu.RUnlock()
	return c
}

// Count returns the number of devices with an open channel.
func (h *Hub) Count() int { return int(h.count.Load()) }

// BusyHellos returns how many hellos were refused since New because none
// of the MaxHellos slots came free within HelloWait.
func (h *Hub) BusyHellos() int64 { return h.busy.Load() }

// Close closes every channel (close code 1001), refuses new ones and waits
// until all connection goroutines have ended and Handler.Disconnected has
// been called for each.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed.Store(true)
	for ws, cancel := range h.hsConn {
		ws.Close() // interrupts a hello read
		if cancel != nil {
			cancel() // and an admission check
		}
	}
	h.mu.Unlock()
	h.connMu.RLock()
	for _, c := range h.conns {
		c.close(websocket.CloseGoingAway, "hub shutting down")
	}
	h.connMu.RUnlock()
	h.wg.Wait()
	h.stopOnce.Do(func() { close(h.stop) })
	h.workersWG.Wait()
	return nil
}

// handshakes is what the hub keeps of a device while connections of it
// are in their handshake (Hub.handshaking).
type handshakes struct {
	n      int    // connections numbered, and neither registered nor ended
	newest uint64 // the highest conn.accepted registered while n > 0
}

// beginHandshake counts a connection of deviceID that ServeHTTP has just
// numbered. h.mu is held.
func (h *Hub) beginHandshake(deviceID string) {
	hs := h.handshaking[deviceID]
	if hs == nil {
		hs = &handshakes{}
		h.handshaking[deviceID] = hs
	}
	hs.n++
}

// endHandshake counts off the accepted-th connection of deviceID, which
// registers (when registering) or has ended before it could, and reports
// whether a newer connection of the device registered while it was in its
// handshake. Such a connection is one the kiosk has given up, even when
// the newer one has ended since (a second blip): it must not become the
// channel, where pushes would go unread until the kiosk reconnects.
// Only a registered connection counts as newer: one refused at its
// admission (a certificate a renewal replaced, say, that a copy of the
// kiosk's old key may present) never took the channel, and must not keep
// the kiosk's own connection from it. A device's record is dropped with
// its last connection in its handshake: a connection numbered later is
// newer than every one registered before. h.mu is held.
func (h *Hub) endHandshake(deviceID string, accepted uint64, registering bool) (newer bool) {
	hs := h.handshaking[deviceID]
	if hs == nil {
		return false
	}
	newer = hs.newest > accepted
	if registering && !newer {
		hs.newest = accepted
	}
	if hs.n--; hs.n == 0 {
		delete(h.handshaking, deviceID)
	}
	return newer
}

// register makes c the channel of its device and returns the connection it
// replaces, if any; ok is false, and c is not registered, when a
// connection of the device accepted after c registered before it (whether
// it is still the device's channel or has ended since). A kiosk that
// reconnects may have two connections for a moment, the one it gave up and
// the new one, and either hello may be taken up last (the one on the
// connection given up may have been held up in the network, or wait
// longer for its slot or its admission): the newest connection is the one
// the kiosk listens on, and a push sent to the other would be lost.
func (h *Hub) register(c *conn) (old *conn, ok bool) {
	// h.mu is held from the check to the swap: were it let go between
	// them, a newer connection of the device could register and end
	// meanwhile, unseen by both, and c, which the kiosk has given up,
	// would become the channel.
	h.mu.Lock()
	delete(h.hsConn, c.ws)
	if h.endHandshake(c.deviceID, c.accepted, true) {
		h.mu.Unlock()
		return nil, false
	}
	if h.registering != nil {
		h.registering(c)
	}
	h.connMu.Lock()
	old = h.conns[c.deviceID]
	// Not met while endHandshake counts right: a newer channel
	// registered during c's handshake. Checked all the same, as it is
	// cheap and a push to c would be lost.
	if old != nil && old.accepted > c.accepted {
		h.connMu.Unlock()
		h.mu.Unlock()
		return old, false
	}
	h.conns[c.deviceID] = c
	h.connMu.Unlock()
	h.mu.Unlock()
	if old == nil {
		h.count.Add(1)
	}
	if h.closed.Load() {
		// Close may have ranged over the map before the swap.
		c.close(websocket.CloseGoingAway, "hub shutting down")
	}
	return old, true
}

// unregister removes c if it is still its device's channel and reports
// whether it did.
func (h *Hub) unregister(c *conn) bool {
	h.connMu.Lock()
	defer h.connMu.Unlock()
	if h.conns[c.deviceID] != c {
		return false
	}
	delete(h.conns, c.deviceID)
	h.count.Add(-1)
	return true
}
