package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// A feed is the publisher behind the training page's event stream. The
// training goroutine publishes; any number of HTTP goroutines follow.
//
// Publishing never waits for a client. Each published event gets a
// sequence number and is kept: the events every client must see (the run,
// the points, the epochs) in a log, and of the others (status, scores)
// only the newest of each kind. A client remembers the last sequence
// number it has sent, and when woken sends everything after it. Waking is
// a send on a channel of capacity one that is skipped when the channel is
// full, so a slow client is woken once however much happens meanwhile,
// and then sends the log's new events together with only the newest
// status and scores. A client that connects late starts from sequence 0:
// the whole run so far.
type feed struct {
	keepAlive  time.Duration
	maxClients int
	writeWait  time.Duration // set before serving

	mu      sync.Mutex
	seq     uint64
	log     []frame          // in sequence order
	latest  map[string]frame // by kind, for the kinds that coalesce
	clients map[*follower]struct{}
	closed  bool
	done    chan struct{} // closed by close
}

// frame is one published event: its kind (the SSE event name) and its
// data as one line of JSON. Frames never change once published.
type frame struct {
	seq  uint64
	kind string
	data []byte
}

// follower is one client's wake-up channel.
type follower struct{ wake chan struct{} }

// coalesces reports whether a client needs only the newest event of kind.
func coalesces(kind string) bool { return kind == "status" || kind == "scores" || kind == "sample" }

// defaultWriteWait is how long one write to a client may take before the
// client is dropped: a client that stops reading holds its connection no
// longer.
const defaultWriteWait = 10 * time.Second

func newFeed(maxClients int, keepAlive time.Duration) *feed {
	return &feed{
		keepAlive: keepAlive, maxClients: maxClients, writeWait: defaultWriteWait,
		latest: map[string]frame{}, clients: map[*follower]struct{}{}, done: make(chan struct{}),
	}
}

// publish adds an event and wakes every client. v is marshalled here, on
// the publisher's goroutine, so clients only ever copy bytes. After close
// it does nothing.
func (f *feed) publish(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug can get here: the events hold plain numbers (the
		// non-finite ones as jsonNum) and strings.
		panic(fmt.Sprintf("backprop: web: training event %s: %v", kind, err))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.seq++
	fr := frame{seq: f.seq, kind: kind, data: b}
	if coalesces(kind) {
		f.latest[kind] = fr
	} else {
		f.log = append(f.log, fr)
	}
	for c := range f.clients {
		select {
		case c.wake <- struct{}{}:
		default: // already woken and not yet caught up: it will see this too
		}
	}
}

// since returns the events after sequence number after, in order: every
// logged one, and the newest of each coalescing kind if it is newer; and
// whether the feed is closed (then nothing more will come).
func (f *feed) since(after uint64) (frames []frame, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.log), func(i int) bool { return f.log[i].seq > after })
	frames = append(frames, f.log[i:]...)
	for _, fr := range f.latest {
		if fr.seq > after {
			frames = append(frames, fr)
		}
	}
	sort.Slice(frames, func(i, j int) bool { return frames[i].seq < frames[j].seq })
	return frames, f.closed
}

// follow registers a client; it fails when the feed is closed or has
// maxClients already.
func (f *feed) follow() (*follower, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return nil, errors.New("the training page's event stream has closed")
	case len(f.clients) >= f.maxClients:
		return nil, fmt.Errorf("too many clients follow the training (%d); close a page and retry", len(f.clients))
	}
	c := &follower{wake: make(chan struct{}, 1)}
	f.clients[c] = struct{}{}
	return c, nil
}

func (f *feed) unfollow(c *follower) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.clients, c)
}

// clientCount is the number of clients following, for the tests.
func (f *feed) clientCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.clients)
}

// close ends every stream once it has sent what it has, and refuses new
// ones.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
}

// serveEvents streams the feed as server-sent events: everything so far,
// then each event as it comes, until the client goes, the feed closes or
// a write takes longer than writeWait.
func (f *feed) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, err := f.follow()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
		return
	}
	defer f.unfollow(c)

	rc := http.NewResponseController(w)
	send := func(b []byte) error {
		// The server's WriteTimeout bounds the whole response; a stream
		// lives longer, so each write gets its own deadline instead. A
		// ResponseWriter that cannot take one (a test recorder) needs none.
		if err := rc.SetWriteDeadline(time.Now().Add(f.writeWait)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell a proxy not to buffer the stream
	w.WriteHeader(http.StatusOK)
	// A browser whose stream breaks reconnects after this many ms, and
	// then gets the whole run again.
	if send([]byte("retry: 2000\n\n")) != nil {
		return
	}

	ping := time.NewTicker(f.keepAlive)
	defer ping.Stop()
	var last uint64
	var buf bytes.Buffer
	for {
		frames, closed := f.since(last)
		if len(frames) > 0 {
			buf.Reset()
			for _, fr := range frames {
				buf.WriteString("event: ")
				buf.WriteString(fr.kind)
				buf.WriteString("\ndata: ")
				buf.Write(fr.data)
				buf.WriteString("\n\n")
			}
			last = frames[len(frames)-1].seq
			if send(buf.Bytes()) != nil {
				return
			}
		}
		if closed {
			return
		}
		select {
		case <-c.wake:
		case <-f.done: // send what is left, then end
		case <-ping.C:
			if send([]byte(": keep-alive\n\n")) != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
