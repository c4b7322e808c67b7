package hub_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store/storetest"
)

// A kiosk that dials while the database is locked by another process is
// not refused at the TLS handshake (bad_certificate, which the agent
// reports as its certificate refused, with advice to enroll it again):
// the handshake goes through, and the channel's hello is answered once
// the store can be read.
func TestDeviceHandshakeWhileStoreLocked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k := h.EnrollKiosk(t, "north-1", "north")
	release := storetest.HoldIndexRebuild(t, filepath.Join(h.DataDir, hub.DBFile))
	defer release()

	u, _ := url.Parse(h.URL)
	u.Scheme, u.Path = "wss", wire.WSPath
	// Longer than the store's busy timeout (5 s), which the handshake's
	// read of the device waits out.
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 30 * time.Second}
	conn, resp, err := d.DialContext(context.Background(), u.String(), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial while the store is locked: %v (HTTP %d); want the handshake to go through", err, status)
	}
	defer conn.Close()
	release()
	k.Conn = conn
	var w wire.Welcome
	k.Call(wire.TypeHello, wire.Hello{AgentVersion: "test", Profile: "generic-x86"}, wire.TypeWelcome, &w)
}
