package dist

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	bp "github.com/gobackprop/backprop"
)

// onRanks runs f on every rank of a group of n goroutines and returns
// their errors, by rank.
func onRanks(n int, f func(c Comm) error) []error {
	cs := NewGroup(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

func TestGroupCollectives(t *testing.T) {
	const n = 3
	errs := onRanks(n, func(c Comm) error {
		r := float32(c.Rank())
		a := []float32{r, 2 * r, 1}
		if err := c.AllreduceFloat32(a); err != nil {
			return err
		}
		if a[0] != 3 || a[1] != 6 || a[2] != 3 {
			t.Errorf("rank %d: allreduce float32 gave %v, want [3 6 3]", c.Rank(), a)
		}
		b := []float64{float64(c.Rank()) + 0.5}
		if err := c.AllreduceFloat64(b); err != nil {
			return err
		}
		if b[0] != 4.5 {
			t.Errorf("rank %d: allreduce float64 gave %v, want 4.5", c.Rank(), b)
		}
		x := []float32{r, r}
		if err := c.BroadcastFloat32(x, 2); err != nil {
			return err
		}
		if x[0] != 2 || x[1] != 2 {
			t.Errorf("rank %d: broadcast from 2 gave %v", c.Rank(), x)
		}
		s := []byte("rank?")
		s[4] = byte('0' + c.Rank())
		if err := c.BroadcastBytes(s, 1); err != nil {
			return err
		}
		if string(s) != "rank1" {
			t.Errorf("rank %d: broadcast of bytes gave %q", c.Rank(), s)
		}
		return c.Barrier()
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

func TestGroupMismatchedCollectivesFail(t *testing.T) {
	errs := onRanks(2, func(c Comm) error {
		if c.Rank() == 0 {
			return c.AllreduceFloat32(make([]float32, 3))
		}
		return c.AllreduceFloat32(make([]float32, 4))
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "elements") {
			t.Errorf("rank %d: got %v, want an error about the buffers' lengths", r, err)
		}
	}
}

// params builds a tiny model's parameters: a [rows, 3] weight and a [rows]
// bias, drawn from seed.
func params(rows int, seed uint64) []bp.Param {
	rng := bp.NewRNG(seed)
	w := bp.FromFloat32s(make([]float32, rows*3), rows, 3)
	b := bp.FromFloat32s(make([]float32, rows), rows)
	for _, s := range [][]float32{w.F32(), b.F32()} {
		for i := range s {
			s[i] = float32(rng.Float64())
		}
	}
	return []bp.Param{{Name: "w", T: w.SetRequiresGrad(true)}, {Name: "b", T: b.SetRequiresGrad(true)}}
}

func TestDataParallelBroadcastsAndAverages(t *testing.T) {
	for _, bucketBytes := range []int{0, 8} { // one bucket; one per parameter
		const n = 4
		errs := onRanks(n, func(c Comm) error {
			ps := params(2, uint64(10+c.Rank())) // different starts: rank 0's must win
			d, err := NewDataParallel(c, ps, Options{BucketBytes: bucketBytes, Tag: "x"})
			if err != nil {
				return err
			}
			for i, p := range ps {
				if p.T.F32()[0] != params(2, 10)[i].T.F32()[0] {
					t.Errorf("rank %d: parameter %s not rank 0's after NewDataParallel", c.Rank(), p.Name)
				}
			}
			if err := d.InSync(); err != nil {
				return err
			}
			// Equal slices: each rank's gradient is r+1 everywhere, so
			// the mean is (1+2+3+4)/4 = 2.5.
			for _, p := range ps {
				g := bp.FromFloat32s(make([]float32, p.T.Numel()), p.T.Shape()...)
				for i := range g.F32() {
					g.F32()[i] = float32(c.Rank() + 1)
				}
				p.T.SetGrad(g)
			}
			if err := d.ReduceGradients(8, 32); err != nil {
				return err
			}
			for _, p := range ps {
				for _, v := range p.T.Grad().F32() {
					if v != 2.5 {
						t.Fatalf("rank %d: reduced gradient %v, want 2.5", c.Rank(), v)
					}
				}
			}
			// Unequal slices of a batch of 7: ranks hold 2, 2, 2, 1
			// examples (rank 3 none of the gradient 4 below but 1
			// example); the global mean weights each mean by n_r/7.
			local := []int{2, 2, 2, 1}[c.Rank()]
			for _, p := range ps {
				p.T.Grad().F32()[0] = float32(c.Rank() + 1)
			}
			if err := d.ReduceGradients(local, 7); err != nil {
				return err
			}
			want := float32((2*1 + 2*2 + 2*3 + 1*4) / 7.0)
			for _, p := range ps {
				if got := p.T.Grad().F32()[0]; abs32(got-want) > 1e-6 {
					t.Errorf("rank %d: uneven batch: gradient %v, want %v", c.Rank(), got, want)
				}
			}
			// A rank without examples has no gradient at all.
			if c.Rank() == 3 {
				for _, p := range ps {
					p.T.ClearGrad()
				}
			}
			local = []int{1, 1, 1, 0}[c.Rank()]
			for _, p := range ps {
				if c.Rank() != 3 {
					p.T.Grad().F32()[0] = 3
				}
			}
			if err := d.ReduceGradients(local, 3); err != nil {
				return err
			}
			for _, p := range ps {
				if got := p.T.Grad().F32()[0]; abs32(got-3) > 1e-6 {
					t.Errorf("rank %d: a rank without examples: gradient %v, want 3", c.Rank(), got)
				}
			}
			return nil
		})
		for r, err := range errs {
			if err != nil {
				t.Errorf("bucket bytes %d: rank %d: %v", bucketBytes, r, err)
			}
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestDataParallelRefusesDifferentModels(t *testing.T) {
	errs := onRanks(3, func(c Comm) error {
		rows := 2
		if c.Rank() == 2 {
			rows = 5
		}
		_, err := NewDataParallel(c, params(rows, 1), Options{})
		return err
	})
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "rank 2 of 3 disagrees with rank 0") || !strings.Contains(errs[2].Error(), "[2 3]") || !strings.Contains(errs[2].Error(), "[5 3]") {
		t.Errorf("rank 2: got %v, want a message naming both shapes", errs[2])
	}
	for _, r := range []int{0, 1} {
		if errs[r] == nil || !strings.Contains(errs[r].Error(), "ranks 2 disagree") {
			t.Errorf("rank %d: got %v, want a message naming rank 2", r, errs[r])
		}
	}
	// Settings (the tag) count too.
	errs = onRanks(2, func(c Comm) error {
		_, err := NewDataParallel(c, params(2, 1), Options{Tag: []string{"lr 0.1", "lr 0.2"}[c.Rank()]})
		return err
	})
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "lr 0.2") {
		t.Errorf("different tags: rank 1 got %v", errs[1])
	}
}

func TestInSyncFindsDrift(t *testing.T) {
	errs := onRanks(2, func(c Comm) error {
		ps := params(2, 1)
		d, err := NewDataParallel(c, ps, Options{})
		if err != nil {
			return err
		}
		if c.Rank() == 1 {
			ps[1].T.F32()[0] += 1e-7
		}
		return d.InSync()
	})
	if errs[1] == nil || !strings.Contains(errs[1].Error(), `"b"`) {
		t.Errorf("rank 1: got %v, want a message naming parameter b", errs[1])
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWatchdogAbortsAStuckCollective(t *testing.T) {
	var log syncBuffer
	start := time.Now()
	errs := onRanks(2, func(c Comm) error {
		w := WithTimeout(c, 200*time.Millisecond, &log)
		defer w.Close()
		w.(*Watchdog).SetPhase("step 7")
		if c.Rank() == 1 {
			return nil // never joins: rank 0 waits
		}
		return w.AllreduceFloat32(make([]float32, 10))
	})
	if !errors.Is(errs[0], ErrAborted) {
		t.Errorf("rank 0: got %v, want ErrAborted", errs[0])
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the abort took %v", el)
	}
	msg := log.String()
	for _, want := range []string{"rank 0 of 2", "allreduce of 10 float32", "step 7", "aborting"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the watchdog's message %q does not contain %q", msg, want)
		}
	}
}

// TestBackwardFillsTheBuckets: after ZeroGrad, Backward writes the
// gradients into the bucket views, so the reduction copies nothing.
func TestBackwardFillsTheBuckets(t *testing.T) {
	ps := params(4, 1)
	d, err := NewDataParallel(Local{}, ps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := bp.FromFloat32s([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	for step := range 3 {
		for _, p := range ps {
			p.T.ZeroGrad()
		}
		x.MatMul(ps[0].T.Transpose(0, 1)).Add(ps[1].T).Sum().Backward()
		for i, p := range ps {
			if p.T.Grad() != d.views[i] {
				t.Fatalf("step %d: the gradient of %s is not its bucket view", step, p.Name)
			}
		}
		if err := d.ReduceGradients(2, 2); err != nil {
			t.Fatal(err)
		}
		if got := ps[1].T.Grad().F32()[0]; got != 2 { // d(sum)/d(bias) = rows of x
			t.Fatalf("step %d: bias gradient %v, want 2", step, got)
		}
	}
}
