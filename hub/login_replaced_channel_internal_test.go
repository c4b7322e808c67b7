package hub

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/store"
)

// commitGate is a store whose first write transaction, once its function
// has done all it does, waits before it commits: it says so on reached
// and goes on when release is closed. A login's transaction is held
// between its decision and its commit.
type commitGate struct {
	store.Store
	once             sync.Once
	reached, release chan struct{}
}

func (s *commitGate) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error {
		if err := fn(tx); err != nil {
			return err
		}
		s.once.Do(func() {
			close(s.reached)
			<-s.release
		})
		return nil
	})
}

// TestLoginCommittingAfterNewerHello: a login still deciding on a
// kiosk's channel when a newer channel of the kiosk says hello commits
// after that hello has looked for the sessions the kiosk did not open.
// Its grant goes to the ended channel and never reaches the kiosk, and
// the session is ended at once as not_opened (revocation and session.end
// record by the kiosk, as the hello's step makes them), not left live in
// the hub until it expires or the next complete hello.
func TestLoginCommittingAfterNewerHello(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s, u, badge := grantHub(t, now)
	ctx := t.Context()
	if _, err := s.st.CreateGrant(ctx, store.Grant{ID: "g1", UserID: u.ID, Role: "Nurse", Site: "north", Reason: "cover", Approver: "cli",
		Start: now.Add(-time.Hour), End: now.Add(3 * time.Hour), Created: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The relying party runs the login's transaction: it gets the gated
	// store, the rest of the hub keeps the real one.
	gate := &commitGate{Store: s.st, reached: make(chan struct{}), release: make(chan struct{})}
	rp, err := authn.New(authn.Config{RPID: "localhost", RPDisplayName: "Shiftgate", Origin: "https://localhost:8443",
		Store: gate, Audit: s.audit, Now: s.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.channel.rp = rp

	hello := wire.Hello{AgentVersion: "test", Profile: "generic-x86", Complete: true}
	oldCtx, endOld := context.WithCancel(ctx)
	defer endOld()
	if _, err := s.channel.Hello(oldCtx, "k1", hello); err != nil {
		t.Fatalf("hello on the first channel: %v", err)
	}
	env := loginEnvelope(t, s, badge)
	type answer struct {
		env wire.Envelope
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		reply, err := s.channel.Request(oldCtx, "k1", env)
		answered <- answer{reply, err}
	}()
	<-gate.reached
	// The kiosk reconnects: push ends the channel it replaces before
	// the newer one's hello, which finds no session it did not open:
	// the login has not committed.
	endOld()
	if _, err := s.channel.Hello(channelCtx(t), "k1", hello); err != nil {
		t.Fatalf("hello on the newer channel: %v", err)
	}
	close(gate.release)
	a := <-answered
	if a.err == nil {
		t.Errorf("the login answered %s %s on the channel that ended, want no answer", a.env.Type, a.env.Data)
	}

	ss, err := s.st.ListSessions(ctx, store.SessionQuery{DeviceID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 {
		t.Fatalf("sessions of k1: %+v, want the one the login opened", ss)
	}
	sess := ss[0]
	if sess.Ended.IsZero() || sess.EndReason != wire.ReasonNotOpened {
		t.Errorf("session of the login whose channel was replaced: ended %v (%q), want ended (%s)", sess.Ended, sess.EndReason, wire.ReasonNotOpened)
	}
	revs, err := s.st.ListRevocations(ctx, store.RevocationQuery{SessionID: sess.ID})
	if err != nil || len(revs) != 1 || revs[0].Reason != wire.ReasonNotOpened {
		t.Errorf("revocations of the session: %+v, %v; want one (%s)", revs, err, wire.ReasonNotOpened)
	}
	recs, err := s.st.ListAudit(ctx, store.AuditQuery{Action: "session.end"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d["session"] == sess.ID && d["reason"] == wire.ReasonNotOpened && r.Actor == "device:k1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no session.end audit record (reason %s, actor device:k1) for %s", wire.ReasonNotOpened, sess.ID)
	}
}
