package push

import (
	"context"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// FuzzHandle feeds arbitrary frames to a connection's message handling
// (no socket): it must never panic, and everything it queues for the agent
// must be a valid envelope.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"echo","id":"1","data":{"a":1}}`,
		`{"v":1,"type":"ack","re":"p1"}`,
		`{"v":1,"type":"ack","re":"nope"}`,
		`{"v":1,"type":"hello","id":"h","data":{}}`,
		`{"v":1,"type":"panic","id":"x"}`,
		`{"v":1,"type":"fail"}`,
		`{"v":1,"type":"safe","id":"s"}`,
		`{"v":1,"type":"quiet"}`,
		`{"v":1,"type":"error","re":"q","data":{"code":"x"}}`,
		`{"v":2,"type":"echo","id":"v"}`,
		`{"v":1,"id":{}}`,
		`{"v":1,"type":"echo","id":"\u0000\"","data":null}`,
		`null`, `[]`, `"`, ``, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	h := New(Config{Handler: newRecorder(), SendQueue: 16})
	h.handler = fuzzHandler{}
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := h.newConn(context.Background(), "kiosk-fuzz", nil)
		defer c.cancel()
		_ = c.addPending(Push{ID: "p1", DeviceID: "kiosk-fuzz", Type: wire.TypeSessionRevoke})
		c.handle(frame)
		c.handle(frame) // twice: the ack case changes state
		c.workers.Wait()
		for {
			select {
			case out := <-c.send:
				env, err := wire.Decode(out)
				if err != nil {
					t.Fatalf("queued an invalid frame %q: %v", out, err)
				}
				if env.Type == wire.TypeError {
					var e wire.Error
					if err := env.Unmarshal(&e); err != nil || e.Code == "" {
						t.Fatalf("error frame %q without a code", out)
					}
				}
			default:
				return
			}
		}
	})
}

// fuzzHandler is the recorder's request behaviour without recording.
type fuzzHandler struct{}

func (fuzzHandler) Hello(context.Context, string, wire.Hello) (wire.Welcome, error) {
	return wire.Welcome{}, nil
}

func (fuzzHandler) Request(ctx context.Context, _ string, env wire.Envelope) (wire.Envelope, error) {
	if env.Type == "sleep" {
		return wire.Envelope{}, nil
	}
	return defaultRequest(ctx, env)
}
func (fuzzHandler) Acked(string, Push, time.Time) {}
func (fuzzHandler) Disconnected(string)           {}
