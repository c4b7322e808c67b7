// Package authenticator owns the kiosk agent's side of WebAuthn: the Authenticator interface a
// FIDO2 badge is reached through, Soft, a software badge that produces genuine CTAP2 data, and
// the WebAuthn client (Register, Authenticate) that turns a relying party's options into the
// PublicKeyCredential JSON the hub verifies.
//
// The agent is the WebAuthn client: it builds clientDataJSON itself (origin = the hub's public
// URL) and sends the result over its device channel. Nothing here imports hub packages; the
// only shared vocabulary is go-webauthn's protocol types.
//
// # Soft badges
//
// A soft badge NAME lives in DIR/NAME.json (mode 0600, DIR created with mode 0700 and fsynced
// into its parent), written atomically (temporary file, fsync, rename, fsync of DIR) whenever
// it changes; a write also removes the temporary files of earlier writes of the badge that a
// crash left behind. The file is created on the badge's first registration. It holds private
// keys, so a badge file that group or others may read or write, or that is not a regular file
// (a symbolic link included), is refused (ErrInvalidBadge) until it is chmod 600 again; so is
// every badge of a DIR that group or others may write (they could rename their own file over a
// badge), until chmod 700 DIR. A badge file or DIR owned by another user than the agent's or
// root is refused as well (its owner may chmod it), until it is chowned back. Format, version 1
// (unknown fields are rejected):
//
//	{
//	  "version": 1,
//	  "aaguid": "5f0a6c7e-3b1d-4c9a-9e2f-8d4b7a1c6e35",
//	  "userVerification": false,        // badge has a PIN/biometric: UV flag, UVRequired allowed
//	  "attestation": "packed",          // "packed" (self attestation) or "none"
//	  "transports": ["nfc"],
//	  "credentials": [{
//	    "id": "<base64url, 32 random bytes>",
//	    "rpId": "shiftgate.example",
//	    "userHandle": "<base64url, 1..64 bytes>",
//	    "userName": "ana", "userDisplayName": "Ana Ruiz",
//	    "discoverable": true,            // resident key: found by a login with no allow list
//	    "privateKey": "<base64url, P-256 scalar, 32 bytes>",
//	    "signCount": 7                   // last counter used; incremented on every assertion
//	  }]
//	}
//
// Registrations produce authenticator data with rpIdHash, flags UP|AT (plus UV when the badge
// verifies the user; BE and BS are always clear, as for a hardware key), sign counter 0, the
// AAGUID, and an ES256 COSE_Key whose x and y are always 32 bytes (left-padded); the
// attestation object is CTAP2-canonical CBOR. Assertions increment the credential's counter
// and persist it before the signature is returned.
//
// # Simulating a cloned key
//
// Copy the badge file, then use both copies:
//
//	cp DIR/ana.json DIR/ana-clone.json    // or into another soft:DIR with the same name
//	tap ana          // counter n+1: accepted
//	tap ana-clone    // counter n+1 again: not above the hub's stored n+1
//
// The copy carries the same credential and counter, so the second badge to sign repeats (or
// goes below) a counter the hub has already seen. go-webauthn reports that by setting
// Credential.Authenticator.CloneWarning in the result of ValidateLogin /
// ValidateDiscoverableLogin; the hub must then suspend the credential.
package authenticator
