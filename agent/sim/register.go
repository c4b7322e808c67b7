package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// enrollWait bounds the wait for enroll.start after the enrollment API
// call has been accepted.
const enrollWait = 30 * time.Second

// badgeDir is where user's badge file lives. A soft badge rewrites its
// file (temp file and rename) on every tap; spreading the files over 256
// directories keeps concurrent taps from queueing on one directory's lock.
func (s *Sim) badgeDir(user string) string {
	h := fnv.New32a()
	h.Write([]byte(user))
	return filepath.Join(s.cfg.StateDir, badgeDir, fmt.Sprintf("%02x", h.Sum32()&0xff))
}

func (s *Sim) badgePath(user string) string { return filepath.Join(s.badgeDir(user), user+".json") }

// badgeCounterBlock is how many assertions of a simulated badge share one
// write of its file. Writing the file on every tap (a new file renamed
// over the old) cost the simulator more CPU than the hub spent on the
// login, on the same cores.
const badgeCounterBlock = 1024

// openBadge opens the soft badge of user. The simulator owns its badge
// files, so they are read once and written once per badgeCounterBlock
// taps. Load tests skip fsync: a crash could roll a counter back, which
// only matters to the hub of this test.
func (s *Sim) openBadge(user string) (*authenticator.Soft, error) {
	return authenticator.NewSoft(s.badgeDir(user), user, authenticator.SoftOptions{NoSync: true, CounterBlock: badgeCounterBlock})
}

// registerOwnBadges makes sure users [0,n) have a registered badge, each
// registered at its own kiosk, and opens them.
func (s *Sim) registerOwnBadges(ctx context.Context, n int) error {
	var todo []int
	for i := range n {
		u := s.st.Users[i]
		if u.Registered {
			if _, err := os.Stat(s.badgePath(u.Name)); err == nil {
				b, err := s.openBadge(u.Name)
				if err != nil {
					return err
				}
				s.kiosks[i].badge = b
				continue
			}
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return nil
	}
	var mu sync.Mutex
	err := s.phase(ctx, "registering badges", todo, s.cfg.Workers, func(ctx context.Context, i int) error {
		u := s.st.Users[i]
		b, err := s.registerRetry(ctx, s.kiosks[i], u.Name)
		if err != nil {
			return err
		}
		s.kiosks[i].badge = b
		mu.Lock()
		s.st.Users[i].Registered = true
		mu.Unlock()
		return nil
	})
	if serr := s.st.save(s.cfg.StateDir); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// registerRetry is register, reconnecting the kiosk and trying again
// (twice at most) when its channel turns out to be down.
func (s *Sim) registerRetry(ctx context.Context, k *kiosk, user string) (*authenticator.Soft, error) {
	for attempt := 0; ; attempt++ {
		b, err := s.register(ctx, k, user)
		var he *HTTPError
		offline := errors.Is(err, errClosed) || (errors.As(err, &he) && he.Status == http.StatusConflict)
		if err == nil || !offline || attempt == 2 || ctx.Err() != nil {
			return b, err
		}
		fmt.Fprintf(s.cfg.Progress, "register %s at %s: %v; reconnecting the kiosk\n", user, k.name, err)
		if k.connected() {
			// The hub says offline while the kiosk holds a channel:
			// start a fresh one.
			k.close()
		}
		if err := s.reconnect(ctx, k); err != nil {
			return nil, err
		}
	}
}

// register creates a new badge for user and registers it at kiosk k: the
// enrollment API call, then the kiosk answers the enroll.start push with
// the badge's attestation, as a worker's first tap would. Only one
// registration may run at a kiosk at a time.
func (s *Sim) register(ctx context.Context, k *kiosk, user string) (*authenticator.Soft, error) {
	// A badge file left by an interrupted run would hold a credential the
	// hub may not know; start clean.
	if err := os.Remove(s.badgePath(user)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b, err := s.openBadge(user)
	if err != nil {
		return nil, err
	}
	select { // drop a stale push
	case <-k.enroll:
	default:
	}
	if err := s.api.authorizeEnrollment(ctx, user, k.name); err != nil {
		return nil, fmt.Errorf("register %s at %s: %w", user, k.name, err)
	}
	var push wire.Envelope
	t := time.NewTimer(enrollWait)
	defer t.Stop()
	select {
	case push = <-k.enroll:
	case <-k.done:
		return nil, fmt.Errorf("register %s at %s: %w", user, k.name, errClosed)
	case <-t.C:
		return nil, fmt.Errorf("register %s at %s: no enroll.start within %s", user, k.name, enrollWait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var es wire.EnrollStart
	if err := push.Unmarshal(&es); err != nil {
		return nil, fmt.Errorf("register %s at %s: %w", user, k.name, err)
	}
	if es.User != "" && es.User != user {
		return nil, fmt.Errorf("register %s at %s: enroll.start is for %s", user, k.name, es.User)
	}
	cred, err := authenticator.Register(ctx, b, es.Origin, es.Options)
	if err != nil {
		return nil, fmt.Errorf("register %s at %s: badge: %w", user, k.name, err)
	}
	ans, err := k.request(ctx, wire.TypeRegister, wire.Register{Credential: cred})
	if err != nil {
		return nil, fmt.Errorf("register %s at %s: %w", user, k.name, err)
	}
	if ans.Type != wire.TypeRegistered {
		return nil, fmt.Errorf("register %s at %s: hub answered %s", user, k.name, ans.Type)
	}
	if err := k.writeEnvelope(wire.Envelope{V: wire.Version, Type: wire.TypeAck, Re: push.ID}); err != nil {
		return nil, fmt.Errorf("register %s at %s: ack enroll.start: %w", user, k.name, err)
	}
	return b, nil
}
