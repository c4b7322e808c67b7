package certs_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// serverResult is the server's view of one handshake.
type serverResult struct {
	state tls.ConnectionState
	err   error
}

// startTLSServer listens on 127.0.0.1:0 and handshakes every connection with
// cfg. On success it writes "ok" and closes. Each result goes to the returned
// channel. Everything stops when the test ends.
func startTLSServer(t *testing.T, cfg *tls.Config) (addr string, results <-chan serverResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ch := make(chan serverResult, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				err := tc.Handshake()
				if err == nil {
					_, err = tc.Write([]byte("ok"))
					tc.Close()
				}
				ch <- serverResult{state: tc.ConnectionState(), err: err}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), ch
}

// dial connects to addr with cfg the way an agent does (tls.Dialer fills in
// ServerName from addr) and reads the server's "ok". With TLS 1.3 a client
// certificate is rejected only after the client's handshake has returned, so
// the read is what surfaces the server's verdict.
func dial(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	tc := conn.(*tls.Conn)
	if dl, ok := ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	got, err := io.ReadAll(tc)
	if err != nil {
		return tc.ConnectionState(), err
	}
	if string(got) != "ok" {
		return tc.ConnectionState(), errors.New("server said " + string(got))
	}
	return tc.ConnectionState(), nil
}

// recv waits for the next server result.
func recv(t *testing.T, results <-chan serverResult) serverResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no server result")
		return serverResult{}
	}
}

type ecdsaPrivateKey = ecdsa.PrivateKey

func x509VerifyOptions(roots *x509.CertPool, host string, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now}
}

func publicKeysEqualTest(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}
