// Package gradcheck compares the gradients that backprop computes with
// numerical derivatives from central finite differences, in float64. It is
// how every op in backprop is tested, and how a user checks a custom op.
//
// The error measure is cs231n's relative error |a-n| / max(|a|, |n|), per
// element, where a is the analytic and n the numerical derivative; the
// report names the worst element. A non-scalar function is checked through
// the scalar L = sum(f(x) * r) with fixed random weights r, which tests the
// whole vector-Jacobian product rather than one row of it.
package gradcheck

import (
	"fmt"
	"math"
	"slices"

	bp "github.com/gobackprop/backprop"
)

// Func is a function of tensors to check.
type Func func(xs ...*bp.Tensor) *bp.Tensor

// Options tune a check. The zero value means the defaults.
type Options struct {
	// Step is the finite-difference step h (default 1e-3). The derivative
	// uses the fourth-order central stencil
	// (-L(x+2h) + 8L(x+h) - 8L(x-h) + L(x-2h)) / 12h, whose truncation
	// error is O(h^4), so a step this large keeps rounding error small.
	Step float64
	// Floor is the smallest denominator of the relative error (default
	// 1e-6): two derivatives both smaller than it are compared by their
	// absolute difference scaled by 1/Floor, so exact zeros do not divide.
	Floor float64
	// Seed picks the random weights r (default 1).
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Step == 0 {
		o.Step = 1e-3
	}
	if o.Floor == 0 {
		o.Floor = 1e-6
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Result reports the worst element of a check.
type Result struct {
	MaxRelErr float64 // worst relative error over all inputs and elements
	Input     int     // which input it was in
	Index     []int   // its index in that input
	Analytic  float64 // the engine's derivative there
	Numeric   float64 // the finite-difference derivative there
	Checked   int     // number of elements compared
}

func (r Result) String() string {
	return fmt.Sprintf("max relative error %.3g at input %d index %v (analytic %.10g, numeric %.10g; %d elements checked)",
		r.MaxRelErr, r.Input, r.Index, r.Analytic, r.Numeric, r.Checked)
}

// Check compares f's gradients with respect to each input with finite
// differences. Inputs must be float64; they are copied (keeping their
// strides, so transposed or sliced inputs stay non-contiguous) and the
// copies are what f sees.
func Check(f Func, inputs ...*bp.Tensor) Result { return CheckWith(Options{}, f, inputs...) }

// CheckWith is Check with options.
func CheckWith(opt Options, f Func, inputs ...*bp.Tensor) Result {
	opt = opt.withDefaults()
	xs := make([]*bp.Tensor, len(inputs))
	for i, in := range inputs {
		xs[i] = leafCopy(i, in)
	}
	y := f(xs...)
	if y.DType() != bp.Float64 {
		panic(fmt.Sprintf("gradcheck: f returned a %v tensor; check in float64", y.DType()))
	}
	r := bp.NewRNG(opt.Seed).NormalOf(bp.Float64, 0, 1, y.Shape()...)
	loss := func() float64 { return f(xs...).Mul(r).Sum().Item() }
	L := y.Mul(r).Sum()
	var analytic []*bp.Tensor
	if L.RequiresGrad() {
		analytic = bp.Gradients([]*bp.Tensor{L}, nil, xs, bp.BackwardOptions{})
	} else {
		// No recorded path from any input: the engine's answer is zero (the
		// second derivative of a linear op, say), and the numbers must agree.
		for _, x := range xs {
			analytic = append(analytic, bp.ZerosLike(x))
		}
	}

	res := Result{}
	h := opt.Step
	for i, x := range xs {
		a := analytic[i].Float64s()
		data := x.StorageF64()
		strides := x.Strides()
		k := 0
		forEachIndex(x.Shape(), func(idx []int) {
			p := x.Offset()
			for d, v := range idx {
				p += v * strides[d]
			}
			orig := data[p]
			at := func(d float64) float64 { data[p] = orig + d; return loss() }
			lp2, lp1, lm1, lm2 := at(2*h), at(h), at(-h), at(-2*h)
			data[p] = orig
			n := (-lp2 + 8*lp1 - 8*lm1 + lm2) / (12 * h)
			e := relErr(a[k], n, opt.Floor)
			if res.Checked == 0 || e > res.MaxRelErr || (math.IsNaN(e) && !math.IsNaN(res.MaxRelErr)) {
				res.MaxRelErr, res.Input, res.Index, res.Analytic, res.Numeric = e, i, slices.Clone(idx), a[k], n
			}
			res.Checked++
			k++
		})
	}
	return res
}

// CheckSecondOrder checks second derivatives: it differentiates the scalar
// function x -> sum_i <dL/dx_i, v_i>, where L = sum(f(x) * r) and v are
// fixed random directions, whose gradient is the Hessian-vector product H v.
// The inner gradient is built with CreateGraph, so this tests that every
// backward formula is itself differentiable and correct.
func CheckSecondOrder(f Func, inputs ...*bp.Tensor) Result {
	return CheckSecondOrderWith(Options{}, f, inputs...)
}

// CheckSecondOrderWith is CheckSecondOrder with options.
func CheckSecondOrderWith(opt Options, f Func, inputs ...*bp.Tensor) Result {
	opt = opt.withDefaults()
	rng := bp.NewRNG(opt.Seed + 1)
	var r *bp.Tensor
	vs := make([]*bp.Tensor, len(inputs))
	for i, in := range inputs {
		vs[i] = rng.NormalOf(bp.Float64, 0, 1, in.Shape()...)
	}
	h := func(xs ...*bp.Tensor) *bp.Tensor {
		y := f(xs...)
		if r == nil {
			r = rng.NormalOf(bp.Float64, 0, 1, y.Shape()...)
		}
		L := y.Mul(r).Sum()
		if !L.RequiresGrad() {
			return bp.Float64.Scalar(0)
		}
		gs := bp.Gradients([]*bp.Tensor{L}, nil, xs, bp.BackwardOptions{CreateGraph: true})
		var s *bp.Tensor
		for i, g := range gs {
			t := g.Mul(vs[i]).Sum()
			if s == nil {
				s = t
			} else {
				s = s.Add(t)
			}
		}
		return s
	}
	return CheckWith(opt, h, inputs...)
}

func relErr(a, n, floor float64) float64 {
	if a == n {
		return 0
	}
	return math.Abs(a-n) / math.Max(math.Max(math.Abs(a), math.Abs(n)), floor)
}

// leafCopy copies a float64 input into fresh storage with the same layout
// and makes it a leaf that requires a gradient.
func leafCopy(i int, in *bp.Tensor) *bp.Tensor {
	if in.DType() != bp.Float64 {
		panic(fmt.Sprintf("gradcheck: input %d is %v; gradient checks need float64 inputs", i, in.DType()))
	}
	shape, strides := in.Shape(), in.Strides()
	for d := range shape {
		if strides[d] == 0 && shape[d] > 1 {
			panic(fmt.Sprintf("gradcheck: input %d (shape %v strides %v) has elements sharing storage; pass it unexpanded and expand inside f", i, shape, strides))
		}
	}
	st := slices.Clone(in.StorageF64())
	return bp.FromFloat64s(st).AsStrided(shape, strides, in.Offset()).SetRequiresGrad(true)
}

func forEachIndex(shape []int, fn func(idx []int)) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n == 0 {
		return
	}
	idx := make([]int, len(shape))
	for {
		fn(idx)
		d := len(shape) - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}
