package backprop_test

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// panicText runs f and returns what it panicked with, as text, and whether
// that was a runtime error (a bare nil dereference, index out of range or
// makeslice failure) rather than one of the library's own messages.
func panicText(f func()) (msg string, runtimeErr bool) {
	defer func() {
		r := recover()
		if r == nil {
			msg = "<no panic>"
			return
		}
		_, runtimeErr = r.(runtime.Error)
		msg = fmt.Sprint(r)
	}()
	f()
	return
}

func wantPanic(t *testing.T, name string, f func(), want string) {
	t.Helper()
	msg, rt := panicText(f)
	if rt || !strings.Contains(msg, want) {
		t.Errorf("%s: panic %q (runtime error: %v), want one containing %q", name, msg, rt, want)
	}
}

func TestConstructorsRefuseBadSizes(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"Zeros(1<<62, 4)", func() { bp.Zeros(1<<62, 4) }, "backprop: Zeros: shape [4611686018427387904 4] has more elements than an int can count"},
		{"Zeros(-1)", func() { bp.Zeros(-1) }, "backprop: Zeros: negative size -1 in shape [-1]"},
		{"Ones(1<<62, 4, 0)", func() { bp.Ones(1<<62, 4, 0) }, "backprop: Ones: shape [4611686018427387904 4 0] has more elements"},
		{"Full(1<<62, 2)", func() { bp.Float64.Full(1, 1<<62, 2) }, "backprop: Full: shape"},
		{"Zeros(1<<47)", func() { bp.Zeros(1 << 47) }, "backprop: Zeros: a float32 tensor of shape [140737488355328] needs 512 TiB, more than this machine can allocate"},
		{"Arange(0, NaN, 1)", func() { bp.Arange(0, math.NaN(), 1) }, "backprop: Arange: start 0 and stop NaN must be finite"},
		{"Arange(-Inf, 0, 1)", func() { bp.Arange(math.Inf(-1), 0, 1) }, "backprop: Arange: start -Inf and stop 0 must be finite"},
		{"Arange(0, 1, NaN)", func() { bp.Arange(0, 1, math.NaN()) }, "backprop: Arange: step NaN must be finite and non-zero"},
		{"Arange(0, 1e18, 1)", func() { bp.Arange(0, 1e18, 1) }, "backprop: Arange: a float32 tensor of shape [1000000000000000000] needs 3.47 EiB, more than this machine can allocate"},
		{"Arange(0, 1e300, 1)", func() { bp.Float64.Arange(0, 1e300, 1) }, "backprop: Arange(0, 1e+300, 1): 1e+300 values are more than an int can count"},
		{"FromFloat32s overflow", func() { bp.FromFloat32s(nil, 1<<62, 4) }, "backprop: FromFloat32s: shape [4611686018427387904 4] has more elements"},
		{"FromInt64s negative", func() { bp.FromInt64s(nil, -2, 0) }, "backprop: FromInt64s: negative size -2"},
		{"Normal overflow", func() { bp.NewRNG(1).Normal(0, 1, 1<<62, 4) }, "backprop: NormalOf: shape"},
		{"Uniform too big", func() { bp.NewRNG(1).UniformOf(bp.Float64, 0, 1, 1<<46) }, "backprop: UniformOf: a float64 tensor of shape [70368744177664] needs 512 TiB"},
		{"nil RNG", func() { (*bp.RNG)(nil).Uniform(0, 1, 2) }, "backprop: UniformOf: nil *RNG"},
		{"Reshape overflow", func() { bp.Zeros(4).Reshape(1<<62, 4, -1) }, "backprop: Reshape: shape [4611686018427387904 4 1] has more elements"},
		{"Expand overflow", func() { bp.Scalar(1).Expand(1<<62, 4) }, "backprop: Expand: bad shape [4611686018427387904 4]"},
		{"ZerosLike(nil)", func() { bp.ZerosLike(nil) }, "backprop: ZerosLike: the tensor is a nil *Tensor"},
	} {
		wantPanic(t, c.name, c.f, c.want)
	}
	// What still fits is still made.
	if n := bp.Zeros(0, 1<<40).Numel(); n != 0 {
		t.Errorf("Zeros(0, 1<<40) has %d elements", n)
	}
	if got := bp.Float64.Arange(0, 1, 0.25).Float64s(); fmt.Sprint(got) != "[0 0.25 0.5 0.75]" {
		t.Errorf("Arange(0, 1, 0.25) = %v", got)
	}
}

