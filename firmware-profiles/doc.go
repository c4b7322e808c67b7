// Package profiles owns the kiosk hardware profiles: one JSON file per kiosk
// hardware model (authenticator transports and badge reader, the authenticator
// models allowed, user-verification policy per role, idle and session limits,
// display geometry, the apps each role may launch, and the ordered teardown
// steps), plus the code that loads and validates them.
//
// The built-in profiles live next to this file and are embedded in the binary;
// [Builtin] and [Get] return them. [Load] and [LoadDir] read profiles from disk.
// Every entry point validates completely: a [*ValidationError] lists every
// problem at once, each naming the file, the field path (for example
// apps.Nurse[1].command) and what is wrong.
//
// A [Profile] is immutable once returned; it is safe for concurrent use by
// the hub (AAGUID allow-list and user-verification rules at registration and
// login) and the agent (apps, timeouts, display, teardown).
package profiles
