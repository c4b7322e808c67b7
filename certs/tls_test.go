package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// deviceRegistry is a stand-in for the hub's device table.
type deviceRegistry struct {
	mu       sync.Mutex
	disabled map[string]bool
	seen     []string
}

func (d *deviceRegistry) verify(id string, cert *x509.Certificate) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, id)
	if d.disabled[id] {
		return errors.New("device disabled")
	}
	return nil
}

func (d *deviceRegistry) disable(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disabled[id] = true
}

func TestMutualTLSHandshake(t *testing.T) {
	pki := certstest.New(t)
	other := certstest.New(t)
	now := time.Now()

	tests := []struct {
		name       string
		client     func(t *testing.T) *tls.Config
		wantOK     bool
		wantDevice string // "" means RequireDeviceCert must fail with ErrNoDeviceCert
		wantErr    string // substring of the server's handshake error
	}{
		{
			name:       "good device",
			client:     func(t *testing.T) *tls.Config { return pki.ClientConfig(t, "kiosk-1") },
			wantOK:     true,
			wantDevice: "kiosk-1",
		},
		{
			name: "good device over TLS 1.2",
			client: func(t *testing.T) *tls.Config {
				cfg := pki.ClientConfig(t, "kiosk-1")
				cfg.MaxVersion = tls.VersionTLS12
				return cfg
			},
			wantOK:     true,
			wantDevice: "kiosk-1",
		},
		{
			name:   "no client certificate",
			client: func(t *testing.T) *tls.Config { return pki.ClientConfig(t, "") },
			wantOK: true,
		},
		{
			name: "certificate from another CA",
			client: func(t *testing.T) *tls.Config {
				return clientWith(pki, other.Device(t, "kiosk-1"))
			},
			wantErr: "unknown authority",
		},
		{
			name: "expired device certificate",
			client: func(t *testing.T) *tls.Config {
				return clientWith(pki, pki.DeviceAt(t, "kiosk-1", time.Hour, now.Add(-48*time.Hour)))
			},
			wantErr: "expired",
		},
		{
			name: "device certificate not yet valid",
			client: func(t *testing.T) *tls.Config {
				return clientWith(pki, pki.DeviceAt(t, "kiosk-1", time.Hour, now.Add(48*time.Hour)))
			},
			wantErr: "not yet valid",
		},
		{
			name:    "disabled device",
			client:  func(t *testing.T) *tls.Config { return pki.ClientConfig(t, "kiosk-disabled") },
			wantErr: "device kiosk-disabled refused: device disabled",
		},
		{
			name: "hub server certificate as client certificate",
			client: func(t *testing.T) *tls.Config {
				return clientWith(pki, pki.Hub.Certificate())
			},
			wantErr: "incompatible key usage",
		},
		{
			name: "TLS 1.1 client",
			client: func(t *testing.T) *tls.Config {
				cfg := pki.ClientConfig(t, "kiosk-1")
				cfg.MinVersion = tls.VersionTLS10
				cfg.MaxVersion = tls.VersionTLS11
				return cfg
			},
			wantErr: "version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &deviceRegistry{disabled: map[string]bool{"kiosk-disabled": true}}
			addr, results := startTLSServer(t, certs.ServerTLSConfig(pki.Hub, reg.verify))

			_, clientErr := dial(t.Context(), addr, tt.client(t))
			res := recv(t, results)

			if !tt.wantOK {
				if res.err == nil {
					t.Fatalf("server handshake succeeded, want error containing %q", tt.wantErr)
				}
				if !strings.Contains(res.err.Error(), tt.wantErr) {
					t.Errorf("server error = %v, want it to contain %q", res.err, tt.wantErr)
				}
				if clientErr == nil {
					t.Errorf("client saw no error")
				}
				return
			}
			if res.err != nil || clientErr != nil {
				t.Fatalf("handshake failed: server %v, client %v", res.err, clientErr)
			}
			id, err := certs.RequireDeviceCert(&res.state)
			if tt.wantDevice == "" {
				if !errors.Is(err, certs.ErrNoDeviceCert) {
					t.Errorf("RequireDeviceCert = %q, %v; want ErrNoDeviceCert", id, err)
				}
				if len(reg.seen) != 0 {
					t.Errorf("verifyDevice called for %v without a client certificate", reg.seen)
				}
				return
			}
			if err != nil || id != tt.wantDevice {
				t.Errorf("RequireDeviceCert = %q, %v; want %q", id, err, tt.wantDevice)
			}
			if len(reg.seen) != 1 || reg.seen[0] != tt.wantDevice {
				t.Errorf("verifyDevice calls = %v, want [%s]", reg.seen, tt.wantDevice)
			}
		})
	}
}

