// Package push owns the hub side of the device channel (/agent/v1/ws): one
// long-lived WebSocket per kiosk over mutual TLS, the fan-out of pushes such
// as session.revoke to connected kiosks, and the bookkeeping of their acks.
//
// # Channel lifecycle
//
//  1. Upgrade. Hub.ServeHTTP insists on a verified device certificate
//     (certs.RequireDeviceCert; 401 otherwise) and upgrades the request.
//     Unknown or disabled devices never get this far: the TLS handshake
//     already refused them. The channel's context, which the Handler's
//     methods get, carries the certificate (PeerCertificate).
//  2. Hello. The first frame must be a hello, within 10 s. Anything else is
//     answered with an error message and the channel is closed with a
//     policy-violation close code. The hello then waits for one of
//     Config.MaxHellos slots (by default as many as the SQLite store has
//     readers), which it holds from Admit to the end of Hello: when a hub
//     restarts, every kiosk says hello within seconds, and unbounded they
//     would all queue on the store and all answer late. A hello that gets
//     no slot within Config.HelloWait (5 s, and never past the 10 s) is
//     refused with wire.ErrInternal, "the hub is busy", and close code
//     1013 (try again later); it never reached the handler and the
//     device's current channel stays up. The agent retries with its
//     backoff. A Handler that is an Admitter is then asked whether the
//     hello may open the channel at all; a refusal is answered and
//     closed like a refused Hello, and the device's current channel
//     stays up. The connection is then registered for its
//     device before Handler.Hello runs, closing an older connection of the
//     same device (close code 1008, "replaced"). Older means taken up
//     earlier by ServeHTTP, whichever hello comes first: a kiosk that
//     reconnects may have two connections for a moment, and a late hello
//     on the one it gave up is closed as replaced instead of taking the
//     channel from the live one, also when the newer one has ended
//     meanwhile (the kiosk listens on neither; its next connection is
//     newer than both). Pushes made while Hello
//     runs are queued behind the welcome, so a revocation that happens
//     between Hello's verdict and the welcome is still delivered.
//  3. Welcome. Handler.Hello's answer goes out as the first frame (Re = the
//     hello's ID). A welcome carrying a Revoke verdict gets its own ID and
//     is tracked like a session.revoke push: the agent's ack (Re = the
//     welcome's ID) reaches Handler.Acked.
//  4. Running. Each connection has one reader goroutine (started by
//     ServeHTTP, which returns after the upgrade so that net/http frees
//     what it held for the request) and one writer goroutine that owns
//     every write, pings included. The reader decodes frames, answers
//     malformed ones with an error message, hands acks of outstanding
//     pushes to Handler.Acked and queues every other message for
//     Handler.Request (an error answering an outstanding push settles it
//     first: it is answered, not acked). Requests of one connection run
//     one at a time, in order, on a worker goroutine that exists only
//     while requests are waiting, so acks and pongs are never stuck
//     behind a slow request. Hub.Push encodes the frame once, records
//     the push as outstanding and hands the frame to the writer without
//     blocking.
//  5. End. A channel ends when the peer goes away, when it is silent for
//     wire.PongWait, when a write takes longer than wire.WriteWait, when its
//     send queue overflows (a slow kiosk must never hold up a fan-out: it
//     reconnects and learns its verdict from the welcome), on
//     Hub.Disconnect or Hub.DisconnectChannel, when a newer connection of
//     the same device replaces it, and on Hub.Close. Outstanding pushes of
//     a closed channel are forgotten. Handler.Disconnected is then called
//     once, unless the connection was replaced (or refused at admission,
//     or admitted after a newer connection of the device: it never had
//     a Hello). A Handler that is a Leaver is told first, by Leaving:
//     a channel that was not replaced is still in the registry then, so
//     that what it records there is done before Connected turns false;
//     a replaced one left the registry when the newer one took its
//     place, and is told all the same.
//
// # Cost
//
// The hot path takes only a read lock: connections live in a map behind an
// RWMutex (a mass revoke reads it ten thousand times in a row) and
// outstanding pushes in a small per-connection map. An idle connection holds
// its TLS state, a 1 KiB read buffer, two small goroutine stacks and no
// write buffer (write buffers come from a pool for the duration of a
// flush); none of net/http's per-request buffers, nor the stack the TLS
// handshake grew (about 20 KiB a connection).
package push
