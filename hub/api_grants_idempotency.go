package hub

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// The headers of an idempotent POST /grants (draft-ietf-httpapi-
// idempotency-key-header; Stripe's API answers a replay the same way).
const (
	idempotencyKeyHeader = "Idempotency-Key"
	// replayedHeader marks an answer that repeats what the key's first
	// request got: no grant was made for this one.
	replayedHeader = "Idempotent-Replayed"
)

// maxIdempotencyKey is the longest idempotency key taken, in bytes: a
// UUID is 36, and Stripe's limit is 255.
const maxIdempotencyKey = 255

// grantKey is the idempotency key of a POST /grants and the fingerprint
// of its body, which readGrantKey hashes as the body is read.
type grantKey struct {
	caller, key string
	body        hash.Hash
}

// readGrantKey reads the Idempotency-Key header of r, a request from a:
// nil without one, a 400 error when it is not a key (1 to 255 printable
// ASCII characters, sent once). With a key, r's body is hashed as it is
// read: its fingerprint is complete once the handler has read it whole.
//
// The key is taken as sent, so a key sent as the draft's structured-field
// string ("…", quotes included) and one sent bare, as Stripe's clients
// do, both work as long as the retries send it alike.
func readGrantKey(r *http.Request, a lifecycle.Actor) (*grantKey, error) {
	vs := r.Header.Values(idempotencyKeyHeader)
	if len(vs) == 0 {
		return nil, nil
	}
	if len(vs) > 1 {
		return nil, errors.Join(errBadRequest, errors.New("send one "+idempotencyKeyHeader+" header, not several"))
	}
	if err := checkIdempotencyKey(vs[0]); err != nil {
		return nil, err
	}
	k := &grantKey{caller: grantKeyCaller(a), key: vs[0], body: sha256.New()}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, k.body), r.Body}
	return k, nil
}

// checkIdempotencyKey refuses a key that is empty, longer than
// maxIdempotencyKey, or holds anything but printable ASCII: a key is an
// opaque string a client made, most often a UUID, and one with control
// characters or other bytes would end up in the hub's log and errors.
func checkIdempotencyKey(key string) error {
	const want = "1 to 255 printable ASCII characters, such as a UUID"
	switch {
	case key == "":
		return errors.Join(errBadRequest, errors.New(idempotencyKeyHeader+" is empty: send "+want+", or no header"))
	case len(key) > maxIdempotencyKey:
		return errors.Join(errBadRequest, fmt.Errorf("%s is %d bytes long: send %s", idempotencyKeyHeader, len(key), want))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return errors.Join(errBadRequest, fmt.Errorf("%s has a byte that is not printable ASCII (0x%02x at %d): send %s", idempotencyKeyHeader, key[i], i, want))
		}
	}
	return nil
}

// grantKeyCaller is whose keys a request of a uses: an API token's by its
// ID (its name is not unique, nor kept by a rotated token: a key of one
// token never matches another's), a console account's by its actor name
// (account names never change, and are unique).
func grantKeyCaller(a lifecycle.Actor) string {
	if id, ok := token.ActorID(a.Name); ok && a.System == "api" {
		return "token:" + id
	}
	return a.Name
}

// request is k as the engine takes it; its fingerprint is that of the
// body read so far.
func (k *grantKey) request() lifecycle.GrantRequest {
	return lifecycle.GrantRequest{Caller: k.caller, Key: k.key, Fingerprint: k.body.Sum(nil)}
}

// replayGrant answers a POST /grants whose key k (nil: none) made a
// grant already with that grant, as its first request was answered, and
// reports whether it did; a key sent before with another body is 422. It
// is asked before the request is checked, so that a retry gets its grant
// back even when the request would not be granted now (its end passed,
// its user deleted meanwhile).
func (s *Server) replayGrant(w http.ResponseWriter, r *http.Request, k *grantKey) (bool, error) {
	if k == nil {
		return false, nil
	}
	g, err := s.engine.GrantMade(r.Context(), k.request())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return true, grantKeyError(w, err)
	}
	return true, s.writeReplayedGrant(w, r, g)
}

// writeReplayedGrant answers a request whose key made grant g before: 201
// with g as it is now (revoked or over since, it says so), marked as a
// replay.
func (s *Server) writeReplayedGrant(w http.ResponseWriter, r *http.Request, g store.Grant) error {
	u, err := s.st.GetUser(r.Context(), g.UserID)
	if err != nil {
		return err
	}
	w.Header().Set(replayedHeader, "true")
	writeAPIJSON(w, http.StatusCreated, toAPIGrant(g, u.UserName))
	return nil
}

// grantKeyError answers lifecycle.ErrKeyReused (422, the draft's status
// for a key reused with another body) and returns other errors for
// writeAPIError.
func grantKeyError(w http.ResponseWriter, err error) error {
	if !errors.Is(err, lifecycle.ErrKeyReused) {
		return err
	}
	writeAPIJSON(w, http.StatusUnprocessableEntity, apiError{userMessage(err)})
	return nil
}
