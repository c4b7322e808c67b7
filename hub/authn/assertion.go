package authn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
)

// assertionJSON is protocol.CredentialAssertionResponse with its binary
// members as base64url (below).
//
// go-webauthn's ParseCredentialRequestResponseBytes reads the assertion
// through a json.Decoder, and each of its five base64url members runs a
// json.Unmarshal of its own, so the bytes are scanned several times over.
// Every kiosk login comes through here, so parseAssertion scans the JSON
// once and then hands go-webauthn's own Parse the same
// CredentialAssertionResponse, which makes every check of the credential's
// shape. FuzzParseAssertion holds the two to the same results.
type assertionJSON struct {
	ID                      string                                         `json:"id"`
	Type                    string                                         `json:"type"`
	RawID                   base64url                                      `json:"rawId"`
	ClientExtensionResults  protocol.AuthenticationExtensionsClientOutputs `json:"clientExtensionResults"`
	AuthenticatorAttachment string                                         `json:"authenticatorAttachment"`
	Response                struct {
		ClientDataJSON    base64url `json:"clientDataJSON"`
		AuthenticatorData base64url `json:"authenticatorData"`
		Signature         base64url `json:"signature"`
		UserHandle        base64url `json:"userHandle"`
	} `json:"response"`
}

// base64url decodes as protocol.URLEncodedBase64 does: null leaves it as
// it was, a string is base64url with optional padding, anything else is an
// error. encoding/json has validated the whole document before it calls
// UnmarshalJSON, so a string without escapes is the text between its
// quotes.
type base64url []byte

var errBase64URLNotString = errors.New("base64url value is not a JSON string")

func (b *base64url) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errBase64URLNotString
	}
	s := data[1 : len(data)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		s = []byte(v)
	}
	s = bytes.TrimRight(s, "=")
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Decode(out, s)
	if err != nil {
		return err
	}
	*b = out[:n]
	return nil
}

// parseAssertion parses a kiosk's assertion (a PublicKeyCredential in its
// JSON form) as protocol.ParseCredentialRequestResponseBytes does.
func parseAssertion(data []byte) (*protocol.ParsedCredentialAssertionData, error) {
	var a assertionJSON
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, protocol.ErrBadRequest.WithDetails("Parse error for Assertion").WithInfo(err.Error()).WithError(err)
	}
	var car protocol.CredentialAssertionResponse
	car.ID, car.Type, car.RawID = a.ID, a.Type, protocol.URLEncodedBase64(a.RawID)
	car.ClientExtensionResults = a.ClientExtensionResults
	car.AuthenticatorAttachment = a.AuthenticatorAttachment
	r := &car.AssertionResponse
	r.ClientDataJSON = protocol.URLEncodedBase64(a.Response.ClientDataJSON)
	r.AuthenticatorData = protocol.URLEncodedBase64(a.Response.AuthenticatorData)
	r.Signature = protocol.URLEncodedBase64(a.Response.Signature)
	r.UserHandle = protocol.URLEncodedBase64(a.Response.UserHandle)
	return car.Parse()
}
