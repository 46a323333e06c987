package dist

import (
	"fmt"
	"sync"
)

// NewGroup returns the n ranks of a job whose processes are goroutines of
// this one: give each Comm to its own goroutine. The sums of an allreduce
// are taken in rank order, so every rank gets the same bits. It is for
// tests and for trying a data-parallel loop without MPI.
func NewGroup(n int) []Comm {
	if n < 1 {
		panic(fmt.Sprintf("dist: NewGroup(%d): want at least one rank", n))
	}
	g := &group{n: n, bufs: make([]any, n)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]Comm, n)
	for r := range cs {
		cs[r] = &member{g: g, rank: r}
	}
	return cs
}

type group struct {
	n    int
	mu   sync.Mutex
	cond *sync.Cond
	// The collective under way: its name (so that ranks calling different
	// ones fail instead of mixing buffers), the ranks that have arrived and
	// their buffers. gen counts finished collectives.
	op      string
	arrived int
	bufs    []any
	gen     int
	err     error
	aborted bool
}

type member struct {
	g    *group
	rank int
}

func (m *member) Rank() int      { return m.rank }
func (m *member) Size() int      { return m.g.n }
func (m *member) LocalRank() int { return m.rank }
func (m *member) LocalSize() int { return m.g.n }
func (m *member) Name() string   { return "goroutines" }
func (m *member) Close() error   { return nil }

// Abort fails the collectives under way and every later one.
func (m *member) Abort(code int) {
	g := m.g
	g.mu.Lock()
	g.aborted = true
	g.cond.Broadcast()
	g.mu.Unlock()
}

// collective waits for every rank to arrive with its buffer; the last one
// runs combine over all the buffers while the others wait.
func (m *member) collective(op string, buf any, size int, combine func(bufs []any)) error {
	g := m.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted {
		return ErrAborted
	}
	if g.arrived == 0 {
		g.op, g.err = op, nil
	} else if g.op != op {
		g.err = fmt.Errorf("dist: rank %d called %s while others called %s", m.rank, op, g.op)
	} else if n := bufLen(g.bufs[firstArrived(g.bufs)]); n != size && g.err == nil {
		g.err = fmt.Errorf("dist: %s: rank %d's buffer has %d elements, another rank's %d", op, m.rank, size, n)
	}
	g.bufs[m.rank] = buf
	g.arrived++
	gen := g.gen
	if g.arrived == g.n {
		if g.err == nil {
			combine(g.bufs)
		}
		clear(g.bufs)
		g.arrived = 0
		g.gen++
		g.cond.Broadcast()
		return g.err
	}
	for g.gen == gen && !g.aborted {
		g.cond.Wait()
	}
	if g.gen == gen {
		return ErrAborted
	}
	return g.err
}

func firstArrived(bufs []any) int {
	for i, b := range bufs {
		if b != nil {
			return i
		}
	}
	return 0
}

func bufLen(b any) int {
	switch b := b.(type) {
	case []float32:
		return len(b)
	case []float64:
		return len(b)
	case []byte:
		return len(b)
	}
	return 0
}

func (m *member) BroadcastFloat32(buf []float32, root int) error {
	return broadcast(m, "broadcast", buf, root)
}

func (m *member) BroadcastFloat64(buf []float64, root int) error {
	return broadcast(m, "broadcast", buf, root)
}

func (m *member) BroadcastBytes(buf []byte, root int) error {
	return broadcast(m, "broadcast", buf, root)
}

func broadcast[T float32 | float64 | byte](m *member, op string, buf []T, root int) error {
	if err := checkRoot(root, m.g.n); err != nil {
		return err
	}
	return m.collective(fmt.Sprintf("%s of %T", op, buf), buf, len(buf), func(bufs []any) {
		src := bufs[root].([]T)
		for _, b := range bufs {
			copy(b.([]T), src)
		}
	})
}

func (m *member) AllreduceFloat32(buf []float32) error { return allreduce(m, buf) }
func (m *member) AllreduceFloat64(buf []float64) error { return allreduce(m, buf) }

func allreduce[T float32 | float64](m *member, buf []T) error {
	return m.collective(fmt.Sprintf("allreduce of %T", buf), buf, len(buf), func(bufs []any) {
		sum := make([]T, len(buf))
		for _, b := range bufs {
			for i, v := range b.([]T) {
				sum[i] += v
			}
		}
		for _, b := range bufs {
			copy(b.([]T), sum)
		}
	})
}

func (m *member) Barrier() error {
	return m.collective("barrier", []byte(nil), 0, func([]any) {})
}
