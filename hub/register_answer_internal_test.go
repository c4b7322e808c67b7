package hub

import (
	"context"
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// busyUserRead is a store whose user reads outside a transaction fail as
// a store busy past its timeout does: what a read after the registration's
// commit meets while another process holds the database.
type busyUserRead struct {
	store.Store
}

var errBusyRead = errors.New("database is locked")

func (busyUserRead) GetUser(context.Context, string) (store.User, error) {
	return store.User{}, errBusyRead
}

// TestRegisterAnsweredAfterCommitWithoutAnotherRead: once the badge is
// registered, the kiosk is told so, with the user's name, even if the
// store cannot be read right after the commit. Before, the hub read the
// user again to answer and, that read failing, answered "internal": the
// kiosk showed the badge refused although it was registered, and the
// worker, told to try again, was refused as already registered.
func TestRegisterAnsweredAfterCommitWithoutAnotherRead(t *testing.T) {
	s := newHelloHub(t, "k1")
	ctx := t.Context()
	now := s.cfg.Now().UTC()
	u, err := s.st.CreateUser(ctx, store.User{ID: "u1", UserName: "ana", Active: true, State: store.UserActive, Created: now, Modified: now})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := registerRequest(t, s, "k1", u)

	st := s.st
	s.st = busyUserRead{Store: st} // the relying party keeps the real store
	reply, err := s.channel.Request(channelCtx(t), "k1", env)
	s.st = st
	if err != nil {
		t.Fatalf("register with the store busy after the commit: %v; want it answered as registered", err)
	}
	var got wire.Registered
	if reply.Type != wire.TypeRegistered || reply.Unmarshal(&got) != nil || got.User != "ana" {
		t.Fatalf("register answered %s %s, want %s for ana", reply.Type, reply.Data, wire.TypeRegistered)
	}
	creds, err := s.st.ListCredentials(ctx, u.ID)
	if err != nil || len(creds) != 1 || creds[0].State != store.CredentialActive {
		t.Fatalf("ana's credentials: %+v, %v; want the one registered, active", creds, err)
	}
}

// registerRequest arms a registration of u at deviceID, has a new
// software badge answer it, and returns the kiosk's register request and
// the badge.
func registerRequest(t *testing.T, s *Server, deviceID string, u store.User) (wire.Envelope, authenticator.Authenticator) {
	t.Helper()
	es, err := s.channel.rp.BeginRegistration(t.Context(), deviceID, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	badge, err := authenticator.NewSoft(t.TempDir(), "badge", authenticator.SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := authenticator.Register(t.Context(), badge, es.Origin, es.Options)
	if err != nil {
		t.Fatal(err)
	}
	env, err := wire.New(wire.TypeRegister, "r1", "", wire.Register{Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	return env, badge
}
