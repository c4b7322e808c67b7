package push

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// conn is one device channel.
type conn struct {
	hub      *Hub
	deviceID string
	accepted uint64          // the order ServeHTTP took it up in (Hub.accepted)
	ws       *websocket.Conn // nil when frames are fed in directly (fuzzing)
	ctx      context.Context
	cancel   context.CancelFunc

	// send is the outbound queue, drained by the writer goroutine only.
	// It is never closed; done tells producers to stop.
	send  chan []byte
	first []byte // the welcome, written before anything in send
	// wlock (a channel of capacity 1: taking it can wait on done as
	// well) serialises the writes of data frames. The writer holds it for
	// a batch; a push of PushMany with nothing queued ahead of it is
	// written by the goroutine that has it (writeDirect), which saves the
	// writer's wake-up, select and park ten thousand times in a mass
	// revoke. (Replies to requests stay with the writer: written by the
	// request's worker they made kiosk logins no cheaper, and in the
	// in-process login benchmark slower.)
	wlock chan struct{}
	// queued counts the frames handed to the writer (the welcome
	// included) and not yet written; a direct write waits its turn
	// behind them, so frames go out in the order they were given.
	queued     atomic.Int32
	done       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeCode  int // 0: no close frame; set before done is closed
	closeText  string

	mu      sync.Mutex
	pending map[string]Push // outstanding pushes by ID; nil until the first
	reqs    []wire.Envelope // requests waiting for the worker
	working bool            // a worker goroutine is running
	workers sync.WaitGroup
}

func (h *Hub) newConn(ctx context.Context, deviceID string, ws *websocket.Conn) *conn {
	c := &conn{
		hub:        h,
		deviceID:   deviceID,
		ws:         ws,
		send:       make(chan []byte, h.sendQueue),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		wlock:      make(chan struct{}, 1),
	}
	// The context names its channel, for DisconnectChannel.
	c.ctx, c.cancel = context.WithCancel(context.WithValue(ctx, connKey{}, c))
	c.queued.Store(1) // the welcome
	return c
}

// connKey is the context key of a channel's conn.
type connKey struct{}

// close ends the channel: the writer sends a close frame with code and
// text (none when code is 0), closes the socket and so ends the reader.
// Safe to call many times from any goroutine; the first call wins.
func (c *conn) close(code int, text string) {
	c.closeOnce.Do(func() {
		if len(text) > 120 { // a close frame's reason is at most 123 bytes
			// Cut on a character boundary: gorilla refuses to write a
			// reason that is not UTF-8, and the kiosk would get no
			// close frame at all.
			text = strings.ToValidUTF8(text[:120], "")
		}
		c.closeCode, c.closeText = code, text
		close(c.done)
		c.cancel()
	})
}

func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// enqueue hands frame to the writer without blocking. A full queue drops
// the channel. It reports whether the frame was queued.
func (c *conn) enqueue(frame []byte) bool {
	if c.closed() {
		return false
	}
	c.queued.Add(1)
	select {
	case c.send <- frame:
		return true
	default:
		c.queued.Add(-1)
		c.hub.log.Warn("push: send queue full, dropping channel", "device", c.deviceID)
		c.close(websocket.CloseTryAgainLater, "send queue full")
		return false
	}
}

func (c *conn) addPending(p Push) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return ErrOffline
	}
	if len(c.pending) >= maxOutstanding {
		c.hub.log.Warn("push: too many unacknowledged pushes, dropping channel", "device", c.deviceID)
		c.close(websocket.ClosePolicyViolation, "too many unacknowledged pushes")
		return fmt.Errorf("too many unacknowledged pushes: %w", ErrOffline)
	}
	if c.pending == nil {
		c.pending = make(map[string]Push)
	}
	c.pending[p.ID] = p
	return nil
}

func (c *conn) takePending(id string) (Push, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[id]
	if ok {
		delete(c.pending, id)
		if len(c.pending) == 0 {
			c.pending = nil // give the map back to the GC
		}
	}
	return p, ok
}

