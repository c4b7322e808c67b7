package certs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/certs"
)

// A hub CA whose files are both there but unusable (a key file that does
// not decode, a certificate that does not, a key of another CA) keeps the
// hub from starting, as before, and the error says what to do: restore
// both files from the backup, since every kiosk's certificate chains to
// this CA; only as a last resort a new CA. Without the advice an operator
// got "decode private key PEM: no PEM block found" and no way forward.
// A CA that has expired, or is not valid yet by this clock, is not
// damaged: a backup holds the same, and its error does not send the
// operator to one.
func TestLoadOrCreateHubDamagedCASaysRestore(t *testing.T) {
	const advice = "restore "
	write := func(t *testing.T, path string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		break_     func(t *testing.T, dir string)
		wantErr    string
		wantAdvice bool
	}{
		{
			name:       "CA key empty",
			break_:     func(t *testing.T, dir string) { write(t, filepath.Join(dir, certs.CAKeyFile), nil) },
			wantErr:    "no PEM block found",
			wantAdvice: true,
		},
		{
			name:       "CA certificate garbled",
			break_:     func(t *testing.T, dir string) { write(t, filepath.Join(dir, certs.CACertFile), []byte("not PEM\n")) },
			wantErr:    "no CERTIFICATE block found",
			wantAdvice: true,
		},
		{
			name: "CA key of another CA",
			break_: func(t *testing.T, dir string) {
				if err := certs.WriteKeyFile(filepath.Join(dir, certs.CAKeyFile), p256Key(t)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:    "CA key does not match",
			wantAdvice: true,
		},
		{
			name:    "CA expired",
			break_:  func(*testing.T, string) {}, // loaded ten years on
			wantErr: "CA certificate expired",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustHub(t, dir, nil, t0)
			tt.break_(t, dir)
			before := fileModes(t, dir)

			now := t0
			if !tt.wantAdvice {
				now = t0.Add(certs.CALifetime)
			}
			_, err := certs.LoadOrCreateHub(dir, nil, now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			msg := err.Error()
			if got := strings.Contains(msg, advice); got != tt.wantAdvice {
				t.Errorf("err = %v: advises a restore: %v, want %v", err, got, tt.wantAdvice)
			}
			if tt.wantAdvice {
				for _, f := range []string{certs.CACertFile, certs.CAKeyFile, "backup", "enroll again"} {
					if !strings.Contains(msg, f) {
						t.Errorf("err = %v, want it to name %q", err, f)
					}
				}
			}
			if diff := cmp.Diff(before, fileModes(t, dir)); diff != "" {
				t.Errorf("refusal changed the data dir (-before +after):\n%s", diff)
			}
		})
	}
}
