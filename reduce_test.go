package backprop_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// distinct returns a float64 tensor whose values are all at least 0.1
// apart (a shuffled range), so that finite differences never change which
// element is a maximum. With strided, its layout is a transposed view of
// the last two axes (or every other element of a longer buffer for 1-d).
func distinct(seed uint64, strided bool, shape ...int) *bp.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	perm := bp.NewRNG(seed).Perm(n)
	vals := make([]float64, n)
	for i, p := range perm {
		vals[i] = float64(p)*0.1 - float64(n)*0.05
	}
	if !strided || len(shape) == 0 {
		return bp.FromFloat64s(vals, shape...)
	}
	if len(shape) == 1 {
		buf := make([]float64, 2*n)
		for i, v := range vals {
			buf[2*i] = v
		}
		return bp.FromFloat64s(buf).AsStrided(shape, []int{2}, 0)
	}
	nd := len(shape)
	swapped := slices.Clone(shape)
	swapped[nd-1], swapped[nd-2] = swapped[nd-2], swapped[nd-1]
	st := bp.FromFloat64s(vals, swapped...).Strides()
	st[nd-1], st[nd-2] = st[nd-2], st[nd-1]
	return bp.FromFloat64s(vals, swapped...).AsStrided(shape, st, 0)
}

// tr2 is the transpose of a contiguous 2-d tensor, as a strided view.
func tr2(x *bp.Tensor) *bp.Tensor {
	s := x.Shape()
	return x.AsStrided([]int{s[1], s[0]}, []int{1, s[1]}, x.Offset())
}

// axisSets are the reductions every differentiable reduction is checked
// over, for an input of shape [2, 3, 4].
var axisSets = [][]int{nil, {0}, {1}, {-1}, {0, 2}, {-1, 0}, {0, 1, 2}}

type reduction struct {
	name string
	drop func(x *bp.Tensor, axes ...int) *bp.Tensor
	keep func(x *bp.Tensor, axes ...int) *bp.Tensor
}

var smoothReductions = []reduction{
	{"Sum", (*bp.Tensor).Sum, (*bp.Tensor).SumKeep},
	{"Mean", (*bp.Tensor).Mean, (*bp.Tensor).MeanKeep},
	{"Var", (*bp.Tensor).Var, (*bp.Tensor).VarKeep},
	{"VarWith0", func(x *bp.Tensor, axes ...int) *bp.Tensor { return x.VarWith(0, false, axes...) },
		func(x *bp.Tensor, axes ...int) *bp.Tensor { return x.VarWith(0, true, axes...) }},
	{"LogSumExp", (*bp.Tensor).LogSumExp, (*bp.Tensor).LogSumExpKeep},
}

var extremumReductions = []reduction{
	{"Max", (*bp.Tensor).Max, (*bp.Tensor).MaxKeep},
	{"Min", (*bp.Tensor).Min, (*bp.Tensor).MinKeep},
}

func checkReductionGrads(t *testing.T, rs []reduction, input func(seed uint64, strided bool) *bp.Tensor) {
	t.Helper()
	for _, r := range rs {
		for i, axes := range axisSets {
			for _, strided := range []bool{false, true} {
				x := input(uint64(10*i+1), strided)
				name := fmt.Sprintf("%s%v strided=%v", r.name, axes, strided)
				checkGrad2(t, name, func(xs ...*bp.Tensor) *bp.Tensor { return r.drop(xs[0], axes...) }, x)
				checkGrad2(t, name+" keep", func(xs ...*bp.Tensor) *bp.Tensor { return r.keep(xs[0], axes...) }, x)
			}
		}
	}
}

func TestReductionGrads(t *testing.T) {
	checkReductionGrads(t, smoothReductions, func(seed uint64, strided bool) *bp.Tensor {
		if strided {
			return nonContig(seed, 2, 3, 4)
		}
		return rnd(seed, 2, 3, 4)
	})
}

func TestMaxMinGrads(t *testing.T) {
	checkReductionGrads(t, extremumReductions, func(seed uint64, strided bool) *bp.Tensor {
		return distinct(seed, strided, 2, 3, 4)
	})
}

// A reduction inside a larger expression: its output feeds a product, so
// the second derivative has a cross term between the reduction and x.
func TestReductionGradsComposed(t *testing.T) {
	x := nonContig(3, 3, 5)
	checkGrad2(t, "x*Sum", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].SumKeep(1)) }, x)
	checkGrad2(t, "x*Mean", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].Mean(0)) }, x)
	checkGrad2(t, "x*Var", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].VarKeep(0)) }, x)
	checkGrad2(t, "x*LogSumExp", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].LogSumExpKeep(-1)) }, x)
	checkGrad2(t, "x*Max", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].MaxKeep(1)) }, distinct(4, true, 3, 5))
	// Expanded inputs (stride 0), as the engine's broadcast sums see them.
	b := rnd(7, 3, 1)
	checkGrad2(t, "Expand.Sum(0)", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Expand(3, 4).Sum(0) }, b)
	checkGrad2(t, "Expand.Sum(1)", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Expand(2, 3, 4).Sum(1) }, b)
	checkGrad2(t, "Expand.Var", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Expand(3, 4).Mul(rnd(8, 3, 4)).Var(1) }, b)
	// 1-d strided, and a 0-d input.
	checkGrad2(t, "Var 1-d", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Var() }, nonContig(5, 7))
	checkGrad2(t, "Sum 0-d", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0]).Sum(0) }, rnd(6))
}

