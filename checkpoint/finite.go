package checkpoint

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/gobackprop/backprop"
)

// CheckFinite returns an error naming the first tensor (by name, in
// sorted order) that holds a NaN or an infinity, with the element's index
// and value, and nil when every floating-point element is finite. Integer
// tensors cannot hold either. A loader calls it on weights before using
// them: a model with a NaN weight evaluates to NaN everywhere and trains
// no further, which is better said at once.
func CheckFinite(tensors map[string]*backprop.Tensor) error {
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		t := tensors[name]
		if t == nil || t.DType() == backprop.Int64 {
			continue
		}
		for i, v := range t.Float64s() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("tensor %q holds %v at %v (element %d of %d): the weights are not usable", name, v, unravel(i, t.Shape()), i, t.Numel())
			}
		}
	}
	return nil
}

// unravel turns a row-major flat index into one index per dimension.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}
