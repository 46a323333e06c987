package backprop

import "fmt"

// The functional API, JAX-style: gradients returned as values, with no
// effect on any tensor's Grad. Calls nest: a gradient computed inside a
// function being differentiated stays differentiable, so Grad of Grad gives
// second derivatives.

// Grad returns the gradient of the scalar f(xs...) with respect to each x.
func Grad(f func(xs ...*Tensor) *Tensor, xs ...*Tensor) []*Tensor {
	_, g := vjp("Grad", f, nil, xs, false)
	return g
}

// ValueAndGrad returns f(xs...) and its gradients.
func ValueAndGrad(f func(xs ...*Tensor) *Tensor, xs ...*Tensor) (*Tensor, []*Tensor) {
	return vjp("ValueAndGrad", f, nil, xs, false)
}

// VJP returns f(xs...) and the vector-Jacobian products v^T (df/dx) for
// each x: the gradients of sum(f(xs...) * v). v has f's output shape.
func VJP(f func(xs ...*Tensor) *Tensor, v *Tensor, xs ...*Tensor) (*Tensor, []*Tensor) {
	return vjp("VJP", f, v, xs, false)
}

// HVP returns the Hessian-vector products H v of the scalar f at xs, one
// per input (vs has one direction per input), by differentiating
// sum_i <grad_i f, v_i> again: reverse over reverse, no Hessian is formed.
func HVP(f func(xs ...*Tensor) *Tensor, xs, vs []*Tensor) []*Tensor {
	if len(vs) != len(xs) {
		panic(fmt.Sprintf("backprop: HVP: %d directions for %d inputs", len(vs), len(xs)))
	}
	dot := func(ins ...*Tensor) *Tensor {
		_, gs := vjp("HVP", f, nil, ins, true)
		var s *Tensor
		for i, g := range gs {
			if !equalShape(g.shape, vs[i].shape) {
				panic(fmt.Sprintf("backprop: HVP: direction %d has shape %v, input has %v", i, vs[i].shape, g.shape))
			}
			t := g.Mul(vs[i]).Sum()
			if s == nil {
				s = t
			} else {
				s = s.Add(t)
			}
		}
		return s
	}
	_, h := vjp("HVP", dot, nil, xs, false)
	return h
}

// vjp evaluates f on stand-ins for xs that require a gradient and
// differentiates. A stand-in for an x that already requires one is a
// recorded alias of it, so the gradient that comes back is itself
// differentiable with respect to x (nesting); for a plain x it is a detached
// leaf view, and no graph is built for the gradient unless create is set.
func vjp(op string, f func(xs ...*Tensor) *Tensor, v *Tensor, xs []*Tensor, create bool) (*Tensor, []*Tensor) {
	if len(xs) == 0 {
		panic(fmt.Sprintf("backprop: %s: no inputs", op))
	}
	inner := make([]*Tensor, len(xs))
	for i, x := range xs {
		x.mustFloat(op)
		if x.requiresGrad {
			inner[i] = x.alias()
			create = true
		} else {
			inner[i] = x.Detach().SetRequiresGrad(true)
		}
	}
	out := f(inner...)
	if v == nil && out.Numel() != 1 {
		panic(fmt.Sprintf("backprop: %s: f returned shape %v, not a scalar (use VJP)", op, out.shape))
	}
	if !out.requiresGrad {
		// f does not depend on its inputs through differentiable ops.
		gs := make([]*Tensor, len(xs))
		for i, x := range xs {
			gs[i] = ZerosLike(x)
		}
		return out, gs
	}
	gs := Gradients([]*Tensor{out}, []*Tensor{v}, inner, BackwardOptions{CreateGraph: create})
	if !create {
		out = out.Detach()
	}
	return out, gs
}

// alias returns a recorded identity view of t: a distinct tensor through
// which gradients flow to t.
func (t *Tensor) alias() *Tensor {
	out := t.view(t.shape, t.strides, t.offset)
	return record("Alias", out, []*Tensor{t}, identityGrad)
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
