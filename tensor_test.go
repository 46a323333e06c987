package backprop

import (
	"strings"
	"testing"
)

func TestConstructors(t *testing.T) {
	if got := Arange(0, 5, 1).Float64s(); len(got) != 5 || got[4] != 4 {
		t.Fatalf("Arange(0,5,1) = %v", got)
	}
	if got := Float64.Arange(1, 2, 0.25).Float64s(); len(got) != 4 || got[3] != 1.75 {
		t.Fatalf("Arange(1,2,.25) = %v", got)
	}
	if got := Float64.Arange(5, 0, -2).Float64s(); len(got) != 3 || got[2] != 1 {
		t.Fatalf("Arange(5,0,-2) = %v", got)
	}
	if n := Arange(3, 3, 1).Numel(); n != 0 {
		t.Fatalf("empty Arange has %d elements", n)
	}
	z := Zeros(2, 3)
	if z.DType() != Float32 || z.Dim() != 2 || z.Numel() != 6 || !z.IsContiguous() {
		t.Fatalf("Zeros: %v %v", z.DType(), z.Shape())
	}
	s := Float64.Scalar(2.5)
	if s.Dim() != 0 || s.Item() != 2.5 {
		t.Fatalf("Scalar: shape %v item %v", s.Shape(), s.Item())
	}
	if FullLike(z, 7).At(1, 2) != 7 || OnesLike(s).Item() != 1 {
		t.Fatal("Full/Ones like")
	}
	idx := FromInts([]int{3, 1}, 2)
	if idx.DType() != Int64 || idx.At(0) != 3 {
		t.Fatal("FromInts")
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"6 values do not fill shape [4 2]", func() { FromFloat64s(make([]float64, 6), 4, 2) }},
		{"step 0 must be finite and non-zero", func() { Arange(0, 1, 0) }},
		{"Zeros: negative size -1 in shape [2 -1]", func() { Zeros(2, -1) }},
		{"Item: tensor of shape [2] has 2 elements", func() { Zeros(2).Item() }},
		{"At: index [2] out of range", func() { Zeros(2).At(2) }},
		{"F32: tensor of shape [3 2] strides [1 3] is not contiguous", func() { Zeros(2, 3).AsStrided([]int{3, 2}, []int{1, 3}, 0).F32() }},
		{"reaches outside storage", func() { Zeros(2).AsStrided([]int{3}, []int{1}, 0) }},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("panic %v, want %q", r, c.want)
				}
			}()
			c.f()
		}()
	}
}

func TestRNGIsSeededAndRestorable(t *testing.T) {
	a, b := NewRNG(42), NewRNG(42)
	if a.Normal(0, 1, 5).Float64s()[4] != b.Normal(0, 1, 5).Float64s()[4] {
		t.Fatal("same seed, different values")
	}
	state, _ := a.MarshalBinary()
	want := a.Uniform(-1, 1, 3).Float64s()
	c := NewRNG(7)
	if err := c.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if got := c.Uniform(-1, 1, 3).Float64s(); got[2] != want[2] {
		t.Fatal("restored state gives other values")
	}
	u := NewRNG(1).UniformOf(Float32, 2, 3, 1000).Float64s()
	for _, v := range u {
		if v < 2 || v >= 3 {
			t.Fatalf("uniform value %v outside [2,3)", v)
		}
	}
}

func TestPrinting(t *testing.T) {
	cases := []struct {
		t    *Tensor
		want string
	}{
		{FromFloat32s([]float32{1, 2, 3, 4}, 2, 2), "tensor([[1., 2.],\n        [3., 4.]])"},
		{FromFloat64s([]float64{0.5, -1.25}), "tensor([0.5000, -1.2500], dtype=float64)"},
		{Float64.Scalar(3).SetRequiresGrad(true), "tensor(3., dtype=float64, requires_grad=true)"},
		{FromInts([]int{1, 2}), "tensor([1, 2], dtype=int64)"},
		{FromFloat64s([]float64{1e-7, 1}), "tensor([1.0000e-07, 1.0000e+00], dtype=float64)"},
		{Zeros(0, 3), "tensor([], shape=[0 3])"},
	}
	for _, c := range cases {
		if got := c.t.String(); got != c.want {
			t.Errorf("got\n%s\nwant\n%s", got, c.want)
		}
	}
	x := Float64.Scalar(1).SetRequiresGrad(true)
	if got := x.Mul(x).String(); !strings.Contains(got, "grad_fn=Mul") {
		t.Errorf("no grad_fn in %q", got)
	}
	big := Arange(0, 2000, 1).String()
	if !strings.Contains(big, "...") || len(big) > 200 {
		t.Errorf("large tensor not summarized: %d chars", len(big))
	}
}

func TestToAndCopyFrom(t *testing.T) {
	x := FromFloat32s([]float32{1.5, -2}).SetRequiresGrad(true)
	y := x.To(Float64)
	if y.DType() != Float64 || y.At(1) != -2 {
		t.Fatalf("To: %v", y)
	}
	y.Sum().Backward()
	if x.Grad().DType() != Float32 || x.Grad().At(0) != 1 {
		t.Fatalf("gradient through To: %v", x.Grad())
	}
	dst := Zeros(2)
	dst.CopyFrom(FromFloat64s([]float64{3, 4}))
	if dst.At(1) != 4 {
		t.Fatal("CopyFrom")
	}
	// Integers beyond 2^53 survive int64 copies and Ints exactly.
	big := []int64{1<<62 + 1, -(1<<60 + 3)}
	src := FromInt64s(big, 2)
	di := FromInt64s([]int64{0, 0}, 2)
	di.CopyFrom(src.Reshape(1, 2).T().Reshape(2)) // through a copied view too
	if got := di.Ints(); int64(got[0]) != big[0] || int64(got[1]) != big[1] {
		t.Fatalf("int64 CopyFrom and Ints: %v, want %v", got, big)
	}
}
