package nn

import (
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

const gradTol = 1e-6

// rnd returns float64 standard normal values.
func rnd(seed uint64, shape ...int) *bp.Tensor {
	return bp.NewRNG(seed).NormalOf(bp.Float64, 0, 1, shape...)
}

// seq returns 2·sin(a·k + b) for k = 0, 1, ... in row-major order, the
// inputs testdata/torch_ref.py feeds PyTorch.
func seq(a, b float64, shape ...int) *bp.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	v := make([]float64, n)
	for k := range v {
		v[k] = 2 * math.Sin(a*float64(k)+b)
	}
	return bp.FromFloat64s(v, shape...)
}

// checkModule gradchecks m's Forward as a function of x and of every
// parameter of m (m must be float64). before, if set, runs at the start of
// each evaluation (to re-seed a Dropout, say).
func checkModule(t *testing.T, name string, m Module, x *bp.Tensor, before func()) {
	t.Helper()
	checkModuleWith(t, name, gradcheck.Options{}, m, x, before)
}

// checkModuleWith is checkModule with gradcheck options.
func checkModuleWith(t *testing.T, name string, opt gradcheck.Options, m Module, x *bp.Tensor, before func()) {
	t.Helper()
	ps := slots(m, true, false)
	orig := make([]*bp.Tensor, len(ps))
	inputs := []*bp.Tensor{x}
	for i, s := range ps {
		orig[i] = *s.t
		inputs = append(inputs, *s.t)
	}
	defer func() {
		for i, s := range ps {
			*s.t = orig[i]
		}
	}()
	f := func(xs ...*bp.Tensor) *bp.Tensor {
		for i, s := range ps {
			*s.t = xs[i+1]
		}
		if before != nil {
			before()
		}
		return m.Forward(xs[0])
	}
	r := gradcheck.CheckWith(opt, f, inputs...)
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("%s: %v", name, r)
	}
}

func checkFunc(t *testing.T, name string, f gradcheck.Func, inputs ...*bp.Tensor) {
	t.Helper()
	r := gradcheck.Check(f, inputs...)
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("%s: %v", name, r)
	}
}

// near reports whether got and want agree to tol, relative to want's scale
// (at least 1).
func near(t *testing.T, name string, got []float64, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Errorf("%s[%d] = %.15g, want %.15g", name, i, got[i], want[i])
		}
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		msg, _ := r.(string)
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
		} else if !contains(msg, want) {
			t.Errorf("panic %v does not mention %q", r, want)
		}
	}()
	f()
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func sameInts(a, b []int) bool { return slices.Equal(a, b) }
