package data

import (
	"math"
	"slices"
	"testing"
)

// collect runs a pass and records every batch's indices, checking that X
// and Y hold exactly the examples named.
func collect(t *testing.T, l *Loader, epoch, start int) [][]int {
	t.Helper()
	ds := l.Dataset.(*TensorDataset)
	var out [][]int
	next := start
	for b := range l.EpochFrom(epoch, start) {
		if b.Index != next {
			t.Fatalf("batch index %d, want %d", b.Index, next)
		}
		next++
		if b.Size() != b.X.Size(0) || b.Size() != b.Y.Size(0) || !slices.Equal(b.X.Shape()[1:], ds.ExampleShape()) {
			t.Fatalf("batch %d: %d indices, X %v, Y %v", b.Index, b.Size(), b.X.Shape(), b.Y.Shape())
		}
		xs, ys := b.X.F32(), b.Y.I64()
		for k, i := range b.Indices {
			x, y := ds.Example(i)
			if !slices.Equal(xs[k*6:(k+1)*6], x) || ys[k] != y {
				t.Fatalf("batch %d row %d is not example %d", b.Index, k, i)
			}
		}
		out = append(out, slices.Clone(b.Indices))
	}
	return out
}

func TestLoaderOrder(t *testing.T) {
	ds := seqDataset(103, 7)
	l := &Loader{Dataset: ds, BatchSize: 10, Shuffle: true, Seed: 42}
	e0 := collect(t, l, 0, 0)
	if len(e0) != 11 || len(e0[10]) != 3 || l.NumBatches() != 11 {
		t.Fatalf("%d batches (NumBatches %d), last of %d", len(e0), l.NumBatches(), len(e0[len(e0)-1]))
	}
	flat := slices.Concat(e0...)
	if !slices.Equal(flat, l.Order(0)) {
		t.Fatal("batches do not follow Order")
	}
	sorted := slices.Sorted(slices.Values(flat))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("epoch is not a permutation of 0..102: %v", sorted)
		}
	}
	if slices.IsSorted(flat) {
		t.Fatal("shuffled epoch is in order")
	}

	// Same seed and epoch: same order, also from a fresh loader with another
	// batch size, and after other epochs were drawn.
	_ = l.Order(5)
	l2 := &Loader{Dataset: ds, BatchSize: 7, Shuffle: true, Seed: 42, DropLast: true}
	if !slices.Equal(l2.Order(0), flat) || !slices.Equal(slices.Concat(collect(t, l, 0, 0)...), flat) {
		t.Fatal("same seed and epoch gave a different order")
	}
	if slices.Equal(l.Order(1), flat) {
		t.Fatal("epochs 0 and 1 have the same order")
	}
	l3 := &Loader{Dataset: ds, BatchSize: 10, Shuffle: true, Seed: 43}
	if slices.Equal(l3.Order(0), flat) {
		t.Fatal("seeds 42 and 43 have the same order")
	}
	// seed+epoch must not be all that matters.
	l4 := &Loader{Dataset: ds, BatchSize: 10, Shuffle: true, Seed: 41}
	if slices.Equal(l4.Order(1), flat) {
		t.Fatal("seed 41 epoch 1 repeats seed 42 epoch 0")
	}

	// Resuming mid-epoch gives the same remaining batches.
	if tail := collect(t, l, 0, 4); !slices.EqualFunc(tail, e0[4:], slices.Equal) {
		t.Fatal("EpochFrom(0, 4) differs from Epoch(0)'s tail")
	}
	if n := len(collect(t, l, 0, 11)); n != 0 {
		t.Fatalf("EpochFrom at the end gave %d batches", n)
	}

	// No shuffle: in order.
	l5 := &Loader{Dataset: ds, BatchSize: 50}
	if got := slices.Concat(collect(t, l5, 3, 0)...); !slices.Equal(got, l5.Order(0)) || !slices.IsSorted(got) || len(got) != 103 {
		t.Fatalf("unshuffled order %v", got)
	}

	// Breaking out of the loop stops the pass.
	n := 0
	for range l.Epoch(0) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("break after 2 batches, saw %d", n)
	}
}

