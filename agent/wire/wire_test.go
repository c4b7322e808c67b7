package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// TestEncode: Encode writes what json.Marshal writes, for the envelopes
// New makes and for strings that need escaping.
func TestEncode(t *testing.T) {
	grant, err := New(TypeSessionGrant, "", "a17", SessionGrant{SessionID: "s-1", User: "jo", Apps: []string{"wms"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Envelope{
		grant,
		{V: Version, Type: TypeAck, Re: "p9"},
		{V: Version, Type: TypeSessionRevoke, ID: "p1", Data: json.RawMessage(`{"session_id":"s","reason":"deprovisioned"}`)},
		{V: 2, Type: "x<y>&z", ID: "\u2028\"\\\x00", Re: "é\xff"},
		{V: -3},
	} {
		got, err := e.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", e, err)
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Encode(%+v)\n got %s\nwant %s", e, got, want)
		}
	}
}

// TestEncodeRefusesBadData: data that is not JSON is an error, as it is
// for json.Marshal, never a frame the peer cannot read.
func TestEncodeRefusesBadData(t *testing.T) {
	for _, d := range []string{`{"a":`, `nope`, `{} {}`} {
		_, err := Envelope{V: Version, Type: TypeAck, Data: json.RawMessage(d)}.Encode()
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("data %q: err %v, want ErrMalformed", d, err)
		}
	}
}

// FuzzEncode: for any envelope, Encode's frame decodes to the same
// envelope, and it is json.Marshal's frame whenever the data is as
// json.Marshal writes it (compact, HTML characters escaped).
func FuzzEncode(f *testing.F) {
	f.Add(1, "ack", "", "p1", []byte(nil))
	f.Add(1, "session.revoke", "p2", "", []byte(`{"session_id":"s"}`))
	f.Add(1, "login", "a1", "", []byte(` { "x" : [1, 2] } `))
	f.Add(7, "<&>", "\u2029", "\xff", []byte(`"\u00e9"`))
	f.Add(1, "x", "", "", []byte(`{`))
	f.Fuzz(func(t *testing.T, v int, typ, id, re string, data []byte) {
		e := Envelope{V: v, Type: typ, ID: id, Re: re, Data: data}
		got, err := e.Encode()
		want, merr := json.Marshal(e)
		if (err != nil) != (merr != nil) {
			t.Fatalf("Encode err %v, json.Marshal err %v", err, merr)
		}
		if err != nil {
			return
		}
		var c bytes.Buffer
		if len(data) > 0 {
			if err := json.Compact(&c, data); err != nil {
				t.Fatal(err)
			}
		}
		var canon bytes.Buffer
		json.HTMLEscape(&canon, c.Bytes())
		if bytes.Equal(canon.Bytes(), data) && !bytes.Equal(got, want) {
			t.Fatalf("Encode %s, json.Marshal %s", got, want)
		}
		var back, ref Envelope
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("Encode wrote %q, which does not decode: %v", got, err)
		}
		if err := json.Unmarshal(want, &ref); err != nil {
			t.Fatal(err)
		}
		var bc bytes.Buffer
		if len(back.Data) > 0 {
			_ = json.Compact(&bc, back.Data)
		}
		back.Data, ref.Data = bc.Bytes(), nil
		if len(back.Data) == 0 {
			back.Data = nil
		}
		if c.Len() > 0 {
			ref.Data = c.Bytes()
		}
		if back.V != ref.V || back.Type != ref.Type || back.ID != ref.ID || back.Re != ref.Re || !bytes.Equal(back.Data, ref.Data) {
			t.Fatalf("Encode's frame decodes to %+v, json.Marshal's to %+v", back, ref)
		}
	})
}