func TestSumValues(t *testing.T) {
	x := bp.FromFloat64s([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	cases := []struct {
		got   *bp.Tensor
		shape []int
		want  []float64
	}{
		{x.Sum(0), []int{3}, []float64{5, 7, 9}},
		{x.Sum(1), []int{2}, []float64{6, 15}},
		{x.Sum(-1, 0), nil, []float64{21}},
		{x.Sum(), nil, []float64{21}},
		{x.SumKeep(0), []int{1, 3}, []float64{5, 7, 9}},
		{x.SumKeep(), []int{1, 1}, []float64{21}},
		{x.Mean(1), []int{2}, []float64{2, 5}},
		{x.MeanKeep(0), []int{1, 3}, []float64{2.5, 3.5, 4.5}},
		{x.Max(0), []int{3}, []float64{4, 5, 6}},
		{x.MinKeep(1), []int{2, 1}, []float64{1, 4}},
		{x.Max(), nil, []float64{6}},
		{tr2(x).Sum(0), []int{2}, []float64{6, 15}},
		{bp.Scalar(3).Sum(0), nil, []float64{3}},
		{bp.Scalar(3).Sum(), nil, []float64{3}},
	}
	for i, c := range cases {
		if !slices.Equal(c.got.Shape(), c.shape) || !slices.Equal(c.got.Float64s(), c.want) {
			t.Errorf("case %d: got %v shape %v, want %v shape %v", i, c.got.Float64s(), c.got.Shape(), c.want, c.shape)
		}
	}
	if x.Sum(0).DType() != bp.Float64 || bp.Ones(2).Sum().DType() != bp.Float32 {
		t.Error("Sum changed the dtype")
	}
}

func TestVarValues(t *testing.T) {
	x := bp.FromFloat64s([]float64{1, 2, 4}) // mean 7/3, squared deviations sum 14/3
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("Var", x.Var().Item(), 7.0/3)
	near("VarWith(0)", x.VarWith(0, false).Item(), 14.0/9)
	near("VarWith(2)", x.VarWith(2, false).Item(), 14.0/3)
	if v := x.VarWith(3, false).Item(); !math.IsInf(v, 1) {
		t.Errorf("VarWith(3) of 3 values = %v, want +Inf", v)
	}
	if v := bp.FromFloat64s([]float64{5}).Var().Item(); !math.IsNaN(v) {
		t.Errorf("Var of one value = %v, want NaN", v)
	}
	m := bp.FromFloat64s([]float64{1, 2, 4, 10, 10, 10}, 2, 3)
	got := m.VarKeep(1)
	if !slices.Equal(got.Shape(), []int{2, 1}) {
		t.Errorf("VarKeep shape %v", got.Shape())
	}
	near("VarKeep[0]", got.At(0, 0), 7.0/3)
	near("VarKeep[1]", got.At(1, 0), 0)
	// float32 with a large mean: deviations are taken from a float64 mean.
	f := bp.FromFloat32s([]float32{10000, 10001, 10002, 10003})
	near("float32 Var", f.VarWith(0, false).Item(), 1.25)
}

func TestReductionsOfEmpty(t *testing.T) {
	e := bp.Zeros(0, 3)
	if got := e.Sum(0).Float64s(); !slices.Equal(got, []float64{0, 0, 0}) {
		t.Errorf("Sum of empty axis = %v", got)
	}
	for _, v := range e.Mean(0).Float64s() {
		if !math.IsNaN(v) {
			t.Errorf("Mean of empty axis = %v, want NaN", v)
		}
	}
	if v := e.Var().Item(); !math.IsNaN(v) {
		t.Errorf("Var of empty = %v, want NaN", v)
	}
	if v := e.LogSumExp().Item(); !math.IsInf(v, -1) {
		t.Errorf("LogSumExp of empty = %v, want -Inf", v)
	}
	if s := e.Sum(1).Shape(); !slices.Equal(s, []int{0}) {
		t.Errorf("Sum(1) of [0 3] has shape %v", s)
	}
	if s := bp.Zeros(3, 0).Max(0).Shape(); !slices.Equal(s, []int{0}) {
		t.Errorf("Max(0) of [3 0] has shape %v", s)
	}
	mustPanic(t, "Max: cannot reduce axis 0 of length 0 (shape [0 3])", func() { e.Max(0) })
	mustPanic(t, "Min: cannot reduce axis 0 of length 0", func() { e.Min() })
	mustPanic(t, "ArgMax: cannot reduce axis 0 of length 0", func() { e.ArgMax(0) })
	mustPanic(t, "ArgMin: cannot reduce axis 0 of length 0", func() { e.ArgMin(-2) })
}

func TestReductionAxisErrors(t *testing.T) {
	x := bp.Zeros(2, 3)
	mustPanic(t, "backprop: Sum: axis 2 out of range for 2 dimensions", func() { x.Sum(2) })
	mustPanic(t, "backprop: Sum: axis -3 out of range", func() { x.SumKeep(0, -3) })
	mustPanic(t, "backprop: Mean: axis 0 given twice", func() { x.Mean(0, -2) })
	mustPanic(t, "backprop: Max: axis -3 out of range", func() { x.MaxKeep(-3) })
	mustPanic(t, "backprop: Min: axis 1 given twice", func() { x.Min(1, 1) })
	mustPanic(t, "backprop: Var: axis 5 out of range", func() { x.VarWith(0, true, 5) })
	mustPanic(t, "backprop: LogSumExp: axis 2 out of range", func() { x.LogSumExpKeep(2) })
	mustPanic(t, "backprop: ArgMax: axis 2 out of range", func() { x.ArgMax(2) })
	mustPanic(t, "backprop: ArgMin: axis -3 out of range", func() { x.ArgMin(-3) })
	mustPanic(t, "backprop: Sum: axis 1 out of range for 0 dimensions", func() { bp.Scalar(1).Sum(1) })
	mustPanic(t, "backprop: Sum: axis 0 given twice", func() { bp.Scalar(1).Sum(0, -1) })
	mustPanic(t, "backprop: Sum: needs a float tensor", func() { bp.FromInts([]int{1, 2}).Sum() })
}

func TestMaxTiesSplitGradient(t *testing.T) {
	x := bp.FromFloat64s([]float64{1, 3, 3}).SetRequiresGrad(true)
	x.Max().Backward()
	if got := x.Grad().Float64s(); !slices.Equal(got, []float64{0, 0.5, 0.5}) {
		t.Errorf("grad of max of [1 3 3] = %v, want [0 0.5 0.5]", got)
	}
	y := bp.FromFloat64s([]float64{2, 2, 2, 5, 0, 5}, 2, 3).SetRequiresGrad(true)
	y.MinKeep(1).Sum().Backward()
	want := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 1, 0}
	if got := y.Grad().Float64s(); !slices.Equal(got, want) {
		t.Errorf("grad of row minima = %v, want %v", got, want)
	}
	z := bp.FromFloat64s([]float64{1, 4, 4, 4}, 2, 2).SetRequiresGrad(true)
	z.Max(0).Sum().Backward()
	if got := z.Grad().Float64s(); !slices.Equal(got, []float64{0, 0.5, 1, 0.5}) {
		t.Errorf("grad of column maxima = %v", got)
	}
}

func TestMaxNaN(t *testing.T) {
	nan := math.NaN()
	x := bp.FromFloat64s([]float64{1, nan, 3, 0, 1, 2}, 2, 3)
	if v := x.Max(1).Float64s(); !math.IsNaN(v[0]) || v[1] != 2 {
		t.Errorf("Max(1) = %v, want [NaN 2]", v)
	}
	if v := x.Min(0).Float64s(); v[0] != 0 || !math.IsNaN(v[1]) || v[2] != 2 {
		t.Errorf("Min(0) = %v, want [0 NaN 2]", v)
	}
	y := bp.FromFloat64s([]float64{1, nan, 3, nan})
	if i := y.ArgMax(0).Item(); i != 1 {
		t.Errorf("ArgMax with NaN = %v, want 1 (the first NaN)", i)
	}
	if i := y.ArgMin(0).Item(); i != 1 {
		t.Errorf("ArgMin with NaN = %v, want 1 (the first NaN)", i)
	}
	if i := tr2(bp.FromFloat64s([]float64{1, nan, 3, nan, 7, 0}, 2, 3)).ArgMax(0).Ints(); !slices.Equal(i, []int{1, 0}) {
		t.Errorf("ArgMax(0) of transposed with NaN = %v, want [1 0]", i)
	}
}

func TestArgMaxArgMin(t *testing.T) {
	x := bp.FromFloat64s([]float64{1, 3, 3, 5, 5, 0}, 2, 3)
	check := func(name string, got *bp.Tensor, shape, want []int) {
		t.Helper()
		if got.DType() != bp.Int64 || !slices.Equal(got.Shape(), shape) || !slices.Equal(got.Ints(), want) {
			t.Errorf("%s = %v %v shape %v, want int64 %v shape %v", name, got.DType(), got.Ints(), got.Shape(), want, shape)
		}
	}
	check("ArgMax(1)", x.ArgMax(1), []int{2}, []int{1, 0})
	check("ArgMax(-1)", x.ArgMax(-1), []int{2}, []int{1, 0})
	check("ArgMax(0)", x.ArgMax(0), []int{3}, []int{1, 1, 0})
	check("ArgMin(1)", x.ArgMin(1), []int{2}, []int{0, 2})
	check("ArgMin(0)", x.ArgMin(0), []int{3}, []int{0, 0, 1})
	// Ties in a transposed layout still give the first index.
	check("T.ArgMax(1)", tr2(x).ArgMax(1), []int{3}, []int{1, 1, 0})
	check("T.ArgMax(0)", tr2(x).ArgMax(0), []int{2}, []int{1, 0})
	check("int64", bp.FromInts([]int{4, 9, 9, 1}).ArgMax(0), nil, []int{1})
	check("int64 min", bp.FromInts([]int{4, 9, 9, 1}, 2, 2).ArgMin(0), []int{2}, []int{0, 1})
	check("scalar", bp.Scalar(3).ArgMax(0), nil, []int{0})
	check("length 1", bp.Ones(3, 1).ArgMax(1), []int{3}, []int{0, 0, 0})
	xr := x.SetRequiresGrad(true)
	if xr.ArgMax(1).RequiresGrad() {
		t.Error("ArgMax was recorded")
	}
}

// The order of accumulation is fixed by the reduced axes, not by memory:
// a transposed view and its contiguous copy reduce to the same bits, also
// in float32 and across several sumBlock boundaries.
func TestReductionLayoutIndependent(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		base := bp.NewRNG(7).NormalOf(dt, 1, 3, 2500, 3)
		tr := tr2(base) // [3 2500], strides [1 3]
		cp := tr.Contiguous()
		for _, axes := range [][]int{nil, {0}, {1}, {-1, 0}} {
			for _, op := range []struct {
				name string
				f    func(*bp.Tensor) *bp.Tensor
			}{
				{"Sum", func(x *bp.Tensor) *bp.Tensor { return x.Sum(axes...) }},
				{"Mean", func(x *bp.Tensor) *bp.Tensor { return x.Mean(axes...) }},
				{"Var", func(x *bp.Tensor) *bp.Tensor { return x.Var(axes...) }},
				{"LogSumExp", func(x *bp.Tensor) *bp.Tensor { return x.LogSumExp(axes...) }},
				{"Max", func(x *bp.Tensor) *bp.Tensor { return x.Max(axes...) }},
			} {
				a, b := op.f(tr).Float64s(), op.f(cp).Float64s()
				if !slices.Equal(a, b) {
					t.Errorf("%v %s%v: transposed %v, contiguous %v", dt, op.name, axes, a, b)
				}
			}
		}
	}
	// Against a float64 reference.
	tr := tr2(bp.NewRNG(7).NormalOf(bp.Float32, 1, 3, 2500, 3))
	ref := tr.To(bp.Float64).Sum(1).Float64s()
	got := tr.Sum(1).Float64s()
	for i := range ref {
		if math.Abs(got[i]-ref[i]) > 1e-6*math.Abs(ref[i]) {
			t.Errorf("float32 Sum(1)[%d] = %v, float64 gives %v", i, got[i], ref[i])
		}
	}
}

