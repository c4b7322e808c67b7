package wire

import "testing"

// The registration refusal codes are told apart from the general error
// codes, which an agent reports as a plain refusal.
func TestRegistrationRefusal(t *testing.T) {
	for code, want := range map[string]bool{
		ErrEnrollmentExpired:    true,
		ErrModelNotAllowed:      true,
		ErrAttestationUntrusted: true,
		ErrAlreadyRegistered:    true,
		ErrInvalidAttestation:   true,
		ErrState:                false,
		ErrInternal:             false,
		ErrBadMessage:           false,
		"":                      false,
		"something_new":         false,
	} {
		if got := RegistrationRefusal(code); got != want {
			t.Errorf("RegistrationRefusal(%q) = %v, want %v", code, got, want)
		}
	}
}
