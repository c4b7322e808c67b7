package session

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// openTestManager is a Manager for Open's tests: without a cgroup, so a
// teardown finds the apps by process group and marker only.
func openTestManager(t *testing.T) *Manager {
	t.Helper()
	return mustNew(t, Config{StateDir: t.TempDir(), Grace: 100 * time.Millisecond, TempDirs: []string{}, Cgroup: NoCgroup})
}

// procsOf returns the session's records of app.
func procsOf(s *Session, app string) []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*proc
	for _, p := range s.procs {
		if p.app == app {
			out = append(out, p)
		}
	}
	return out
}

// TestOpenStartsAppOnlyWhenNotRunning: Open starts an app of the session
// whose process group is gone (the worker closed it), and nothing while
// the group has a live member, also when its leader has exited (a
// launcher that handed over to a child, as browsers' wrappers do). The
// teardown ends what Open started.
func TestOpenStartsAppOnlyWhenNotRunning(t *testing.T) {
	m := openTestManager(t)
	emr := App{ID: "emr", Command: []string{"/bin/sleep", "60"}}
	// The leader exits at once; its child runs on in the group.
	mail := shApp("mail", "sleep 60 & exit 0")
	s, err := m.Start(t.Context(), Spec{ID: "s1", User: "ana", Apps: []App{emr, mail}})
	if err != nil {
		t.Fatal(err)
	}
	<-procsOf(s, "mail")[0].ended // the leader has been reaped
	for _, app := range []App{emr, mail} {
		launched, err := s.Open(app)
		if err != nil || launched {
			t.Errorf("Open(%s) while it runs = %v, %v; want false, nil", app.ID, launched, err)
		}
		if n := len(procsOf(s, app.ID)); n != 1 {
			t.Errorf("%s launched %d times, want once", app.ID, n)
		}
	}

	first := procsOf(s, "emr")[0]
	if err := syscall.Kill(-first.pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.ended
	launched, err := s.Open(emr)
	if err != nil || !launched {
		t.Fatalf("Open(emr) after it was closed = %v, %v; want true, nil", launched, err)
	}
	ps := procsOf(s, "emr")
	if len(ps) != 2 || !groupAlive(ps[1].pgid) {
		t.Fatalf("emr records after Open: %d, want 2 with the second running", len(ps))
	}
	if launched, err := s.Open(emr); err != nil || launched {
		t.Errorf("Open(emr) once started again = %v, %v; want false, nil", launched, err)
	}
	if err := s.Teardown(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, []int{ps[1].pgid})
	if launched, err := s.Open(emr); launched || !errors.Is(err, ErrEnded) {
		t.Errorf("Open after the teardown = %v, %v; want ErrEnded", launched, err)
	}
}

// TestOpenRacesTeardown (run it with -race): apps opened from other
// goroutines while the session is torn down either start before the
// teardown, which ends them, or are refused with ErrEnded; none outlives
// it. The app exits at once, so every Open starts it again.
func TestOpenRacesTeardown(t *testing.T) {
	m := openTestManager(t)
	app := shApp("emr", "sleep 0.02")
	for i := range 20 {
		s, err := m.Start(t.Context(), Spec{ID: fmt.Sprintf("race%d", i), User: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		refused := make(chan bool, 4)
		for range 4 {
			wg.Go(func() {
				for {
					if _, err := s.Open(app); err != nil {
						refused <- errors.Is(err, ErrEnded)
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			})
		}
		time.Sleep(time.Duration(i%5) * 5 * time.Millisecond)
		if err := s.Teardown(t.Context()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for range 4 {
			if !<-refused {
				t.Error("Open after the teardown failed with another error than ErrEnded")
			}
		}
		if pids := markedPids(s.Dir()); len(pids) != 0 {
			t.Errorf("session %s: processes %v outlived the teardown", s.ID(), pidsOf(pids))
		}
		for _, p := range procsOf(s, "emr") {
			if groupAlive(p.pgid) {
				t.Errorf("session %s: group %d outlived the teardown", s.ID(), p.pgid)
			}
		}
	}
}