// serve runs one upgraded channel, the accepted-th, until it ends; it is
// the reader goroutine.
func (h *Hub) serve(ctx context.Context, deviceID string, accepted uint64, ws *websocket.Conn) {
	c := h.newConn(ctx, deviceID, ws)
	c.accepted = accepted
	ws.SetReadLimit(wire.MaxMessageBytes)
	h.mu.Lock()
	if _, ok := h.hsConn[ws]; ok {
		h.hsConn[ws] = c.cancel // Close ends an admission check too
	}
	h.mu.Unlock()

	// The hello's deadline: it must be said by then, and taken up (a
	// slot, below) by then at the latest.
	deadline := time.Now().Add(h.timing.hello)
	hello, helloID, ok := c.readHello(deadline)
	if ok {
		// One slot for Admit and Hello, both of which read the store; a
		// hello refused for want of one never replaced the device's
		// current channel.
		wait := time.Now().Add(h.timing.helloWait)
		if wait.After(deadline) {
			wait = deadline
		}
		ok = c.takeSlot(helloID, wait)
		if ok && !c.admit(hello, helloID) {
			h.giveSlot()
			ok = false
		}
	}
	if !ok {
		h.mu.Lock()
		delete(h.hsConn, ws)
		h.endHandshake(deviceID, accepted, false)
		h.mu.Unlock()
		c.cancel()
		ws.Close()
		return
	}
	// Register before Handler.Hello: pushes made while it decides are
	// queued behind the welcome instead of failing with ErrOffline.
	old, registered := h.register(c)
	if !registered {
		// A newer connection of the device took the channel, and may
		// hold it still: this one, which the kiosk has given up, ends
		// as if that one had replaced it, its hello unanswered. Hello
		// and Disconnected are not called for it.
		h.giveSlot()
		h.log.Info("push: hello of a connection older than the device's newest channel ignored", "device", deviceID)
		c.close(websocket.ClosePolicyViolation, replacedClose)
		c.writeClose()
		ws.Close()
		return
	}
	if old != nil {
		h.log.Info("push: connection replaced", "device", deviceID)
		old.close(websocket.ClosePolicyViolation, replacedClose)
	}
	defer func() {
		c.cancel()
		c.workers.Wait()
		h.callLeaving(deviceID)
		// Under h.mu, which register holds from its check to the swap:
		// a newer connection of the device registers, and so has its
		// Hello called, only once the handler has been told that this
		// one ended. Told after that Hello, the handler would drop what
		// it keeps for the device's channel (the hub's cached kiosk
		// record) while the newer channel is open.
		h.mu.Lock()
		if h.unregister(c) {
			h.callDisconnected(deviceID)
		}
		h.mu.Unlock()
	}()

	welcome, err := h.callHello(c.ctx, deviceID, hello)
	h.giveSlot() // what follows is the connection's own writing
	if err != nil {
		c.refuse(helloID, err)
		ws.Close()
		return
	}
	var welcomeID string
	if welcome.Revoke != nil {
		welcomeID = h.newID()
		// Tracked like a session.revoke push; no error once registered
		// unless the channel is already going away.
		_ = c.addPending(Push{
			ID: welcomeID, DeviceID: deviceID, Type: wire.TypeSessionRevoke,
			Data: *welcome.Revoke, Sent: h.now(),
		})
	}
	env, err := wire.New(wire.TypeWelcome, welcomeID, helloID, welcome)
	if err == nil {
		c.first, err = env.Frame()
	}
	if err != nil {
		h.log.Error("push: encode welcome", "device", deviceID, "err", err)
		c.writeNow(errorFrame(helloID, wire.ErrInternal, "internal error"))
		c.close(websocket.CloseInternalServerErr, "internal error")
		c.writeClose()
		ws.Close()
		return
	}

	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(h.timing.pongWait))
	})
	_ = ws.SetReadDeadline(time.Now().Add(h.timing.pongWait))
	go c.writeLoop()
	c.readLoop()
	<-c.writerDone
}

