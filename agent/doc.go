// Package agent is the kiosk agent core: enrollment of the kiosk with its
// hub, the device channel client (Client), and the session state machine
// (Agent) that turns taps, sign-outs, hub pushes and the clock into sessions
// that start, warn, expire and end. It has no GUI: the headless binary
// (cmd/shiftgate-agent) and the Fyne kiosk UI both drive it through
// Agent.Tap and Agent.Signout and render its Events. With a badge reader
// (Config.Reader, e.g. the libfido2 device poller of the fido2 build) the
// Agent also turns badges presented on the kiosk into taps itself.
//
// The package never imports hub code: the two sides share only the wire
// protocol in agent/wire. See agent/README.md for the protocol flows, the
// state directory's files and the events.
package agent