func TestNilTensorsNameTheOp(t *testing.T) {
	x := bp.Ones(2, 3)
	w := bp.Ones(4, 3)
	var nilT *bp.Tensor
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"x.Add(nil)", func() { x.Add(nil) }, "backprop: Add: the argument is a nil *Tensor"},
		{"nil.Add(x)", func() { nilT.Add(x) }, "backprop: Add: the receiver is a nil *Tensor"},
		{"nil.MulScalar(2)", func() { nilT.MulScalar(2) }, "backprop: Mul: the receiver is a nil *Tensor"},
		{"nil.Sum()", func() { nilT.Sum() }, "backprop: Sum: the tensor is a nil *Tensor"},
		{"nil.Exp()", func() { nilT.Exp() }, "backprop: Exp: the tensor is a nil *Tensor"},
		{"nil.Reshape(2)", func() { nilT.Reshape(2) }, "backprop: Reshape: the tensor is a nil *Tensor"},
		{"nil.Item()", func() { nilT.Item() }, "backprop: Item: the tensor is a nil *Tensor"},
		{"nil.Backward()", func() { nilT.Backward() }, "backprop: Backward: the tensor is a nil *Tensor"},
		{"x.MatMul(nil)", func() { x.MatMul(nil) }, "backprop: MatMul: the argument is a nil *Tensor"},
		{"Linear(nil, w, nil)", func() { bp.Linear(nil, w, nil) }, "backprop: Linear: the receiver is a nil *Tensor"},
		{"Concat(0, x, nil)", func() { bp.Concat(0, x, nil) }, "backprop: Concat: tensor 1 is a nil *Tensor"},
		{"CrossEntropyFromLogits(x, nil)", func() { bp.CrossEntropyFromLogits(x, nil) }, "backprop: CrossEntropyFromLogits: the argument is a nil *Tensor"},
		{"Where(nil, x, x)", func() { bp.Where(nil, x, x) }, "backprop: Where: the tensor is a nil *Tensor"},
		{"x.Gather(1, nil)", func() { x.Gather(1, nil) }, "backprop: Gather: the argument is a nil *Tensor"},
		{"CrossEntropy(x, nil)", func() { bp.CrossEntropy(x, nil, bp.CrossEntropyOptions{}) }, "backprop: CrossEntropy: the argument is a nil *Tensor"},
		{"ScaledDotProductAttention(q, nil, v)", func() { bp.ScaledDotProductAttention(x, nil, x, bp.AttentionOptions{}) }, "backprop: ScaledDotProductAttention: k is a nil *Tensor"},
		{"x.MaskedFill(nil, 0)", func() { x.MaskedFill(nil, 0) }, "backprop: MaskedFill: the argument is a nil *Tensor"},
	} {
		wantPanic(t, c.name, c.f, c.want)
	}
	if s := nilT.String(); s != "<nil>" {
		t.Errorf("nil String() = %q", s)
	}
}

// nilAccessors are the methods that read or set a field of the tensor and
// do nothing else: on a nil *Tensor they fail as any Go method on a nil
// pointer does. Every other method (every op) names itself.
var nilAccessors = map[string]bool{
	"DType": true, "Dim": true, "Shape": true, "Strides": true, "Numel": true, "Size": true, "Offset": true,
	"IsContiguous": true, "Name": true, "SetName": true, "Pool": true, "IsLeaf": true, "GradFn": true,
	"RequiresGrad": true, "IsNoGrad": true, "Grad": true, "ZeroGrad": true, "ClearGrad": true, "SetGrad": true,
	"RetainGrad": true, "RegisterHook": true,
}