// readHello reads the first frame, which must be a valid hello said
// before deadline. On failure it answers with an error and a close frame
// (writes are still ours: the writer has not started).
func (c *conn) readHello(deadline time.Time) (wire.Hello, string, bool) {
	var hello wire.Hello
	_ = c.ws.SetReadDeadline(deadline)
	_, frame, err := c.ws.ReadMessage()
	if err != nil {
		c.hub.log.Debug("push: no hello", "device", c.deviceID, "err", err)
		return hello, "", false
	}
	env, err := wire.Decode(frame)
	if err != nil {
		c.writeNow(undecodable(frame))
	} else if env.Type != wire.TypeHello {
		c.writeNow(errorFrame(env.ID, wire.ErrState, "the first message must be hello"))
		err = fmt.Errorf("%s before hello", logText(env.Type))
	} else if err = env.Unmarshal(&hello); err != nil {
		c.writeNow(errorFrame(env.ID, wire.ErrBadMessage, "malformed hello"))
	}
	if err != nil {
		c.hub.log.Info("push: bad hello", "device", c.deviceID, "err", err)
		c.close(websocket.ClosePolicyViolation, "expected hello")
		c.writeClose()
		return hello, "", false
	}
	return hello, env.ID, true
}

// takeSlot waits until deadline for one of the hub's hello slots
// (Config.MaxHellos) and reports whether it got one; the caller gives it
// back (giveSlot) once Hello has returned. Waiting hellos get slots
// mostly in the order they asked (a channel's blocked senders are served
// first in, first out). A hello that gets none in time is refused as busy; one
// whose channel ends meanwhile (Close) gets no answer.
func (c *conn) takeSlot(helloID string, deadline time.Time) bool {
	select {
	case c.hub.hellos <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case c.hub.hellos <- struct{}{}:
		return true
	case <-c.ctx.Done():
		return false
	case <-t.C:
	}
	c.busy(helloID)
	return false
}

// giveSlot gives back a slot takeSlot took.
func (h *Hub) giveSlot() { <-h.hellos }

// busy refuses a hello that got no slot in time: wire.ErrInternal, the
// one code of agent/wire that says "not your doing" (every agent, old or
// new, retries a refused hello with its backoff whatever the code, and
// nothing changes until an admin acts only for a refused certificate,
// which the TLS handshake says), and close code 1013, try again later.
// It is not logged one by one: a hub that restarts with ten thousand
// kiosks may refuse thousands within seconds.
func (c *conn) busy(helloID string) {
	n := c.hub.busy.Add(1)
	now, last := time.Now().UnixNano(), c.hub.busyLogged.Load()
	if now-last >= int64(busyLogEvery) && c.hub.busyLogged.CompareAndSwap(last, now) {
		c.hub.log.Warn("push: hellos refused: the hub is busy with others (a reconnect storm?); the kiosks retry with backoff",
			"max_hellos", cap(c.hub.hellos), "wait", c.hub.timing.helloWait, "refused_since_start", n)
	}
	c.hub.log.Debug("push: hello refused: no slot in time", "device", c.deviceID)
	c.writeNow(errorFrame(helloID, wire.ErrInternal, busyHello))
	c.close(websocket.CloseTryAgainLater, "hub busy")
	c.writeClose()
}

// busyHello is the message of a hello refused for want of a slot.
const busyHello = "the hub is busy: try again shortly"

// replacedClose is the close reason of a connection a newer one of its
// device replaced; agents recognise it by its word "replaced".
const replacedClose = "replaced by a newer connection"

// admit asks the handler, when it is an Admitter, whether hello may open
// the channel. A refusal is answered, and the connection is closed
// without having been registered: the device's current channel stays.
func (c *conn) admit(hello wire.Hello, helloID string) bool {
	a, ok := c.hub.handler.(Admitter)
	if !ok {
		return true
	}
	if err := c.hub.callAdmit(c.ctx, a, c.deviceID, hello); err != nil {
		c.refuse(helloID, err)
		return false
	}
	return true
}

// refuse answers a refused hello with err's error message and a close
// frame (writes are still ours: the writer has not started).
func (c *conn) refuse(helloID string, err error) {
	code, msg := errorReply(err)
	c.hub.log.Warn("push: hello refused", "device", c.deviceID, "err", err)
	c.writeNow(errorFrame(helloID, code, msg))
	c.close(websocket.ClosePolicyViolation, "hello refused")
	c.writeClose()
}

