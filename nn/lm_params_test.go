package nn

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

// NumParams counts what building the model makes, for several shapes.
func TestLanguageModelNumParams(t *testing.T) {
	count := func(m Module) float64 {
		n := 0
		for _, p := range Parameters(m) {
			n += p.T.Numel()
		}
		return float64(n)
	}
	for _, c := range []GPTConfig{
		{Vocab: 5, Context: 6, Layers: 1, Heads: 2, Embd: 4},
		{Vocab: 97, Context: 16, Layers: 3, Heads: 4, Embd: 32},
	} {
		g, err := NewGPT(c, bp.NewRNG(1))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.NumParams(), count(g); got != want {
			t.Errorf("%+v: NumParams %v, the model has %v", c, got, want)
		}
	}
	for _, c := range []LSTMLMConfig{
		{Vocab: 5, Embd: 3, Hidden: 4, Layers: 1},
		{Vocab: 50, Embd: 8, Hidden: 12, Layers: 3},
	} {
		m, err := NewLSTMLM(c, bp.NewRNG(1))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.NumParams(), count(m); got != want {
			t.Errorf("%+v: NumParams %v, the model has %v", c, got, want)
		}
	}
}
