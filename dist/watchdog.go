package dist

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// DefaultTimeout is how long WithTimeout lets a collective wait by
// default: longer than any step, evaluation or checkpoint of rank 0 that
// the others wait for, far shorter than forever.
const DefaultTimeout = 5 * time.Minute

// Watchdog is a Comm whose collectives are timed: one that has not
// returned after the timeout writes a line naming this rank, the
// collective and what the program was doing (SetPhase), and aborts the
// job. Create it with WithTimeout; Close stops it.
type Watchdog struct {
	Comm
	timeout time.Duration
	w       io.Writer
	start   atomic.Int64 // UnixNano when the collective under way began; 0 for none
	// What the collective under way is, kept as numbers so that timing a
	// collective allocates nothing: an index into kinds, the length of its
	// buffer and its root.
	kind, n, root atomic.Int64
	phase         atomic.Pointer[string]
	stop          chan struct{}
	stopped       atomic.Bool
}

// WithTimeout watches c's collectives: when one has waited longer than
// timeout for the other ranks, it writes the reason to w (standard error
// when nil) and aborts the job with status 1. A timeout of 0 or less
// returns c unwatched.
func WithTimeout(c Comm, timeout time.Duration, w io.Writer) Comm {
	if timeout <= 0 {
		return c
	}
	if w == nil {
		w = os.Stderr
	}
	d := &Watchdog{Comm: c, timeout: timeout, w: w, stop: make(chan struct{})}
	go d.watch()
	return d
}

// SetPhase says what the program is doing, for the timeout's message:
// "gradient bucket 2 of 3, step 57".
func (d *Watchdog) SetPhase(s string) { d.phase.Store(&s) }

func (d *Watchdog) watch() {
	tick := time.NewTicker(min(d.timeout/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
		}
		s := d.start.Load()
		if s == 0 || time.Since(time.Unix(0, s)) < d.timeout {
			continue
		}
		what := fmt.Sprintf(kinds[d.kind.Load()], d.n.Load(), d.root.Load())
		phase := ""
		if p := d.phase.Load(); p != nil && *p != "" {
			phase = " (" + *p + ")"
		}
		fmt.Fprintf(d.w, "backprop: rank %d of %d: %s%s has waited %v for the other ranks (--collective-timeout %v): a rank is stuck or lost; aborting the job\n",
			d.Rank(), d.Size(), what, phase, time.Since(time.Unix(0, s)).Round(time.Second), d.timeout)
		d.Comm.Abort(1)
		return
	}
}

var kinds = []string{
	"broadcast of %d float32 from rank %d",
	"broadcast of %d float64 from rank %d",
	"broadcast of %d bytes from rank %d",
	"allreduce of %d float32%.0d",
	"allreduce of %d float64%.0d",
	"barrier%.0d%.0d",
}

const (
	kBcast32 = iota
	kBcast64
	kBcastBytes
	kAllreduce32
	kAllreduce64
	kBarrier
)

func (d *Watchdog) timed(kind, n, root int, f func() error) error {
	d.kind.Store(int64(kind))
	d.n.Store(int64(n))
	d.root.Store(int64(root))
	d.start.Store(time.Now().UnixNano())
	err := f()
	d.start.Store(0)
	return err
}

func (d *Watchdog) BroadcastFloat32(buf []float32, root int) error {
	return d.timed(kBcast32, len(buf), root, func() error { return d.Comm.BroadcastFloat32(buf, root) })
}

func (d *Watchdog) BroadcastFloat64(buf []float64, root int) error {
	return d.timed(kBcast64, len(buf), root, func() error { return d.Comm.BroadcastFloat64(buf, root) })
}

func (d *Watchdog) BroadcastBytes(buf []byte, root int) error {
	return d.timed(kBcastBytes, len(buf), root, func() error { return d.Comm.BroadcastBytes(buf, root) })
}

func (d *Watchdog) AllreduceFloat32(buf []float32) error {
	return d.timed(kAllreduce32, len(buf), 0, func() error { return d.Comm.AllreduceFloat32(buf) })
}

func (d *Watchdog) AllreduceFloat64(buf []float64) error {
	return d.timed(kAllreduce64, len(buf), 0, func() error { return d.Comm.AllreduceFloat64(buf) })
}

func (d *Watchdog) Barrier() error { return d.timed(kBarrier, 0, 0, d.Comm.Barrier) }

// Close stops the watchdog and closes the Comm it watches.
func (d *Watchdog) Close() error {
	if d.stopped.CompareAndSwap(false, true) {
		close(d.stop)
	}
	return d.Comm.Close()
}