// writeNow writes one frame from the calling goroutine; only before the
// writer starts.
func (c *conn) writeNow(frame []byte) {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.timing.writeWait))
	_ = c.ws.WriteMessage(websocket.TextMessage, frame)
}

// writeClose sends the close frame chosen by close.
func (c *conn) writeClose() {
	if c.closeCode == 0 {
		return
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
}

// readLoop reads frames until the socket fails or the channel is closed.
func (c *conn) readLoop() {
	for {
		_, frame, err := c.ws.ReadMessage()
		if err != nil {
			if !c.closed() {
				c.hub.log.Debug("push: read", "device", c.deviceID, "err", err)
			}
			// The peer is gone or broke the protocol (gorilla has sent
			// its close frame, e.g. 1009 for an oversize message).
			c.close(0, "")
			return
		}
		if c.closed() {
			continue // drain until the writer closes the socket
		}
		// Any frame proves the peer alive, not just pongs.
		_ = c.ws.SetReadDeadline(time.Now().Add(c.hub.timing.pongWait))
		c.handle(frame)
	}
}

// writeLoop owns the socket's queued writes: the welcome, queued frames,
// pings and the final close frame. It closes the socket when it ends.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	defer c.ws.Close()
	ticker := time.NewTicker(c.hub.timing.ping)
	defer ticker.Stop()
	first := c.first
	c.first = nil
	if !c.writeQueued(first) {
		return
	}
	for {
		select {
		case <-c.done:
			// The close frame waits for a direct write under way, as
			// long as it would wait to be written itself; a write stuck
			// on a kiosk that does not read ends when the socket closes.
			t := time.NewTimer(closeWait)
			select {
			case c.wlock <- struct{}{}:
				c.writeClose()
				<-c.wlock
			case <-t.C:
			}
			t.Stop()
			return
		case frame := <-c.send:
			if !c.writeQueued(frame) {
				return
			}
		case <-ticker.C:
			// A direct write under way (PushMany) holds the lock; its
			// deadline already bounds a kiosk that stopped reading. A
			// ping queued behind it would keep this loop from closing
			// the socket for as long, so it waits for the next tick.
			select {
			case c.wlock <- struct{}{}:
			default:
				continue
			}
			err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.timing.writeWait))
			<-c.wlock
			if err != nil {
				c.hub.log.Debug("push: ping", "device", c.deviceID, "err", err)
				c.close(0, "")
				return
			}
		}
	}
}

// writeQueued writes frame, a queued one, and then what else is queued
// (maxBatch at most) under one deadline. It reports false when the socket
// failed, and has closed the channel then.
func (c *conn) writeQueued(frame []byte) bool {
	select {
	case c.wlock <- struct{}{}:
	case <-c.done:
		// A direct write holds the lock; the loop closes the socket.
		return true
	}
	defer func() { <-c.wlock }()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.timing.writeWait))
	for n := 1; ; n++ {
		err := c.ws.WriteMessage(websocket.TextMessage, frame)
		c.queued.Add(-1)
		if err != nil {
			c.hub.log.Debug("push: write", "device", c.deviceID, "err", err)
			c.close(0, "")
			return false
		}
		if n == maxBatch || c.closed() {
			return true
		}
		select {
		case frame = <-c.send:
		default:
			return true
		}
	}
}

// writeDirect writes frame from the calling goroutine if no frame is
// queued ahead of it and no other write is under way.
// written is false when it did not write (the caller queues the frame
// instead), and err says why a write failed (the channel is closed then).
func (c *conn) writeDirect(frame []byte) (written bool, err error) {
	if c.queued.Load() != 0 {
		return false, nil
	}
	select {
	case c.wlock <- struct{}{}:
	default:
		return false, nil
	}
	defer func() { <-c.wlock }()
	if c.queued.Load() != 0 || c.closed() {
		return false, nil
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.timing.writeWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		c.hub.log.Info("push: write failed, channel dropped (the kiosk hears its verdicts when it reconnects)", "device", c.deviceID, "err", err)
		c.close(0, "")
		return false, err
	}
	return true, nil
}

