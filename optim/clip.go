package optim

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// ClipGradNorm rescales the gradients of params in place so that their
// global L2 norm (over all elements of all gradients together) is at most
// maxNorm, and returns the norm they had before. When the norm exceeds
// maxNorm every gradient is multiplied by maxNorm/(norm+1e-6), as
// torch.nn.utils.clip_grad_norm_ does. Parameters without a gradient are
// skipped.
//
// The norm is summed in float64 whatever the dtype. A NaN or infinite norm
// is returned as it is and leaves the gradients alone, so the caller can
// skip the step.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	if !(maxNorm >= 0) {
		panic(fmt.Sprintf("optim: ClipGradNorm: invalid max norm %v", maxNorm))
	}
	var sum float64
	for _, p := range params {
		g := p.T.Grad()
		if g == nil {
			continue
		}
		if !g.IsContiguous() {
			// A strided gradient can only have been set by hand; give the
			// parameter a contiguous copy that can be scaled in place.
			g = g.Detach().Contiguous()
			p.T.SetGrad(g)
		}
		switch g.DType() {
		case bp.Float32:
			sum += sumSquares(g.F32())
		case bp.Float64:
			sum += sumSquares(g.F64())
		default:
			panic(fmt.Sprintf("optim: ClipGradNorm: gradient of %q is %v", p.Name, g.DType()))
		}
	}
	total := math.Sqrt(sum)
	if !(total > maxNorm) || math.IsInf(total, 0) {
		return total
	}
	coef := maxNorm / (total + 1e-6)
	for _, p := range params {
		g := p.T.Grad()
		if g == nil {
			continue
		}
		if g.DType() == bp.Float32 {
			scale(g.F32(), float32(coef))
		} else {
			scale(g.F64(), coef)
		}
	}
	return total
}

func sumSquares[T float](x []T) float64 {
	var s float64
	for _, v := range x {
		f := float64(v)
		s += f * f
	}
	return s
}

func scale[T float](x []T, c T) {
	for i := range x {
		x[i] *= c
	}
}