func TestReductionNegativeStrides(t *testing.T) {
	buf := bp.FromFloat64s([]float64{1, 5, 2, 5, 3, 0})
	rev := buf.AsStrided([]int{6}, []int{-1}, 5) // 0 3 5 2 5 1
	if got := rev.ArgMax(0).Item(); got != 2 {
		t.Errorf("ArgMax of reversed view = %v, want 2", got)
	}
	if got := rev.Max().Item(); got != 5 {
		t.Errorf("Max of reversed view = %v", got)
	}
	m := buf.AsStrided([]int{2, 3}, []int{-3, 1}, 3) // [[5 3 0] [1 5 2]]
	if got := m.Sum(1).Float64s(); !slices.Equal(got, []float64{8, 8}) {
		t.Errorf("Sum(1) of flipped rows = %v", got)
	}
	if got := m.ArgMin(1).Ints(); !slices.Equal(got, []int{2, 0}) {
		t.Errorf("ArgMin(1) of flipped rows = %v", got)
	}
	if got := m.Sum(0).Float64s(); !slices.Equal(got, []float64{6, 8, 2}) {
		t.Errorf("Sum(0) of flipped rows = %v", got)
	}
	x := rnd(9, 12).AsStrided([]int{3, 4}, []int{-4, 1}, 8)
	checkGrad2(t, "Var of flipped", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].VarKeep(0) }, x)
	checkGrad2(t, "Softmax of flipped", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Softmax(0) }, x)
}

func TestFloat32SumAccuracy(t *testing.T) {
	const n = 10_000_000
	x := bp.Full(0.1, n)
	if s := x.Sum().Item(); math.Abs(s-1e6) > 1e-3*1e6 {
		t.Errorf("float32 sum of %d copies of 0.1 = %v, want 1e6", n, s)
	}
	if m := x.Mean().Item(); math.Abs(m-0.1) > 1e-3*0.1 {
		t.Errorf("float32 mean of %d copies of 0.1 = %v", n, m)
	}
	// The same along an outer axis, where each output gathers a column.
	c := bp.Full(0.1, n/4, 4).Sum(0).Float64s()
	for _, s := range c {
		if math.Abs(s-2.5e5) > 1e-3*2.5e5 {
			t.Errorf("column sums = %v, want 2.5e5 each", c)
			break
		}
	}
}

func TestLogSumExpValues(t *testing.T) {
	x := bp.FromFloat64s([]float64{1000, 1000})
	if v := x.LogSumExp().Item(); math.Abs(v-(1000+math.Ln2)) > 1e-12*1000 {
		t.Errorf("LogSumExp([1000 1000]) = %v, want 1000+log 2", v)
	}
	inf := math.Inf(1)
	if v := bp.FromFloat64s([]float64{-inf, -inf}).LogSumExp().Item(); !math.IsInf(v, -1) {
		t.Errorf("LogSumExp of -Inf values = %v, want -Inf", v)
	}
	if v := bp.FromFloat64s([]float64{inf, 0}).LogSumExp().Item(); !math.IsInf(v, 1) {
		t.Errorf("LogSumExp with +Inf = %v, want +Inf", v)
	}
	m := bp.FromFloat32s([]float32{1, 2, 3, -1, -2, -3}, 2, 3)
	got := m.LogSumExpKeep(1)
	if !slices.Equal(got.Shape(), []int{2, 1}) || got.DType() != bp.Float32 {
		t.Fatalf("LogSumExpKeep: %v shape %v", got.DType(), got.Shape())
	}
	for i, row := range [][]float64{{1, 2, 3}, {-1, -2, -3}} {
		want := math.Log(math.Exp(row[0]) + math.Exp(row[1]) + math.Exp(row[2]))
		if math.Abs(got.At(i, 0)-want) > 1e-6 {
			t.Errorf("LogSumExpKeep row %d = %v, want %v", i, got.At(i, 0), want)
		}
	}
}