// sendFrame writes frame at once if it can (writeDirect) or queues it for
// the writer. It reports whether the frame was written or queued.
func (c *conn) sendFrame(frame []byte) bool {
	written, err := c.writeDirect(frame)
	if err != nil {
		return false
	}
	return written || c.enqueue(frame)
}

// undecodable is the error answering a frame wire.Decode refused: another
// protocol version is told which one this hub speaks, in the hello too.
func undecodable(frame []byte) []byte {
	code, re := decodeErrorCode(frame)
	if code == wire.ErrVersion {
		return errorFrame(re, code, fmt.Sprintf("this hub speaks protocol version %d", wire.Version))
	}
	return errorFrame(re, code, "malformed message")
}

// handle processes one frame from the agent (after hello). It never
// blocks on the network and never panics on any input.
func (c *conn) handle(frame []byte) {
	env, err := wire.Decode(frame)
	if err != nil {
		c.hub.log.Debug("push: bad message", "device", c.deviceID, "err", err)
		c.enqueue(undecodable(frame))
		return
	}
	switch env.Type {
	case wire.TypeAck:
		if p, ok := c.takePending(env.Re); ok {
			c.hub.callAcked(c.deviceID, p, c.hub.now())
			return
		}
		// A late or duplicate ack: nothing to do, and answering an ack
		// with an error invites loops.
		c.hub.log.Debug("push: ack of nothing outstanding", "device", c.deviceID, "re", logText(env.Re))
		return
	case wire.TypeHello:
		c.enqueue(errorFrame(env.ID, wire.ErrState, "hello already received"))
		return
	case wire.TypeError:
		// An error answering a push (a session.extend an older agent
		// does not know, a revoke whose teardown failed) answers it: it
		// is no longer outstanding, or a kiosk that keeps answering would
		// be dropped after maxOutstanding of them as one that stopped.
		// The handler still gets the error. One that answers nothing
		// outstanding (a late or repeated answer, or a made-up re) goes
		// to the handler without its re: what answers a push is
		// audited, and a kiosk must not write the trail at will.
		if env.Re != "" {
			if _, ok := c.takePending(env.Re); !ok {
				c.hub.log.Debug("push: error answering nothing outstanding", "device", c.deviceID, "re", logText(env.Re))
				env.Re = ""
			}
		}
	}
	c.queueRequest(env)
}

// queueRequest hands env to the connection's worker, waking a parked one
// or starting one if none is running.
func (c *conn) queueRequest(env wire.Envelope) {
	c.mu.Lock()
	if len(c.reqs) >= maxQueuedRequests {
		c.mu.Unlock()
		c.hub.log.Warn("push: too many requests in flight, dropping channel", "device", c.deviceID)
		c.close(websocket.ClosePolicyViolation, "too many requests")
		return
	}
	c.reqs = append(c.reqs, env)
	if !c.working {
		c.working = true
		c.workers.Add(1)
		select {
		case c.hub.idle <- c:
		default:
			c.hub.workersWG.Add(1)
			c.hub.started.Add(1)
			go c.hub.worker(c)
		}
	}
	c.mu.Unlock()
}

// worker serves c's requests, then parks for parkTime to serve the next
// connection that has some. A login runs deep (WebAuthn, SQLite, JSON):
// a fresh goroutine grew its stack by copying it several times for each
// request, which cost a twentieth of the hub's CPU under a login storm.
// At most maxParked workers wait, so a burst from thousands of kiosks
// does not leave thousands of grown stacks behind.
func (h *Hub) worker(c *conn) {
	defer h.workersWG.Done()
	var t *time.Timer
	for {
		c.work()
		if h.parked.Add(1) > h.maxParked {
			h.parked.Add(-1)
			return
		}
		if t == nil {
			t = time.NewTimer(parkTime)
		} else {
			t.Reset(parkTime)
		}
		select {
		case c = <-h.idle:
			h.parked.Add(-1)
			t.Stop()
		case <-t.C:
			h.parked.Add(-1)
			return
		case <-h.stop:
			h.parked.Add(-1)
			return
		}
	}
}

