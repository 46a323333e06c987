package backprop

import (
	"math"
	"math/rand/v2"
)

// RNG is an explicit, seeded random number generator. All randomness in
// backprop (initialization, dropout, shuffling) comes from one, so that a
// run is reproducible from its seed, and its state can be saved in a
// checkpoint and restored. An RNG is not safe for concurrent use.
type RNG struct {
	src *rand.PCG
	r   *rand.Rand
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	return &RNG{src: src, r: rand.New(src)}
}

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// NormFloat64 returns a standard normal value.
func (g *RNG) NormFloat64() float64 { return g.r.NormFloat64() }

// IntN returns a uniform value in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// Uint64 returns a uniform 64-bit value.
func (g *RNG) Uint64() uint64 { return g.r.Uint64() }

// Perm returns a random permutation of 0..n-1.
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// Shuffle permutes n items through swap.
func (g *RNG) Shuffle(n int, swap func(i, j int)) { g.r.Shuffle(n, swap) }

// MarshalBinary returns the generator's state.
func (g *RNG) MarshalBinary() ([]byte, error) { return g.src.MarshalBinary() }

// UnmarshalBinary restores a state from MarshalBinary.
func (g *RNG) UnmarshalBinary(b []byte) error { return g.src.UnmarshalBinary(b) }

// Normal returns a float32 tensor of normal values with the given mean and
// standard deviation.
func (g *RNG) Normal(mean, std float64, shape ...int) *Tensor {
	return g.NormalOf(Float32, mean, std, shape...)
}

// NormalOf is Normal for any float dtype.
func (g *RNG) NormalOf(dt DType, mean, std float64, shape ...int) *Tensor {
	if g == nil {
		panic("backprop: NormalOf: nil *RNG")
	}
	checkAlloc("NormalOf", dt, shape)
	t := empty(dt, shape)
	for i := range t.Numel() {
		t.setFlat(i, mean+std*g.r.NormFloat64())
	}
	return t
}

// Uniform returns a float32 tensor of values uniform in [lo, hi).
func (g *RNG) Uniform(lo, hi float64, shape ...int) *Tensor {
	return g.UniformOf(Float32, lo, hi, shape...)
}

// UniformOf is Uniform for any float dtype.
func (g *RNG) UniformOf(dt DType, lo, hi float64, shape ...int) *Tensor {
	if g == nil {
		panic("backprop: UniformOf: nil *RNG")
	}
	checkAlloc("UniformOf", dt, shape)
	t := empty(dt, shape)
	for i := range t.Numel() {
		v := lo + (hi-lo)*g.r.Float64()
		if dt == Float32 && float32(v) >= float32(hi) { // rounded up to hi
			v = float64(math.Nextafter32(float32(hi), float32(lo)))
		}
		t.setFlat(i, v)
	}
	return t
}
