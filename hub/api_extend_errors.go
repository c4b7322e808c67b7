package hub

import (
	"errors"
	"strings"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// apiMessage is an error the API answers with msg, its status still told
// by the sentinels err wraps (writeAPIError).
type apiMessage struct {
	err error
	msg string
}

func (e apiMessage) Error() string { return e.msg }
func (e apiMessage) Unwrap() error { return e.err }

// userChangeError is what the API answers for a change to the user the
// caller named userName (an extension, its shifts set) that the engine
// refused. The engine's error names the user by its internal ID ("extend
// shift of 0193…: invalid request: …", "set shifts of 0193…: user 0193…:
// not found"), which the caller never gave and cannot look up: a refusal
// keeps what follows the sentinel, which names the user by userName where
// it names the user at all, as the console's error pages do; a user
// deleted after the handler found it is the 404 the handler's own lookup
// gives. Any other error (the store busy or full, a bug) is left as it
// is: its answer names no user.
func userChangeError(err error, userName string) error {
	first, _, _ := strings.Cut(err.Error(), "\n")
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The engine read the user as deleted: the other records an
		// extension or a change of shifts reads by ID, console accounts
		// and the kiosks of the user's sessions, are disabled, never
		// deleted.
		return errors.Join(store.ErrNotFound, errors.New("no user "+userName))
	case errors.Is(err, lifecycle.ErrInvalid):
		return apiMessage{err, afterSentinel(first, lifecycle.ErrInvalid)}
	case errors.Is(err, governance.ErrForbidden):
		return apiMessage{err, afterSentinel(first, governance.ErrForbidden)}
	}
	return err
}

// afterSentinel is what follows "SENTINEL: " in msg, the detail that
// says what to fix; msg when it holds none.
func afterSentinel(msg string, sentinel error) string {
	if _, rest, ok := strings.Cut(msg, sentinel.Error()+": "); ok && rest != "" {
		return rest
	}
	return msg
}