// clientWith returns an agent config that presents cert as is.
func clientWith(pki *certstest.PKI, cert *tls.Certificate) *tls.Config {
	cfg := certs.ClientTLSConfig(pki.CAPool(), nil)
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return cert, nil
	}
	return cfg
}

func TestClientVerifiesHub(t *testing.T) {
	pki := certstest.New(t)
	other := certstest.New(t)

	tests := []struct {
		name    string
		client  func(t *testing.T) *tls.Config
		wantErr bool
	}{
		{
			name:   "IP address from dialed address",
			client: func(t *testing.T) *tls.Config { return pki.ClientConfig(t, "kiosk-1") },
		},
		{
			name: "localhost as server name",
			client: func(t *testing.T) *tls.Config {
				cfg := pki.ClientConfig(t, "kiosk-1")
				cfg.ServerName = "localhost"
				return cfg
			},
		},
		{
			name: "name not in the certificate",
			client: func(t *testing.T) *tls.Config {
				cfg := pki.ClientConfig(t, "kiosk-1")
				cfg.ServerName = "hub.example.com"
				return cfg
			},
			wantErr: true,
		},
		{
			name: "agent trusting another hub's CA",
			client: func(t *testing.T) *tls.Config {
				return certs.ClientTLSConfig(other.CAPool(), other.Renewer(t, "kiosk-1"))
			},
			wantErr: true,
		},
		{
			name:    "nil CA pool trusts nothing",
			client:  func(t *testing.T) *tls.Config { return certs.ClientTLSConfig(nil, nil) },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, results := startTLSServer(t, pki.ServerConfig(nil))
			_, err := dial(t.Context(), addr, tt.client(t))
			recv(t, results)
			if (err != nil) != tt.wantErr {
				t.Fatalf("dial error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestResumedSessionOfDisabledDevice checks that session tickets do not let
// a device back in after it was disabled.
func TestResumedSessionOfDisabledDevice(t *testing.T) {
	pki := certstest.New(t)
	reg := &deviceRegistry{disabled: map[string]bool{}}
	addr, results := startTLSServer(t, certs.ServerTLSConfig(pki.Hub, reg.verify))

	client := pki.ClientConfig(t, "kiosk-1")
	client.ClientSessionCache = tls.NewLRUClientSessionCache(4)

	steps := []struct {
		name        string
		disable     bool
		wantResumed bool
		wantErr     bool
	}{
		{name: "full handshake"},
		{name: "resumed handshake", wantResumed: true},
		{name: "resumption after disable", disable: true, wantErr: true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.disable {
				reg.disable("kiosk-1")
			}
			_, clientErr := dial(t.Context(), addr, client)
			res := recv(t, results)
			if s.wantErr {
				if res.err == nil || clientErr == nil {
					t.Fatalf("server %v, client %v; want both to fail", res.err, clientErr)
				}
				return
			}
			if res.err != nil || clientErr != nil {
				t.Fatalf("server %v, client %v", res.err, clientErr)
			}
			if res.state.DidResume != s.wantResumed {
				t.Errorf("DidResume = %v, want %v", res.state.DidResume, s.wantResumed)
			}
			if id, err := certs.RequireDeviceCert(&res.state); err != nil || id != "kiosk-1" {
				t.Errorf("RequireDeviceCert = %q, %v", id, err)
			}
		})
	}
}

// TestHTTPSKioskEndpoint runs the intended production shape: one
// http.Server, a handler that insists on a device certificate.
func TestHTTPSKioskEndpoint(t *testing.T) {
	pki := certstest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := certs.RequireDeviceCert(r.TLS)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, id)
		}),
		TLSConfig: pki.ServerConfig(nil),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/agent/v1/ws"

	tests := []struct {
		name       string
		device     string
		wantStatus int
		wantBody   string
	}{
		{name: "kiosk with certificate", device: "kiosk-7", wantStatus: http.StatusOK, wantBody: "kiosk-7"},
		{name: "browser without certificate", wantStatus: http.StatusUnauthorized, wantBody: "no verified device certificate\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: pki.ClientConfig(t, tt.device)}
			defer tr.CloseIdleConnections()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestRequireDeviceCertWithoutTLS(t *testing.T) {
	tests := []struct {
		name  string
		state *tls.ConnectionState
	}{
		{name: "plain HTTP", state: nil},
		{name: "no chains", state: &tls.ConnectionState{}},
		{name: "empty chain", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := certs.RequireDeviceCert(tt.state); !errors.Is(err, certs.ErrNoDeviceCert) {
				t.Errorf("err = %v, want ErrNoDeviceCert", err)
			}
		})
	}
}
