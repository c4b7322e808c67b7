package push

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// errBadType is returned for push types that are not plain wire names.
var errBadType = errors.New("bad push type")

// encodePush builds the frame of a push: the envelope around data encoded
// once (wire.Envelope.Encode does not re-encode it the way json.Marshal of
// an Envelope would).
func encodePush(typ, id string, data any) ([]byte, error) {
	if !plainName(typ) {
		return nil, fmt.Errorf("%w %q", errBadType, typ)
	}
	var raw []byte
	switch d := data.(type) {
	case nil:
	case json.RawMessage:
		raw = d
	case wire.SessionRevoke:
		raw = d.AppendJSON(make([]byte, 0, 32+len(d.SessionID)+len(d.Reason)))
	default:
		var err error
		if raw, err = json.Marshal(d); err != nil {
			return nil, fmt.Errorf("encode %s: %w", typ, err)
		}
	}
	if string(raw) == "null" {
		raw = nil
	}
	// Frame: a push larger than the agent reads fails here rather than
	// close the channel, to be pushed again at the next hello.
	b, err := wire.Envelope{V: wire.Version, Type: typ, ID: id, Data: raw}.Frame()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return b, nil
}

// plainName reports whether s is a non-empty message type made of
// characters that need no JSON escaping (all wire types are).
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '.', ch == '_', ch == '-':
		default:
			return false
		}
	}
	return true
}

// errorFrame encodes an error message answering re.
func errorFrame(re, code, msg string) []byte {
	if len(re) > maxEchoedID {
		re = "" // see maxEchoedID
	}
	env, err := wire.New(wire.TypeError, "", re, wire.Error{Code: code, Message: msg})
	if err != nil {
		panic(err) // wire.Error always marshals
	}
	return mustMarshal(env)
}

// maxEchoedID is the longest message ID an error answers by: the agent's
// IDs are a letter and a counter. One longer is a kiosk's mistake (or
// worse), and an error echoing an ID of nearly 64 KiB would pass the
// agent's read limit, which closes the channel.
const maxEchoedID = 256

func mustMarshal(env wire.Envelope) []byte {
	b, err := env.Encode()
	if err != nil {
		// Only Data can fail, and it came from json.Marshal already.
		panic(fmt.Sprintf("push: marshal envelope: %v", err))
	}
	return b
}

// decodeErrorCode picks the error code for a frame wire.Decode refused and
// the ID to answer, when the frame has one.
func decodeErrorCode(frame []byte) (code, re string) {
	var probe struct {
		V    int             `json:"v"`
		ID   json.RawMessage `json:"id"`
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(frame, &probe); err != nil {
		return wire.ErrBadMessage, ""
	}
	var id string
	_ = json.Unmarshal(probe.ID, &id) // a non-string ID is not echoed
	if probe.V != wire.Version && len(probe.Type) > 0 {
		return wire.ErrVersion, id
	}
	return wire.ErrBadMessage, id
}