// work handles queued requests one at a time and ends when none are left.
func (c *conn) work() {
	defer c.workers.Done()
	for {
		c.mu.Lock()
		if len(c.reqs) == 0 || c.closed() {
			c.reqs = nil
			c.working = false
			c.mu.Unlock()
			return
		}
		env := c.reqs[0]
		c.reqs[0] = wire.Envelope{}
		c.reqs = c.reqs[1:]
		c.mu.Unlock()
		c.serveRequest(env)
	}
}

func (c *conn) serveRequest(env wire.Envelope) {
	reply, err := c.hub.callRequest(c.ctx, c.deviceID, env)
	if err != nil {
		if c.ctx.Err() != nil {
			return // the channel ended; nobody to answer
		}
		code, msg := errorReply(err)
		if code == wire.ErrInternal {
			c.hub.log.Error("push: request failed", "device", c.deviceID, "type", logText(env.Type), "err", err)
		} else {
			c.hub.log.Info("push: request refused", "device", c.deviceID, "type", logText(env.Type), "err", err)
		}
		if env.Type != wire.TypeError {
			c.enqueue(errorFrame(env.ID, code, msg))
		}
		return
	}
	if reply.Type == "" {
		return
	}
	reply.V, reply.Re = wire.Version, env.ID
	b, err := reply.Frame() // one the agent would refuse is an internal error
	if err != nil {
		c.hub.log.Error("push: encode reply", "device", c.deviceID, "type", logText(reply.Type), "err", err)
		c.enqueue(errorFrame(env.ID, wire.ErrInternal, "internal error"))
		return
	}
	c.enqueue(b)
}

// maxLogText is how much of a text the kiosk chose (a message type, an
// ID) goes into a log line: a frame may hold wire.MaxMessageBytes of it,
// and the log is the operator's, not the kiosk's. Every wire type and ID
// is far shorter.
const maxLogText = 64

// logText is s cut to maxLogText bytes (at a rune boundary), saying how
// long it was when it is cut.
func logText(s string) string {
	if len(s) <= maxLogText {
		return s
	}
	cut := maxLogText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// errorReply maps a handler error to a wire error code and a message safe
// to show on a kiosk.
func errorReply(err error) (code, msg string) {
	var se *SafeError
	switch {
	case errors.As(err, &se):
		return se.Code, se.Message
	case errors.Is(err, ErrUnknownType):
		return wire.ErrUnknownType, "unknown message type"
	default:
		return wire.ErrInternal, "internal error"
	}
}

// The handler calls below turn a panic into an error: a bug in one
// handler must not take every kiosk's channel down with the process.

func (h *Hub) callAdmit(ctx context.Context, a Admitter, deviceID string, hello wire.Hello) (err error) {
	defer h.recoverInto(&err, "admit", deviceID)
	return a.Admit(ctx, deviceID, hello)
}

func (h *Hub) callHello(ctx context.Context, deviceID string, hello wire.Hello) (w wire.Welcome, err error) {
	defer h.recoverInto(&err, "hello", deviceID)
	return h.handler.Hello(ctx, deviceID, hello)
}

func (h *Hub) callRequest(ctx context.Context, deviceID string, env wire.Envelope) (reply wire.Envelope, err error) {
	defer h.recoverInto(&err, env.Type, deviceID)
	return h.handler.Request(ctx, deviceID, env)
}

func (h *Hub) callAcked(deviceID string, p Push, at time.Time) {
	var err error
	defer h.recoverInto(&err, "ack", deviceID)
	h.handler.Acked(deviceID, p, at)
}

func (h *Hub) callDisconnected(deviceID string) {
	var err error
	defer h.recoverInto(&err, "disconnected", deviceID)
	h.handler.Disconnected(deviceID)
}

func (h *Hub) recoverInto(err *error, op, deviceID string) {
	if r := recover(); r != nil {
		h.log.Error("push: handler panic", "op", op, "device", deviceID, "panic", r, "stack", string(debug.Stack()))
		*err = fmt.Errorf("handler %s panicked: %v", op, r)
	}
}
