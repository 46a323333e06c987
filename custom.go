package backprop

import "fmt"

// Function is a differentiable op defined by the user, as
// torch.autograd.Function is: a forward computed on plain tensors and a
// backward that maps the upstream gradient to gradients for the inputs.
//
//	softplus := backprop.Function{
//		Name: "Softplus",
//		Forward: func(in ...*backprop.Tensor) (*backprop.Tensor, []*backprop.Tensor) {
//			return in[0].Exp().AddScalar(1).Log(), nil
//		},
//		Backward: func(c *backprop.BackwardContext, g *backprop.Tensor) []*backprop.Tensor {
//			return []*backprop.Tensor{g.Mul(c.Input(0).Sigmoid())}
//		},
//	}
//	y := softplus.Apply(x)
//
// Forward receives detached inputs, so nothing it does is recorded; Apply
// then records one node for the whole op. Forward may return tensors to save
// for backward (c.Saved(i)). Backward follows the rules of BackwardFunc: use
// the context's tensors, return one gradient per input (nil for none), and
// write it with Tensor ops if the op should support double backward.
// Check a new Function with the gradcheck package.
type Function struct {
	Name     string
	Forward  func(inputs ...*Tensor) (out *Tensor, saved []*Tensor)
	Backward BackwardFunc
}

// Apply runs the function on inputs and records it.
func (f Function) Apply(inputs ...*Tensor) *Tensor {
	if f.Forward == nil || f.Backward == nil {
		panic(fmt.Sprintf("backprop: Function %q: Forward and Backward must both be set", f.Name))
	}
	name := f.Name
	if name == "" {
		name = "Function"
	}
	plain := make([]*Tensor, len(inputs))
	for i, in := range inputs {
		if in == nil {
			panic(fmt.Sprintf("backprop: Function %q: input %d is nil", name, i))
		}
		plain[i] = in.Detach()
	}
	out, saved := f.Forward(plain...)
	if out == nil {
		panic(fmt.Sprintf("backprop: Function %q: Forward returned nil", f.Name))
	}
	if out.node != nil || out.requiresGrad {
		// Forward used a tensor that requires a gradient from elsewhere
		// (a captured parameter): take its value only.
		out = out.Detach()
	}
	for i, s := range saved {
		if s != nil && s.requiresGrad {
			saved[i] = s.Detach()
		}
	}
	return recordSaved(name, out, inputs, saved, checkedBackward("Function "+strconvQuote(name), len(inputs), f.Backward))
}

// checkedBackward wraps a user's backward function so that one returning
// a gradient list of the wrong length is refused, naming the function,
// rather than its extra gradients dropped or its missing ones read as
// none.
func checkedBackward(what string, inputs int, bw BackwardFunc) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		gs := bw(c, g)
		if len(gs) != inputs {
			panic(fmt.Sprintf("backprop: %s: Backward returned %d gradients for %d inputs (return one per input, nil where there is none)", what, len(gs), inputs))
		}
		return gs
	}
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }
