package sim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
)

// Sim is one simulator run against one hub.
type Sim struct {
	cfg   Config
	pool  *x509.CertPool      // --ca: the roots of the hub's HTTPS certificate
	roots []*x509.Certificate // the same, as certificates
	// hubCAs are the names of the CAs the hub takes device certificates
	// from (probeHub).
	hubCAs [][]byte
	dial   *pinnedDialer
	api    *api
	wsURL  string

	st     *state
	kiosks []*kiosk
	stray  atomic.Int64 // unexpected messages on kiosk channels
	lost   atomic.Int64 // kiosk channels the hub or the network ended
	readWG sync.WaitGroup
	wbufs  websocket.BufferPool

	setup []Phase
	rss   hubMemory
}

// New checks cfg, reads the CA file and makes sure the hub answers over
// HTTPS trusting it.
func New(ctx context.Context, cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pemBytes, err := certs.ReadPEMFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := certs.CAPool(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", cfg.CAFile, err)
	}
	roots, err := certs.DecodeCertsPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", cfg.CAFile, err)
	}
	u, _ := url.Parse(cfg.HubURL) // checked by Validate
	hostport := u.Host
	if u.Port() == "" {
		hostport = u.Host + ":443"
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dial, err := newPinnedDialer(dctx, hostport)
	if err != nil {
		return nil, err
	}
	hubCAs, err := probeHub(dctx, dial, u.Hostname(), pool, cfg.CAFile)
	if err != nil {
		return nil, err
	}
	base := "https://" + u.Host
	return &Sim{
		cfg:    cfg,
		pool:   pool,
		roots:  roots,
		hubCAs: hubCAs,
		dial:   dial,
		api:    newAPI(base, pool, dial, cfg.AdminToken, cfg.SCIMToken, cfg.Workers*2),
		wsURL:  "wss://" + u.Host + wire.WSPath,
		wbufs:  &sync.Pool{},
	}, nil
}

// probeHub makes one TLS handshake with the hub, before anything else: it
// checks that --ca covers the hub's HTTPS certificate (with an error that
// says what to give), and returns the distinguished names of the CAs the
// hub asks client certificates of (its certificate request, sent whether
// or not a kiosk will present one): the hub CA, which issues the device
// certificates. They are nil when the hub named none.
func probeHub(ctx context.Context, dial *pinnedDialer, host string, pool *x509.CertPool, caFile string) ([][]byte, error) {
	conn, err := dial.DialContext(ctx, "tcp", "")
	if err != nil {
		return nil, fmt.Errorf("connect to hub: %w", err)
	}
	var hubCAs [][]byte
	tc := tls.Client(conn, &tls.Config{
		ServerName: host,
		RootCAs:    pool,
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			for _, n := range cri.AcceptableCAs {
				hubCAs = append(hubCAs, bytes.Clone(n))
			}
			return &tls.Certificate{}, nil // none: the hub takes that outside the device channel
		},
	})
	err = tc.HandshakeContext(ctx)
	tc.Close()
	var (
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
	)
	switch {
	case errors.As(err, &unknown):
		return nil, fmt.Errorf("the hub's HTTPS certificate is not signed by a CA in %s (give the hub's ca.pem or, when the hub serves a certificate of another CA (serve --tls-cert), that CA's root and the hub's ca.pem): %w", caFile, err)
	case errors.As(err, &hostErr):
		return nil, fmt.Errorf("the hub's HTTPS certificate does not cover %s (use the hub's --public-url host): %w", host, err)
	case err != nil:
		return nil, fmt.Errorf("TLS handshake with the hub: %w", err)
	}
	return hubCAs, nil
}

// Run sets up what the scenario needs, runs its rounds and returns the
// result. The kiosks are disconnected when it returns.
func (s *Sim) Run(ctx context.Context) (*Result, error) {
	defer s.close()
	var (
		res *Result
		err error
	)
	switch s.cfg.Scenario {
	case ScenarioLogins:
		res, err = s.runLogins(ctx)
	case ScenarioLeaver:
		res, err = s.runLeaver(ctx)
	case ScenarioMassRevoke:
		res, err = s.runMassRevoke(ctx)
	}
	if res != nil {
		res.Setup = s.setup
		res.Stray = s.stray.Load()
		res.Lost = s.lost.Load()
		s.rss.end = s.readHubMemory()
		res.HubMemory = s.rss.report()
	}
	return res, err
}

// close disconnects every kiosk.
func (s *Sim) close() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.cfg.DialConcurrency)
	for _, k := range s.kiosks {
		if k == nil || !k.connected() {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k.close()
		}()
	}
	wg.Wait()
	s.readWG.Wait()
	s.api.close()
}

// Phase is one timed setup step.
type Phase struct {
	Name    string  `json:"name"`
	Done    int     `json:"done"`    // items handled in this run
	Seconds float64 `json:"seconds"` // wall time
}

// phase runs fn over items [0,total) that need work, with workers
// goroutines, reporting progress; the first error stops the phase.
func (s *Sim) phase(ctx context.Context, name string, todo []int, workers int, fn func(ctx context.Context, i int) error) error {
	start := time.Now()
	p := startProgress(s.cfg.Progress, s.cfg.ProgressEvery, name, len(todo))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
	)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				p.add(1)
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	err := firstErr
	if err == nil {
		err = ctx.Err()
	}
	p.done(err)
	s.setup = append(s.setup, Phase{Name: name, Done: int(p.n.Load()), Seconds: time.Since(start).Seconds()})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// prepare loads the state and makes sure kiosks [0,n) are enrolled and
// connected and that users [0,users) exist, hold the shift role and have a
// registered badge. It runs under the setup timeout.
func (s *Sim) prepare(ctx context.Context, n, users int) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SetupTimeout)
	defer cancel()
	st, err := loadState(s.cfg.StateDir, s.cfg.Site, s.hubCAs)
	if err != nil {
		return err
	}
	s.st = st
	if err := s.enrollKiosks(ctx, n); err != nil {
		return err
	}
	if err := s.createUsers(ctx, users); err != nil {
		return err
	}
	if users > 0 {
		if err := s.ensureShiftGroup(ctx, users); err != nil {
			return err
		}
	}
	if err := s.connectKiosks(ctx, n); err != nil {
		return err
	}
	s.rss.connected = s.readHubMemory()
	if s.rss.connected.RSS > 0 {
		fmt.Fprintf(s.cfg.Progress, "hub RSS with %d kiosks connected: %.1f MiB\n", n, mib(s.rss.connected.RSS))
	}
	return s.registerOwnBadges(ctx, users)
}

