package data

import (
	"slices"
	"strings"
	"testing"
)

// mustPanic fails unless f panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("panic %v, want one containing %q", r, want)
		}
	}()
	f()
}

// seqDataset has n examples of shape [2 3]; example i holds 100i+0..5 and
// label i%classes.
func seqDataset(n, classes int) *TensorDataset {
	x := make([]float32, n*6)
	y := make([]int64, n)
	for i := range n {
		for j := range 6 {
			x[i*6+j] = float32(100*i + j)
		}
		y[i] = int64(i % classes)
	}
	return NewTensorDataset(x, []int{2, 3}, y, classes)
}

func TestTensorDataset(t *testing.T) {
	d := seqDataset(5, 3)
	if d.Len() != 5 || !slices.Equal(d.ExampleShape(), []int{2, 3}) || d.Classes() != 3 {
		t.Fatalf("Len %d shape %v classes %d", d.Len(), d.ExampleShape(), d.Classes())
	}
	x, y := d.Example(3)
	if x[0] != 300 || x[5] != 305 || len(x) != 6 || y != 0 {
		t.Fatalf("Example(3) = %v, %d", x, y)
	}

	xs, ys := Gather(d, []int{4, 1, 4})
	if !slices.Equal(xs.Shape(), []int{3, 2, 3}) || !slices.Equal(ys.Shape(), []int{3}) {
		t.Fatalf("Gather shapes %v %v", xs.Shape(), ys.Shape())
	}
	if xs.At(0, 1, 2) != 405 || xs.At(1, 0, 0) != 100 || xs.At(2, 0, 1) != 401 {
		t.Fatalf("Gather x = %v", xs.Float32s())
	}
	if !slices.Equal(ys.Ints(), []int{1, 1, 1}) {
		t.Fatalf("Gather y = %v", ys.Ints())
	}

	s := d.Slice(1, 3)
	if s.Len() != 2 {
		t.Fatalf("Slice len %d", s.Len())
	}
	if x, y := s.Example(1); x[0] != 200 || y != 2 {
		t.Fatalf("Slice example 1 = %v %d", x, y)
	}
	tx, ty := d.Tensors()
	if !slices.Equal(tx.Shape(), []int{5, 2, 3}) || tx.At(4, 1, 2) != 405 || ty.At(2) != 2 {
		t.Fatalf("Tensors: %v %v", tx.Shape(), ty.Ints())
	}

	mustPanic(t, "index 5 out of range", func() { d.Example(5) })
	mustPanic(t, "index -1 out of range", func() { d.Fill([]int{0, -1}, make([]float32, 12), make([]int64, 2)) })
	mustPanic(t, "need 12 values", func() { d.Fill([]int{0, 1}, make([]float32, 6), make([]int64, 2)) })
	mustPanic(t, "[2, 6) out of range", func() { d.Slice(2, 6) })
	mustPanic(t, "7 values are not 1 examples", func() { NewTensorDataset(make([]float32, 7), []int{2, 3}, []int64{0}, 2) })
	mustPanic(t, "non-positive", func() { NewTensorDataset(nil, []int{0, 3}, nil, 2) })
	mustPanic(t, "label 2 of example 1", func() { NewTensorDataset(make([]float32, 2), []int{1}, []int64{0, 2}, 2) })
	mustPanic(t, "0 classes", func() { NewTensorDataset(nil, []int{1}, nil, 0) })
}

func TestNormalize(t *testing.T) {
	d := seqDataset(2, 2) // 2 channels of 3 values
	d.Normalize([]float32{1, 100}, []float32{2, 4})
	want := []float32{
		(0 - 1) / 2.0, (1 - 1) / 2.0, (2 - 1) / 2.0, (3 - 100) / 4.0, (4 - 100) / 4.0, (5 - 100) / 4.0,
		(100 - 1) / 2.0, (101 - 1) / 2.0, (102 - 1) / 2.0, (103 - 100) / 4.0, (104 - 100) / 4.0, (105 - 100) / 4.0,
	}
	if !slices.Equal(d.Images(), want) {
		t.Fatalf("Normalize per channel: got %v want %v", d.Images(), want)
	}
	d = seqDataset(1, 1)
	d.Normalize([]float32{5}, []float32{0.5})
	if !slices.Equal(d.Images(), []float32{-10, -8, -6, -4, -2, 0}) {
		t.Fatalf("Normalize with one mean: %v", d.Images())
	}
	mustPanic(t, "3 means and 3 stds", func() { d.Normalize([]float32{0, 0, 0}, []float32{1, 1, 1}) })
	mustPanic(t, "must be positive", func() { d.Normalize([]float32{0}, []float32{0}) })
}