func BenchmarkSum(b *testing.B) {
	x := bp.NewRNG(1).Normal(0, 1, 512, 512)
	for _, bc := range []struct {
		name string
		x    *bp.Tensor
		axes []int
	}{
		{"all", x, nil},
		{"rows", x, []int{1}},
		{"cols", x, []int{0}},
		{"transposed-rows", tr2(x), []int{1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * bc.x.Numel()))
			for b.Loop() {
				bc.x.Sum(bc.axes...)
			}
		})
	}
}

// Row sums of contiguous rows run four rows side by side; the same rows
// read with a stride take the row-at-a-time path. Same bits, whatever the
// row count (batches of 4 and a rest) and length (full block or not).
func TestRowSumsSideBySide(t *testing.T) {
	for _, shape := range [][]int{{37, 700}, {8, 1024}, {5, 33}, {3, 31}, {2, 4, 100}} {
		for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
			x := bp.NewRNG(5).NormalOf(dt, 1, 3, shape...)
			nd := len(shape)
			strided := x.Transpose(0, nd-1).Contiguous().Transpose(0, nd-1) // same values, inner stride > 1
			for _, op := range []struct {
				name string
				f    func(*bp.Tensor) *bp.Tensor
			}{
				{"Sum", func(t *bp.Tensor) *bp.Tensor { return t.Sum(-1) }},
				{"Mean", func(t *bp.Tensor) *bp.Tensor { return t.Mean(-1) }},
			} {
				a, b := op.f(x).Float64s(), op.f(strided).Float64s()
				for i := range a {
					if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
						t.Fatalf("%v %v %s: row %d is %v contiguous, %v strided", dt, shape, op.name, i, a[i], b[i])
					}
				}
			}
		}
	}
}

// A long contiguous sum runs its blocks side by side (SumLanesRuns); the
// same values read with a stride take the one-block-at-a-time path. Both
// must give the same bits, with partial last blocks and without.
func TestLongSumBlocksSideBySide(t *testing.T) {
	for _, n := range []int{70000, 1 << 17, 300001} {
		for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
			pair := bp.NewRNG(uint64(n)).NormalOf(dt, 1, 3, n, 2)
			strided := pair.Select(1, 0)   // stride 2
			contig := strided.Contiguous() // stride 1
			if a, b := contig.Sum().Float64s()[0], strided.Sum().Float64s()[0]; math.Float64bits(a) != math.Float64bits(b) {
				t.Errorf("%v n=%d: contiguous sum %v, strided %v", dt, n, a, b)
			}
		}
	}
}
