// Package synthetic makes small learnable data sets for the tests of the
// training code, so that they need no download and run in milliseconds.
// It imports no training code, so the tests of package train and the DDP
// test pattern (internal/ddptest, over train) share it.
package synthetic

import (
	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
)

// Images is a learnable data set of n images [1, side, side] in 3 classes:
// each class lights up its own band of rows, plus noise drawn from seed.
func Images(n, side int, seed uint64) *data.TensorDataset {
	rng := bp.NewRNG(seed)
	per := side * side
	x := make([]float32, n*per)
	y := make([]int64, n)
	for i := range n {
		c := rng.IntN(3)
		y[i] = int64(c)
		for p := range per {
			v := 0.3 * rng.Float64()
			if (p/side)*3/side == c {
				v += 0.5
			}
			x[i*per+p] = float32(v)
		}
	}
	return data.NewTensorDataset(x, []int{1, side, side}, y, 3)
}
