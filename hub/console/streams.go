package console

import (
	"slices"
	"sync"
)

// MaxLiveStreams is how many live-update streams (/console/site/events)
// one console account may hold open at once, over all its sessions. Each
// stream reads the store every LivePoll, so the bound is what one account
// (many tabs, or a script signing in again and again) can make the hub
// do. A stream past the bound does not fail: it supersedes the account's
// oldest, which is told so and ends, so that a reloaded or newly opened
// page always updates live and only the page left longest stops (it says
// so and asks to be reloaded).
const MaxLiveStreams = 4

// supersededID is the event ID of the last event of a superseded stream.
// An EventSource sends it back as Last-Event-ID when it reconnects, which a
// page running an older script does by itself: siteEvents then answers
// 204, which makes it stop instead of superseding another page in turn.
const supersededID = "superseded"

// liveStreams tracks the open live-update streams of each console account.
type liveStreams struct {
	mu   sync.Mutex
	open map[string][]*liveStream // by account ID, oldest first
}

// liveStream is one open stream.
type liveStream struct {
	// superseded is closed when a newer stream of the account took this
	// one's place: the stream must end.
	superseded chan struct{}
}

// add registers a new stream of the account, superseding the account's
// oldest ones while it holds MaxLiveStreams or more. The caller must
// remove it when the stream ends.
func (l *liveStreams) add(accountID string) *liveStream {
	s := &liveStream{superseded: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string][]*liveStream{}
	}
	list := l.open[accountID]
	if n := len(list) - (MaxLiveStreams - 1); n > 0 {
		for _, old := range list[:n] {
			close(old.superseded)
		}
		list = slices.Delete(list, 0, n)
	}
	l.open[accountID] = append(list, s)
	return s
}

// remove forgets a stream that ended (a superseded one is already gone).
func (l *liveStreams) remove(accountID string, s *liveStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.open[accountID]
	if i := slices.Index(list, s); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(l.open, accountID)
	} else {
		l.open[accountID] = list
	}
}
