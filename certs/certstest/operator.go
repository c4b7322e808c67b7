package certstest

import (
	"crypto"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// Operator is what an operator gives `serve --tls-cert/--tls-key`: a
// server certificate from a CA that is not the hub's, in files, and that
// CA's root in a file of its own (what clients and kiosks trust).
type Operator struct {
	CA                          *certs.CA
	Served                      *tls.Certificate
	CertFile, KeyFile, RootFile string
}

// NewOperator makes a CA valid from an hour before now and a 90-day
// server certificate from it for hosts, and writes them to a temporary
// directory.
func NewOperator(tb testing.TB, now time.Time, hosts ...string) *Operator {
	tb.Helper()
	ca, err := certs.NewCA("Operator Test Root", now.Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	served, err := ca.IssueServerCert(hosts, 90*24*time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	o := &Operator{CA: ca, Served: served, RootFile: filepath.Join(dir, "root.pem")}
	o.CertFile, o.KeyFile = WriteServing(tb, dir, served)
	if err := os.WriteFile(o.RootFile, ca.CertPEM(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return o
}

// WriteServing writes tc's chain and key into dir as an operator would
// (fullchain.pem, privkey.pem 0600) and returns the two paths.
func WriteServing(tb testing.TB, dir string, tc *tls.Certificate) (certPath, keyPath string) {
	tb.Helper()
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := certs.WriteCertFile(certPath, tc.Certificate...); err != nil {
		tb.Fatal(err)
	}
	if err := certs.WriteKeyFile(keyPath, tc.PrivateKey.(crypto.Signer)); err != nil {
		tb.Fatal(err)
	}
	return certPath, keyPath
}