// Every method of *Tensor, called on a nil receiver or with a nil *Tensor
// argument, panics with the library's message rather than a bare nil
// dereference.
func TestEveryMethodRefusesNil(t *testing.T) {
	var nilT *bp.Tensor
	typ := reflect.TypeOf(nilT)
	x := bp.Float64.Ones(2, 3)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		var args []reflect.Value
		hasT := false
		for j := 1; j < m.Type.NumIn(); j++ {
			in := m.Type.In(j)
			hasT = hasT || in == typ
			if m.Type.IsVariadic() && j == m.Type.NumIn()-1 {
				continue
			}
			args = append(args, reflect.Zero(in))
		}
		call := func(recv *bp.Tensor) func() {
			return func() { m.Func.Call(append([]reflect.Value{reflect.ValueOf(recv)}, args...)) }
		}
		if !nilAccessors[m.Name] && m.Name != "String" {
			if msg, rt := panicText(call(nilT)); rt || !strings.HasPrefix(msg, "backprop: ") || !strings.Contains(msg, "nil") {
				t.Errorf("nil.%s: panic %q", m.Name, msg)
			}
		}
		// SetGrad(nil) clears the gradient; BackwardWith(nil, ...) seeds 1.
		if hasT && m.Name != "SetGrad" && m.Name != "BackwardWith" {
			if msg, rt := panicText(call(x)); rt || !strings.HasPrefix(msg, "backprop: ") || !strings.Contains(msg, "nil") {
				t.Errorf("x.%s(nil): panic %q", m.Name, msg)
			}
		}
	}
}

func TestFunctionGradientCountChecked(t *testing.T) {
	x := bp.Float64.Ones(3).SetRequiresGrad(true)
	y := bp.Float64.Ones(3).SetRequiresGrad(true)
	mk := func(n int) bp.Function {
		return bp.Function{
			Name: "Pair",
			Forward: func(in ...*bp.Tensor) (*bp.Tensor, []*bp.Tensor) {
				return in[0].Mul(in[1]), nil
			},
			Backward: func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
				gs := []*bp.Tensor{g.Mul(c.Input(1)), g.Mul(c.Input(0)), g}
				return gs[:n]
			},
		}
	}
	for _, n := range []int{0, 1, 3} {
		f := mk(n)
		wantPanic(t, fmt.Sprintf("%d gradients", n), func() { f.Apply(x, y).Sum().Backward() },
			fmt.Sprintf(`backprop: Function "Pair": Backward returned %d gradients for 2 inputs`, n))
	}
	mk(2).Apply(x, y).Sum().Backward()
	if got := x.Grad().Float64s(); fmt.Sprint(got) != "[1 1 1]" {
		t.Errorf("grad %v", got)
	}
	wantPanic(t, "nil input", func() { mk(2).Apply(x, nil) }, `backprop: Function "Pair": input 1 is nil`)

	out := bp.Float64.Ones(3)
	r := bp.Record("Mine", out, []*bp.Tensor{x}, nil, func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
		return []*bp.Tensor{g, g}
	})
	wantPanic(t, "Record", func() { r.Sum().Backward() }, "backprop: Record(Mine): Backward returned 2 gradients for 1 inputs")
}

// A tensor too large for the machine panics with an *AllocError, which a
// program taking sizes from its users can tell from a bug.
func TestAllocErrorValue(t *testing.T) {
	defer func() {
		r := recover()
		e, ok := r.(*bp.AllocError)
		if !ok {
			t.Fatalf("panic value %T %v, want *AllocError", r, r)
		}
		if e.Op != "Zeros" || e.DType != bp.Float64 || len(e.Shape) != 2 || e.Bytes != 8*float64(1<<30)*float64(1<<20) || e.Limit != bp.AllocLimit() {
			t.Errorf("AllocError %+v", e)
		}
	}()
	if bp.AllocLimit() == 0 || bp.AllocLimit() > 1<<48 {
		t.Fatalf("AllocLimit %d", bp.AllocLimit())
	}
	bp.Float64.Zeros(1<<30, 1<<20)
}
