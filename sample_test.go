package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestMultinomialFrequencies(t *testing.T) {
	// Unnormalized weights, one of them zero: the frequencies match the
	// normalized weights, and the zero one is never drawn.
	w := []float64{1, 0, 3, 6}
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		p := bp.FromFloat64s(w, 1, 4).To(dt)
		const n = 40000
		s := bp.Multinomial(p, n, true, bp.NewRNG(1))
		if sh := s.Shape(); s.DType() != bp.Int64 || len(sh) != 2 || sh[0] != 1 || sh[1] != n {
			t.Fatalf("samples are %v of shape %v", s.DType(), sh)
		}
		counts := make([]float64, 4)
		for _, v := range s.Ints() {
			counts[v]++
		}
		for j := range w {
			want := w[j] / 10
			got := counts[j] / n
			// Five standard deviations.
			if math.Abs(got-want) > 5*math.Sqrt(want*(1-want)/n)+1e-12 {
				t.Errorf("%v: category %d drawn %.4f of the time, want %.4f", dt, j, got, want)
			}
		}
		if counts[1] != 0 {
			t.Errorf("zero-weight category drawn %v times", counts[1])
		}
	}
}

func TestMultinomialWithoutReplacement(t *testing.T) {
	p := bp.FromFloat64s([]float64{1, 2, 0, 4, 1, 1, 1, 1}, 2, 4)
	for seed := range uint64(50) {
		s := bp.Multinomial(p, 3, false, bp.NewRNG(seed))
		for r := range 2 {
			seen := map[int]bool{}
			for j := range 3 {
				v := int(s.At(r, j))
				if seen[v] || (r == 0 && v == 2) {
					t.Fatalf("seed %d row %d: samples %v repeat or draw the zero weight", seed, r, s.Ints())
				}
				seen[v] = true
			}
		}
	}
	// 1-d, deterministic for a seed.
	q := bp.FromFloat64s([]float64{0.2, 0.3, 0.5})
	a, b := bp.Multinomial(q, 20, true, bp.NewRNG(9)), bp.Multinomial(q, 20, true, bp.NewRNG(9))
	if !equalInts(a.Ints(), b.Ints()) || len(a.Shape()) != 1 {
		t.Errorf("same seed: %v and %v (shape %v)", a.Ints(), b.Ints(), a.Shape())
	}
	if c := bp.Multinomial(q, 20, true, bp.NewRNG(10)); equalInts(a.Ints(), c.Ints()) {
		t.Errorf("different seeds drew the same %v", c.Ints())
	}
}

func TestMultinomialErrors(t *testing.T) {
	rng := bp.NewRNG(1)
	mustPanic(t, "Multinomial: row 1 has weight -1 at 0", func() {
		bp.Multinomial(bp.FromFloat64s([]float64{1, 1, -1, 2}, 2, 2), 1, true, rng)
	})
	mustPanic(t, "weight NaN", func() { bp.Multinomial(bp.FromFloat64s([]float64{math.NaN(), 1}), 1, true, rng) })
	mustPanic(t, "weight +Inf", func() { bp.Multinomial(bp.FromFloat64s([]float64{math.Inf(1), 1}), 1, true, rng) })
	mustPanic(t, "Multinomial: row 0 has no positive weight", func() { bp.Multinomial(bp.Float64.Zeros(3), 1, true, rng) })
	mustPanic(t, "row 0 has only 2 positive weights", func() {
		bp.Multinomial(bp.FromFloat64s([]float64{1, 0, 1}), 3, false, rng)
	})
	mustPanic(t, "4 samples without replacement from 3 categories", func() { bp.Multinomial(bp.Float64.Ones(3), 4, false, rng) })
	mustPanic(t, "0 samples", func() { bp.Multinomial(bp.Float64.Ones(3), 0, true, rng) })
	mustPanic(t, "want [C] or [N, C]", func() { bp.Multinomial(bp.Float64.Ones(1, 1, 3), 1, true, rng) })
	mustPanic(t, "needs a float tensor", func() { bp.Multinomial(bp.FromInts([]int{1, 2}), 1, true, rng) })
}
