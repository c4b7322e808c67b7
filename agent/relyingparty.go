package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// ErrForeignRelyingParty means the hub asked the kiosk to sign a WebAuthn
// challenge or registration for an origin or relying party ID other than
// the one pinned in its state.json (RelyingParty). Test with errors.Is.
var ErrForeignRelyingParty = errors.New("not this kiosk's relying party")

// RelyingParty is the one WebAuthn relying party a kiosk signs for: the
// origin it puts in clientDataJSON and the RP ID whose credentials it asks
// a badge to use. A browser takes both from the page it shows; the agent
// has no page, so it takes them from the hub URL given to enroll (the
// hub's RP ID is its --public-url host, its origin that URL's
// scheme://host[:port]) and keeps them in state.json. Without the pin a
// hub, or whoever speaks as it, could have a worker's roaming security key
// sign an assertion for another site the key is registered at, the kiosk
// acting as a phishing relay.
type RelyingParty struct {
	Origin string // https://host[:port], lower case, no default port
	ID     string // the RP ID: the origin's host
}

// hubRelyingParty is the relying party of the hub at hub (a parsed hub
// URL): its origin and host, as the hub derives its own from --public-url.
func hubRelyingParty(hub *url.URL) RelyingParty {
	return RelyingParty{Origin: normalOrigin(hub), ID: strings.ToLower(hub.Hostname())}
}

// RelyingParty is the relying party the kiosk of e signs for: state.json's
// origin and rp_id, or, for an enrollment made before they were written
// (an agent upgraded in place), the ones derived from its hub_url as
// Enroll derives them now. The hub URL was checked against the hub's CA
// when the kiosk enrolled, so the derivation trusts nothing the hub says
// later.
func (e Enrollment) RelyingParty() (RelyingParty, error) {
	if e.Origin == "" && e.RPID == "" {
		hub, err := parseHubURL(e.HubURL)
		if err != nil {
			return RelyingParty{}, err
		}
		return hubRelyingParty(hub), nil
	}
	return parseRelyingParty(e.Origin, e.RPID)
}

// parseRelyingParty checks a pinned origin and RP ID as a browser checks a
// page's: an https origin, and an RP ID that is its host or a parent
// domain of it (authenticator.RPIDAllowed, the rule the badge's client
// applies to the hub's options, so that a pin Validate takes is one the
// client signs for and no other).
func parseRelyingParty(origin, rpID string) (RelyingParty, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return RelyingParty{}, fmt.Errorf("origin %q: want https://HOST[:PORT]", origin)
	}
	rp := RelyingParty{Origin: normalOrigin(u), ID: strings.ToLower(rpID)}
	if !authenticator.RPIDAllowed(rp.ID, u.Hostname()) {
		return RelyingParty{}, fmt.Errorf("rp_id %q is neither the host of origin %s nor a parent domain of it", rpID, origin)
	}
	return rp, nil
}

// normalOrigin is u's origin as compared: scheme and host in lower case,
// without the scheme's default port (https://hub:443 is https://hub).
func normalOrigin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if scheme == "https" && u.Port() == "443" {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	// u.Host is unescaped: an IPv6 zone's % is written back as %25, or
	// the origin pinned in state.json would not parse again.
	return scheme + "://" + strings.ReplaceAll(host, "%", "%25")
}

// allows checks that the hub's origin and WebAuthn options (request
// options, or creation options when create is set) are for rp: the same
// origin, and an RP ID (the options' own, or the origin's host when they
// name none, as a browser defaults it) equal to rp.ID. The error wraps
// ErrForeignRelyingParty, or says why the options could not be read.
func (rp RelyingParty) allows(origin string, options json.RawMessage, create bool) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: origin %q is not scheme://host[:port]", ErrForeignRelyingParty, origin)
	}
	if got := normalOrigin(u); got != rp.Origin {
		return fmt.Errorf("%w: origin %s, pinned %s", ErrForeignRelyingParty, got, rp.Origin)
	}
	id, err := optionsRPID(options, create)
	if err != nil {
		// Options whose RP ID cannot be read are for no relying party
		// the kiosk can vouch for.
		return fmt.Errorf("%w: %w", ErrForeignRelyingParty, err)
	}
	if id == "" {
		id = u.Hostname()
	}
	if id = strings.ToLower(id); id != rp.ID {
		return fmt.Errorf("%w: rp id %q, pinned %q", ErrForeignRelyingParty, id, rp.ID)
	}
	return nil
}

// optionsRPID is the RP ID the options name ("" for none): rpId of
// PublicKeyCredentialRequestOptions, rp.id of creation options, with or
// without go-webauthn's {"publicKey": …} wrapper (authenticator reads
// both).
func optionsRPID(options json.RawMessage, create bool) (string, error) {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &wrapped); err != nil {
		return "", fmt.Errorf("webauthn options: %w", err)
	}
	// As authenticator's decodeOptions does, to the byte: the RP ID
	// checked here is the one the badge is asked to use.
	if len(wrapped.PublicKey) > 0 && !bytes.Equal(wrapped.PublicKey, []byte("null")) {
		options = wrapped.PublicKey
	}
	var o struct {
		RPID string `json:"rpId"`
		RP   struct {
			ID string `json:"id"`
		} `json:"rp"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("webauthn options: %w", err)
	}
	if create {
		return o.RP.ID, nil
	}
	return o.RPID, nil
}

// signsFor checks, before a badge is asked to sign anything, that the hub's
// origin and options are for the kiosk's relying party (RelyingParty.allows;
// nil when a.rp is nil, a test's agent without an enrollment).
func (a *Agent) signsFor(origin string, options json.RawMessage, create bool) error {
	if a.rp == nil {
		return nil
	}
	return a.rp.allows(origin, options, create)
}

// foreignHint is logged with every refusal of ErrForeignRelyingParty: what
// an operator does about it when the hub is genuine.
const foreignHint = "if this hub is genuine and its --public-url is not the URL this kiosk enrolled with, " +
	"set origin and rp_id in the state directory's state.json to that URL and its host, or enroll the kiosk again with --hub set to it"
