// Package sim is the engine of shiftgate-sim: many virtual kiosks, each with
// its own device certificate, device channel and software FIDO2 badge, in
// one process, driving a real hub for load tests and benchmarks.
//
// A run has two parts. Setup brings the world to the state a scenario needs
// and is idempotent where that is cheap: it enrolls the kiosks (one-time
// code, CSR, certificate), creates their users over SCIM, puts them in a
// role group, connects every kiosk and registers one credential per user
// (enrollment API, then the kiosk answers enroll.start with a registration).
// What it created is remembered in the state directory (state.json plus one
// badge file per user), so a second run against the same hub only connects.
// Then a Scenario runs its rounds and returns a Result.
//
// Each kiosk costs one reader goroutine and a WebSocket with small buffers;
// writes happen on the caller's goroutine under a per-kiosk mutex, and a
// session.revoke is acknowledged by the reader the moment it arrives, so the
// timestamp of that write is the kiosk's ack time. A badge is only ever
// used by one goroutine at a time: the hub treats a counter regression as a
// cloned key.
//
// The package talks to the hub only over HTTPS and the wire protocol
// (agent/wire); it never imports hub code.
package sim
