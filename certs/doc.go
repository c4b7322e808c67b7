// Package certs owns every piece of X.509 and TLS code in Shiftgate: the hub's
// certificate authority, the hub's HTTPS server certificate, the short-lived
// client certificates that kiosks use for mutual TLS, and the *tls.Config
// builders for both ends.
//
// Trust model:
//   - One hub CA per data directory (DIR/ca.pem, DIR/ca-key.pem). It signs the
//     hub's server certificate and every device certificate, and nothing else.
//     Kiosk agents trust this CA only (never the system roots) when talking to
//     the hub.
//   - Server certificates carry ExtKeyUsageServerAuth only; device
//     certificates carry ExtKeyUsageClientAuth only. Go's chain verification
//     enforces the extended key usage, so a kiosk cannot pose as the hub with
//     its device certificate, and the hub's server certificate is not a valid
//     device credential.
//   - A device's identity is the URI SAN urn:shiftgate:device:<deviceID> that
//     the hub writes itself; whatever names a CSR asks for are ignored.
//   - The hub refuses a disabled or unknown device during the TLS handshake
//     (see ServerTLSConfig); revoking a device that is already connected is
//     the channel's job (close the connection), not this package's.
//
// All keys are ECDSA P-256 (a device may also present an Ed25519 key in its
// CSR). Serial numbers are random 128-bit integers. Every function that
// depends on the clock takes now explicitly, so tests control time; nothing
// in this package calls time.Now.
//
// Private keys are written as PKCS #8 PEM with mode 0600, atomically (temporary
// file, fsync, rename). Key files readable by group or others are refused
// (ErrInsecureKeyFile) on every platform but Windows, where Unix permission
// bits carry no meaning.
//
// Test PKIs are generated in process by the certstest sub-package; no
// certificate or key is ever committed to the repository.
package certs
