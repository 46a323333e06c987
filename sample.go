package backprop

import (
	"fmt"
	"math"
	"sort"
)

// Multinomial draws numSamples category indices from each row of probs, as
// torch.multinomial: probs is [C] or [N, C] of non-negative weights (any
// float dtype, not necessarily normalized), and the result is Int64
// [numSamples] or [N, numSamples]. With replacement every draw is from the
// whole row; without it, a category drawn is not drawn again in that row,
// so numSamples may not exceed the row's number of nonzero weights. The
// draws come from rng, one uniform number per draw, row by row, so the
// result is the same for the same seed. A row with a negative, infinite or
// NaN weight, or with no positive weight, panics with a message naming the
// row. The result is never recorded.
func Multinomial(probs *Tensor, numSamples int, replacement bool, rng *RNG) *Tensor {
	const op = "Multinomial"
	probs.mustFloat(op)
	if rng == nil {
		panic("backprop: Multinomial: nil RNG")
	}
	nd := len(probs.shape)
	if nd != 1 && nd != 2 {
		panic(fmt.Sprintf("backprop: %s: probabilities of shape %v, want [C] or [N, C]", op, probs.shape))
	}
	rows, c := 1, probs.shape[nd-1]
	if nd == 2 {
		rows = probs.shape[0]
	}
	if numSamples <= 0 {
		panic(fmt.Sprintf("backprop: %s: %d samples; want at least 1", op, numSamples))
	}
	if !replacement && numSamples > c {
		panic(fmt.Sprintf("backprop: %s: %d samples without replacement from %d categories", op, numSamples, c))
	}
	x := probs.contiguousData()
	w := make([]float64, c)
	cum := make([]float64, c)
	out := empty(Int64, []int{rows, numSamples})
	for r := range rows {
		nonzero := 0
		for j := range c {
			v := x.getFlat(x.offset + r*c + j)
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				panic(fmt.Sprintf("backprop: %s: row %d has weight %v at %d; weights must be finite and non-negative", op, r, v, j))
			}
			w[j] = v
			if v > 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			panic(fmt.Sprintf("backprop: %s: row %d has no positive weight", op, r))
		}
		if !replacement && numSamples > nonzero {
			panic(fmt.Sprintf("backprop: %s: %d samples without replacement, but row %d has only %d positive weights", op, numSamples, r, nonzero))
		}
		total := cumsum(cum, w)
		for s := range numSamples {
			j := drawIndex(cum, total, rng.Float64())
			out.i64[r*numSamples+s] = int64(j)
			if !replacement {
				w[j] = 0
				total = cumsum(cum, w)
			}
		}
	}
	if nd == 1 {
		out = out.Reshape(numSamples)
	}
	out.noGrad = probs.noGrad
	return out
}

// cumsum sets cum to the running sums of w and returns the total.
func cumsum(cum, w []float64) float64 {
	s := 0.0
	for i, v := range w {
		s += v
		cum[i] = s
	}
	return s
}

// drawIndex returns the category whose interval [cum[j-1], cum[j]) holds
// u·total; categories of zero weight have empty intervals and are never
// drawn.
func drawIndex(cum []float64, total, u float64) int {
	t := u * total
	j := sort.Search(len(cum), func(i int) bool { return cum[i] > t })
	if j == len(cum) { // t rounded up to total
		j = len(cum) - 1
		for j > 0 && cum[j] == cum[j-1] {
			j--
		}
	}
	return j
}