// enrollKiosks enrolls the kiosks of [0,n) this state does not hold yet.
func (s *Sim) enrollKiosks(ctx context.Context, n int) error {
	for len(s.st.Kiosks) < n {
		s.st.Kiosks = append(s.st.Kiosks, kioskState{})
	}
	var todo []int
	for i := range n {
		if s.st.Kiosks[i].DeviceID == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var mu sync.Mutex
	err := s.phase(ctx, "enrolling kiosks", todo, s.cfg.Workers, func(ctx context.Context, i int) error {
		ks, ca, err := s.enrollKiosk(ctx, s.st.kioskName(i))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if err := s.st.setDeviceCA(ca); err != nil {
			return fmt.Errorf("enroll %s: %w", ks.Name, err)
		}
		s.st.Kiosks[i] = ks
		return nil
	})
	if serr := s.st.save(s.cfg.StateDir); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// enrollKiosk enrolls kiosk name and returns it with the hub CA the
// answer named, which issued its certificate.
func (s *Sim) enrollKiosk(ctx context.Context, name string) (kioskState, *x509.Certificate, error) {
	code, err := s.api.deviceCode(ctx, name, s.cfg.Site)
	if err != nil {
		return kioskState{}, nil, err
	}
	key, err := certs.NewDeviceKey()
	if err != nil {
		return kioskState{}, nil, err
	}
	csr, err := certs.NewCSR(key, name)
	if err != nil {
		return kioskState{}, nil, err
	}
	resp, err := s.api.enrollKiosk(ctx, wire.EnrollRequest{Code: code, CSR: csr, Profile: kioskProfile})
	if err != nil {
		return kioskState{}, nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(resp.Cert)
	if err != nil {
		return kioskState{}, nil, fmt.Errorf("enroll %s: the hub's certificate: %w", name, err)
	}
	ca, err := s.answerCA(resp, leaf)
	if err != nil {
		return kioskState{}, nil, fmt.Errorf("enroll %s: %w", name, err)
	}
	if err := checkIssued(leaf, ca, true); err != nil {
		return kioskState{}, nil, fmt.Errorf("enroll %s: the hub's certificate: %w", name, err)
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return kioskState{}, nil, fmt.Errorf("enroll %s: the hub's certificate is not for the kiosk's key", name)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return kioskState{}, nil, err
	}
	return kioskState{Name: name, DeviceID: resp.DeviceID, Key: der, Cert: resp.Cert, leaf: leaf}, ca, nil
}

// answerCA is the hub CA an enrollment answer names
// (wire.EnrollResponse.DeviceCA), trusted as the answer came over HTTPS
// checked against --ca. An older hub names none: its CA is then the
// certificate of --ca that issued leaf, as the agent takes it.
func (s *Sim) answerCA(resp wire.EnrollResponse, leaf *x509.Certificate) (*x509.Certificate, error) {
	if len(resp.DeviceCA) == 0 {
		if ca := issuerIn(leaf, s.roots); ca != nil {
			return ca, nil
		}
		return nil, fmt.Errorf("the hub names no device CA, and the issuer of its certificate (%s) is not in %s: add the hub's ca.pem to it", leaf.Issuer, s.cfg.CAFile)
	}
	ca, err := x509.ParseCertificate(resp.DeviceCA)
	if err != nil {
		return nil, fmt.Errorf("the hub's device CA: %w", err)
	}
	if !ca.BasicConstraintsValid || !ca.IsCA {
		return nil, fmt.Errorf("the hub's device CA %q is not a CA certificate", ca.Subject)
	}
	return ca, nil
}

// kioskFor builds kiosk i from the state.
func (s *Sim) kioskFor(i int) (*kiosk, error) {
	ks := s.st.Kiosks[i]
	key, err := x509.ParsePKCS8PrivateKey(ks.Key)
	if err != nil {
		return nil, fmt.Errorf("kiosk %s key: %w", ks.Name, err)
	}
	leaf := ks.leaf // checked against the hub CA by loadState or enrollKiosk
	if leaf == nil {
		return nil, fmt.Errorf("kiosk %s: not enrolled", ks.Name)
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("kiosk %s: certificate expired at %s; use a fresh --state directory", ks.Name, leaf.NotAfter.Format(time.RFC3339))
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("kiosk %s key: not a signer", ks.Name)
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return nil, fmt.Errorf("kiosk %s: certificate and key do not match; use a fresh --state directory", ks.Name)
	}
	return &kiosk{
		idx:    i,
		name:   ks.Name,
		cert:   tls.Certificate{Certificate: [][]byte{ks.Cert}, PrivateKey: signer, Leaf: leaf},
		enroll: make(chan wire.Envelope, 1),
	}, nil
}

// connectKiosks connects kiosks [0,n), DialConcurrency at a time, each
// with a few retries.
func (s *Sim) connectKiosks(ctx context.Context, n int) error {
	for len(s.kiosks) < n {
		s.kiosks = append(s.kiosks, nil)
	}
	todo := make([]int, 0, n)
	for i := range n {
		if s.kiosks[i] == nil {
			k, err := s.kioskFor(i)
			if err != nil {
				return err
			}
			s.kiosks[i] = k
		}
		if !s.kiosks[i].connected() {
			todo = append(todo, i)
		}
	}
	return s.phase(ctx, "connecting kiosks", todo, s.cfg.DialConcurrency, func(ctx context.Context, i int) error {
		k := s.kiosks[i]
		d := s.dialer(k)
		var err error
		for attempt := range 6 {
			if attempt > 0 {
				wait := time.Duration(100<<attempt) * time.Millisecond // 200 ms … 3.2 s
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			actx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err = s.connect(actx, k, d)
			cancel()
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return err
	})
}

// connect connects k and starts its reader.
func (s *Sim) connect(ctx context.Context, k *kiosk, d *websocket.Dialer) error {
	if err := k.connect(ctx, d, s.wsURL); err != nil {
		return err
	}
	s.readWG.Add(1)
	go func() { defer s.readWG.Done(); k.readLoop(&s.stray, s.lostKiosk) }()
	return nil
}

// lostKiosk notes a channel that ended without the simulator closing it.
func (s *Sim) lostKiosk(k *kiosk, err error) {
	if n := s.lost.Add(1); n <= 10 {
		fmt.Fprintf(s.cfg.Progress, "kiosk %s lost its channel: %v\n", k.name, err)
	}
}

// reconnect brings k's channel back if it is down; setup uses it, a
// scenario counts a lost channel as an error instead.
func (s *Sim) reconnect(ctx context.Context, k *kiosk) error {
	if k.connected() {
		return nil
	}
	<-k.done // the reader has ended
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return s.connect(actx, k, s.dialer(k))
}

// dialer returns a WebSocket dialer presenting k's certificate, with small
// buffers: a kiosk's messages are a few hundred bytes to a few KiB.
func (s *Sim) dialer(k *kiosk) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext: s.dial.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			RootCAs:      s.pool,
			Certificates: []tls.Certificate{k.cert},
		},
		HandshakeTimeout: 15 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		WriteBufferPool:  s.wbufs,
	}
}

// createUsers creates own users [0,n) missing from the state.
func (s *Sim) createUsers(ctx context.Context, n int) error {
	for len(s.st.Users) < n {
		s.st.Users = append(s.st.Users, userState{Name: s.st.userName(len(s.st.Users))})
	}
	var todo []int
	for i := range n {
		if s.st.Users[i].ID == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var mu sync.Mutex
	err := s.phase(ctx, "creating users", todo, s.cfg.Workers, func(ctx context.Context, i int) error {
		id, err := s.api.createUser(ctx, s.st.Users[i].Name, s.cfg.Site)
		if err != nil {
			return err
		}
		mu.Lock()
		s.st.Users[i].ID = id
		s.st.Users[i].Registered = false
		mu.Unlock()
		return nil
	})
	if serr := s.st.save(s.cfg.StateDir); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// ensureShiftGroup makes the shift role group hold at least users [0,n).
func (s *Sim) ensureShiftGroup(ctx context.Context, n int) error {
	start := time.Now()
	name := s.st.shiftGroupName()
	id, members, err := s.api.findGroup(ctx, name)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(members))
	for _, m := range members {
		have[m] = true
	}
	ok := id != ""
	for i := 0; ok && i < n; i++ {
		ok = have[s.st.Users[i].ID]
	}
	if !ok {
		if id != "" {
			if err := s.api.deleteGroup(ctx, id); err != nil {
				return err
			}
		}
		if id, err = s.createShiftGroup(ctx, n); err != nil {
			return err
		}
		s.setup = append(s.setup, Phase{Name: "creating role group", Done: n, Seconds: time.Since(start).Seconds()})
		fmt.Fprintf(s.cfg.Progress, "role group %s with %d members created\n", name, n)
	}
	s.st.ShiftGroup = id
	return s.st.save(s.cfg.StateDir)
}

func (s *Sim) createShiftGroup(ctx context.Context, n int) (string, error) {
	ids := make([]string, n)
	for i := range n {
		ids[i] = s.st.Users[i].ID
	}
	return s.api.createGroup(ctx, s.st.shiftGroupName(), ids)
}