// TestLoaderOrderPinned pins the shuffle itself: checkpoints resume on the
// promise that it never changes. The expected orders were computed by a
// separate Python implementation of the algorithm the Loader documents
// (SplitMix64 seed, Go's PCG-DXSM as seeded by backprop.NewRNG, Lemire,
// Fisher–Yates).
func TestLoaderOrderPinned(t *testing.T) {
	l := &Loader{Dataset: seqDataset(10, 1), BatchSize: 1, Shuffle: true, Seed: 1}
	got0, got1 := l.Order(0), l.Order(1)
	want0 := []int{5, 1, 2, 6, 0, 3, 9, 8, 7, 4}
	want1 := []int{3, 7, 0, 1, 4, 6, 2, 8, 5, 9}
	if !slices.Equal(got0, want0) || !slices.Equal(got1, want1) {
		t.Fatalf("seed 1 orders changed: epoch 0 %v, epoch 1 %v", got0, got1)
	}
}

func TestLoaderDropLast(t *testing.T) {
	for _, c := range []struct {
		n, bs     int
		dropLast  bool
		batches   int
		lastSize  int
		nExamples int
	}{
		{103, 10, false, 11, 3, 103},
		{103, 10, true, 10, 10, 100},
		{100, 10, true, 10, 10, 100},
		{100, 10, false, 10, 10, 100},
		{7, 10, false, 1, 7, 7},
		{7, 10, true, 0, 0, 0},
		{0, 4, false, 0, 0, 0},
		// A batch size near MaxInt: one batch of all, not an overflow.
		{7, math.MaxInt, false, 1, 7, 7},
		{7, math.MaxInt - 3, false, 1, 7, 7},
		{7, math.MaxInt, true, 0, 0, 0},
	} {
		l := &Loader{Dataset: seqDataset(c.n, 2), BatchSize: c.bs, Shuffle: true, DropLast: c.dropLast}
		bs := collect(t, l, 2, 0)
		seen := slices.Concat(bs...)
		last := 0
		if len(bs) > 0 {
			last = len(bs[len(bs)-1])
		}
		if l.NumBatches() != c.batches || len(bs) != c.batches || last != c.lastSize || len(seen) != c.nExamples {
			t.Errorf("n=%d bs=%d dropLast=%v: NumBatches %d, %d batches, last of %d, %d examples; want %d, %d, %d",
				c.n, c.bs, c.dropLast, l.NumBatches(), len(bs), last, len(seen), c.batches, c.lastSize, c.nExamples)
		}
		slices.Sort(seen)
		if len(slices.Compact(seen)) != len(seen) {
			t.Errorf("n=%d bs=%d: an example appears twice", c.n, c.bs)
		}
	}
}

func TestLoaderMisuse(t *testing.T) {
	mustPanic(t, "BatchSize 0 must be positive", func() { (&Loader{Dataset: seqDataset(3, 1)}).Epoch(0) })
	mustPanic(t, "no Dataset", func() { (&Loader{BatchSize: 1}).NumBatches() })
	mustPanic(t, "start batch 4 outside [0, 3]", func() { (&Loader{Dataset: seqDataset(3, 1), BatchSize: 1}).EpochFrom(0, 4) })
}

// TestLoaderReusesBuffers checks that a pass allocates per pass, not per
// batch.
func TestLoaderReusesBuffers(t *testing.T) {
	l := &Loader{Dataset: seqDataset(1000, 3), BatchSize: 10, Shuffle: true}
	pass := func() {
		for range l.Epoch(0) {
		}
	}
	if a := testing.AllocsPerRun(5, pass); a > 20 {
		t.Fatalf("%v allocations for a pass of 100 batches", a)
	}
}

func BenchmarkLoaderMNISTShape(b *testing.B) {
	n := 6000
	ds := NewTensorDataset(make([]float32, n*784), []int{1, 28, 28}, make([]int64, n), 10)
	l := &Loader{Dataset: ds, BatchSize: 128, Shuffle: true}
	b.ReportAllocs()
	b.ResetTimer()
	batches := 0
	for i := 0; i < b.N; {
		for range l.Epoch(i) {
			batches++
			if i++; i == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(batches), "ns/batch")
}
