package hub

import (
	"bytes"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// decodeLogin reads a login's data into l: as env.Unmarshal does, but
// without it for the form every agent sends, {"credential":{…}} with
// nothing else. The credential is most of a login frame, and by the time
// the hub answers it, it has been scanned in full by wire.Decode (which
// validates the frame), and is scanned again by the assertion's parser:
// env.Unmarshal's pass, which validated it once more and then skipped over
// it to copy it out, was a fifth of a login's JSON work. Anything else
// (whitespace, another member, a key spelled otherwise, a credential that
// is not an object) goes through env.Unmarshal, which decides as before.
func decodeLogin(env wire.Envelope, l *wire.Login) error {
	if cred, ok := plainLogin(env.Data); ok {
		l.Credential = cred
		return nil
	}
	return env.Unmarshal(l)
}

// plainLogin returns the credential of data if data is exactly
// {"credential":OBJECT}, and false otherwise. OBJECT's end is found by its
// brackets, skipping strings; its contents are left to the assertion's
// parser, as encoding/json leaves those of a json.RawMessage (data comes
// from wire.Decode, valid JSON).
func plainLogin(data []byte) (cred []byte, ok bool) {
	const prefix = `{"credential":`
	if !bytes.HasPrefix(data, []byte(prefix)) || len(data) < len(prefix)+3 || data[len(prefix)] != '{' || data[len(data)-1] != '}' {
		return nil, false
	}
	depth := 0
	for i := len(prefix); i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if i != len(data)-2 {
					return nil, false
				}
				return data[len(prefix) : i+1], true
			}
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		}
	}
	return nil, false
}
