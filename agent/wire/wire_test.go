package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
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

// decodeRef is Decode as it was before decodeFast: encoding/json alone,
// with the check for lone surrogates (LoneSurrogate, fuzzed against
// encoding/json in hub/store) made on the whole frame.
func decodeRef(frame []byte) (Envelope, error) {
	var e Envelope
	if len(frame) > MaxMessageBytes {
		return e, ErrTooLarge
	}
	if err := json.Unmarshal(frame, &e); err != nil {
		return e, err
	}
	if _, lone := LoneSurrogate(frame); !utf8.Valid(frame) || lone || e.Type == "" || e.V != Version {
		return e, ErrMalformed
	}
	return e, nil
}

// TestDecodeFastPath: the frames Encode writes take the fast path, and
// near misses take encoding/json's with the same outcome.
func TestDecodeFastPath(t *testing.T) {
	login, err := New(TypeLogin, "r7", "", map[string]any{"credential": map[string]any{"id": "AQID", "response": map[string]string{"clientDataJSON": "e30"}}, "n": []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Envelope{
		login,
		{V: Version, Type: TypeAck, Re: "p9"},
		{V: Version, Type: TypeSessionRevoke, ID: "3fa-1z", Data: json.RawMessage(`{"session_id":"s","reason":"deprovisioned","x":"a\"}b"}`)},
		{V: Version, Type: TypeError, Re: "r1", Data: json.RawMessage(`[{"a":[]},"]"]`)},
	} {
		frame, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeFast(frame)
		if !ok {
			t.Errorf("%s: not taken by the fast path", frame)
			continue
		}
		ref, err := decodeRef(frame)
		if err != nil || !equalEnvelope(got, ref) {
			t.Errorf("%s: fast %+v, encoding/json %+v (%v)", frame, got, ref, err)
		}
	}
	for _, frame := range []string{
		`{"v":1,"type":"ack","re":"p1"} `, `{"v":1, "type":"ack"}`, `{"V":1,"type":"ack"}`,
		`{"v":1,"type":"ack","type":"login"}`, `{"v":01,"type":"ack"}`, `{"v":1.0,"type":"ack"}`, `{"v":-1,"type":"ack"}`,
		`{"v":1,"type":"a\u0063k"}`, `{"v":1,"type":"ack","data":null}`, `{"v":1,"type":"ack","data":"x"}`,
		`{"v":1,"type":"ack","data":{"a":1}}}`, `{"v":1,"type":"ack","data":{"a":}}`, `{"v":1,"type":"ack","extra":1}`,
		`{"v":1,"type":"ack",}`, `{"v":1,"type":"é"}`, `{"v":1234567890,"type":"ack"}`, `{}`, `{"v":1,"type":"ack","data":{"a":"\"}"}}`,
	} {
		fast, fok := decodeFast([]byte(frame))
		got, err := Decode([]byte(frame))
		ref, rerr := decodeRef([]byte(frame))
		if (err != nil) != (rerr != nil) || err == nil && !equalEnvelope(got, ref) {
			t.Errorf("%s: Decode %+v, %v; encoding/json %+v, %v", frame, got, err, ref, rerr)
		}
		if fok && !equalEnvelope(fast, ref) {
			t.Errorf("%s: fast path took it as %+v, encoding/json reads %+v", frame, fast, ref)
		}
	}
}

func equalEnvelope(a, b Envelope) bool {
	return a.V == b.V && a.Type == b.Type && a.ID == b.ID && a.Re == b.Re && bytes.Equal(a.Data, b.Data)
}

// FuzzDecode: Decode gives encoding/json's answer for every frame, and
// whatever the fast path takes, encoding/json reads the same way.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"ack","re":"p1"}`))
	f.Add([]byte(`{"v":1,"type":"session.revoke","id":"x-1","data":{"session_id":"s","reason":"expired"}}`))
	f.Add([]byte(`{"data":[1,{"a":"}"}],"re":"","v":1,"type":"t"}`))
	f.Add([]byte(`{"v":1,"type":"ack","type":"x"}`))
	f.Add([]byte(`{"v":1,"type":"ack","data":{"a":"\\"}}`))
	f.Add([]byte("{\"v\":1,\"type\":\"ack\",\"data\":{\"a\":\"\xff\"}}"))
	f.Add([]byte(`{"v":1,"type":"ack","data":{"a":"\ud800","b":"\ud83d\ude00"}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, err := Decode(frame)
		ref, rerr := decodeRef(frame)
		if (err != nil) != (rerr != nil) {
			t.Fatalf("Decode err %v, encoding/json err %v", err, rerr)
		}
		if err == nil && !equalEnvelope(got, ref) {
			t.Fatalf("Decode %+v, encoding/json %+v", got, ref)
		}
		if fast, ok := decodeFast(frame); ok {
			var e Envelope
			if err := json.Unmarshal(frame, &e); err != nil || !equalEnvelope(fast, e) {
				t.Fatalf("fast path %+v, encoding/json %+v (%v)", fast, e, err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, frame string }{
		{"ack", `{"v":1,"type":"ack","re":"3fa9c2d81b0e-7yk"}`},
		{"revoke", `{"v":1,"type":"session.revoke","id":"3fa9c2d81b0e-7yk","data":{"session_id":"0b1d5e0c-7b7e-4c57-9a39-2b8f5b7c9d11","reason":"entitlement_removed"}}`},
	} {
		frame := []byte(c.frame)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzSessionRevokeAppendJSON: AppendJSON writes what json.Marshal does.
func FuzzSessionRevokeAppendJSON(f *testing.F) {
	f.Add("0b1d5e0c-7b7e-4c57", ReasonDeprovisioned)
	f.Add("a\"<b>&\u2028", "\xff\x00")
	f.Fuzz(func(t *testing.T, id, reason string) {
		r := SessionRevoke{SessionID: id, Reason: reason}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON([]byte("x")); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("AppendJSON %s, json.Marshal %s", got, want)
		}
	})
}
