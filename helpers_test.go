package backprop_test

import (
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

// Shared helpers for the op tests: random float64 inputs, contiguous or not,
// and assertions that an op's first and second derivatives match finite
// differences to 1e-6 relative error.

const gradTol = 1e-6

// rnd returns a float64 tensor of standard normal values.
func rnd(seed uint64, shape ...int) *bp.Tensor {
	return bp.NewRNG(seed).NormalOf(bp.Float64, 0, 1, shape...)
}

// rndAway returns normal values at least margin away from every point in
// kinks, for ops that are not differentiable there (relu at 0, say).
func rndAway(seed uint64, margin float64, kinks []float64, shape ...int) *bp.Tensor {
	t := rnd(seed, shape...)
	d := t.F64()
	for i := range d {
		for _, k := range kinks {
			if d[i]-k < margin && d[i]-k > -margin {
				if d[i] >= k {
					d[i] = k + margin + (d[i] - k)
				} else {
					d[i] = k - margin + (d[i] - k)
				}
			}
		}
	}
	return t
}

// nonContig returns a float64 tensor of the given shape whose layout is not
// contiguous: a transposed view (last two axes) for 2 or more dimensions,
// every other element of a longer buffer for 1 dimension.
func nonContig(seed uint64, shape ...int) *bp.Tensor {
	n := len(shape)
	if n == 0 {
		return rnd(seed)
	}
	if n == 1 {
		base := rnd(seed, 2*shape[0])
		return base.AsStrided(shape, []int{2}, 1)
	}
	swapped := append([]int(nil), shape...)
	swapped[n-1], swapped[n-2] = swapped[n-2], swapped[n-1]
	base := rnd(seed, swapped...)
	st := base.Strides()
	st[n-1], st[n-2] = st[n-2], st[n-1]
	return base.AsStrided(shape, st, 0)
}

// checkGrad asserts that f's gradients match finite differences.
func checkGrad(t *testing.T, name string, f gradcheck.Func, inputs ...*bp.Tensor) {
	t.Helper()
	r := gradcheck.Check(f, inputs...)
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("%s: %v", name, r)
	}
}

// checkGrad2 asserts first and second derivatives (double backward).
func checkGrad2(t *testing.T, name string, f gradcheck.Func, inputs ...*bp.Tensor) {
	t.Helper()
	checkGrad(t, name, f, inputs...)
	r := gradcheck.CheckSecondOrder(f, inputs...)
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("%s (second order): %v", name, r)
	}
}

// mustPanic asserts that f panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		msg, _ := r.(string)
		if !contains(msg, want) {
			t.Errorf("panic %q does not mention %q", r, want)
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
