package nn

import (
	"fmt"
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

func checkFuncWith(t *testing.T, name string, opt gradcheck.Options, f gradcheck.Func, inputs ...*bp.Tensor) {
	t.Helper()
	r := gradcheck.CheckWith(opt, f, inputs...)
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("%s: %v", name, r)
	}
}

func TestModuleList(t *testing.T) {
	rng := bp.NewRNG(1)
	l := NewModuleList(NewLinear(2, 3, rng), NewReLU(), NewLinear(3, 1, rng))
	if l.Len() != 3 || l.At(2).(*Linear).Out != 1 || len(l.All()) != 3 {
		t.Fatalf("ModuleList holds %d modules", l.Len())
	}
	keys := StateKeys(l)
	want := []string{"0.weight", "0.bias", "2.weight", "2.bias"}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keys %v, want %v", keys, want)
		}
	}
	mustPanic(t, "nn: ModuleList has no Forward", func() { l.Forward(bp.Zeros(1, 2)) })
	mustPanic(t, "nn: ModuleList.At: index 3", func() { l.At(3) })
}

func TestMultiheadAttentionGrad(t *testing.T) {
	for _, bf := range []bool{false, true} {
		m := To(NewMultiheadAttention(4, 2, bf, bp.NewRNG(1)), bp.Float64)
		// Biases are zero at init; give them values so their gradients
		// are exercised away from a special point.
		m.InProjBias.CopyFrom(rnd(7, 12))
		m.OutProj.Bias.CopyFrom(rnd(8, 4))
		x := rnd(2, 3, 2, 4) // [L, N, E] or [N, L, E]: both valid shapes
		checkModule(t, "MultiheadAttention self", m, x, nil)

		var lq, lk []int
		if bf {
			lq, lk = []int{2, 3, 4}, []int{2, 5, 4}
		} else {
			lq, lk = []int{3, 2, 4}, []int{5, 2, 4}
		}
		q, k, v := rnd(3, lq...), rnd(4, lk...), rnd(5, lk...)
		pad := bp.FromInts([]int{0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, 2, 5)
		amask := rnd(6, 3, 5)
		for _, opt := range []AttnOptions{{}, {Causal: true}, {AttnMask: amask}, {KeyPaddingMask: pad}, {Causal: true, KeyPaddingMask: pad, AttnMask: amask}} {
			ps := slots(m, true, false)
			inputs := []*bp.Tensor{q, k, v}
			orig := make([]*bp.Tensor, len(ps))
			for i, s := range ps {
				orig[i] = *s.t
				inputs = append(inputs, *s.t)
			}
			// The key bias's gradient is exactly zero (softmax ignores a
			// shift shared by a row), so its finite difference is pure
			// rounding noise near 1e-12: a floor of 1e-5 keeps it from
			// being divided by 1e-6.
			checkFuncWith(t, "MultiheadAttention.Attend", gradcheck.Options{Floor: 1e-5}, func(xs ...*bp.Tensor) *bp.Tensor {
				for i, s := range ps {
					*s.t = xs[i+3]
				}
				return m.Attend(xs[0], xs[1], xs[2], opt)
			}, inputs...)
			for i, s := range ps {
				*s.t = orig[i]
			}
		}
	}
}

// attnReference computes one head's attention by the definition, element by
// element, for batch-first inputs.
func TestMultiheadAttentionValues(t *testing.T) {
	m := To(NewMultiheadAttention(4, 2, true, bp.NewRNG(3)), bp.Float64)
	m.InProjBias.CopyFrom(rnd(1, 12))
	x := rnd(2, 1, 3, 4)
	pad := bp.FromInts([]int{0, 1, 0}, 1, 3)
	got := m.Attend(x, x, x, AttnOptions{Causal: true, KeyPaddingMask: pad})
	// By hand: project, then per head softmax over allowed keys.
	w, b := m.InProjWeight.Float64s(), m.InProjBias.Float64s()
	xs := x.Float64s()
	proj := func(row, i int) float64 { // row of in_proj (0..11), position i
		s := b[row]
		for e := range 4 {
			s += w[row*4+e] * xs[i*4+e]
		}
		return s
	}
	heads := make([]float64, 3*4)
	for h := range 2 {
		for i := range 3 {
			var ws []float64
			var js []int
			mx := math.Inf(-1)
			for j := 0; j <= i; j++ {
				if j == 1 {
					continue // padded key
				}
				s := 0.0
				for d := range 2 {
					s += proj(h*2+d, i) * proj(4+h*2+d, j)
				}
				s /= math.Sqrt(2)
				ws, js = append(ws, s), append(js, j)
				mx = math.Max(mx, s)
			}
			tot := 0.0
			for a := range ws {
				ws[a] = math.Exp(ws[a] - mx)
				tot += ws[a]
			}
			for d := range 2 {
				for a, j := range js {
					heads[i*4+h*2+d] += ws[a] / tot * proj(8+h*2+d, j)
				}
			}
		}
	}
	want := m.OutProj.Forward(bp.FromFloat64s(heads, 1, 3, 4))
	near(t, "attention by definition", got.Float64s(), want.Float64s(), 1e-13)

	mustPanic(t, "nn: NewMultiheadAttention: embed dim 5", func() { NewMultiheadAttention(5, 2, true, bp.NewRNG(1)) })
	mustPanic(t, "want [N, L, E] with E = 4", func() { m.Forward(rnd(1, 2, 3)) })
	mustPanic(t, "key padding mask of shape [3]", func() { m.Attend(x, x, x, AttnOptions{KeyPaddingMask: bp.FromInts([]int{0, 0, 0}, 3)}) })
	mustPanic(t, "attention mask of shape [2 2]", func() { m.Attend(x, x, x, AttnOptions{AttnMask: rnd(1, 2, 2)}) })
}

func TestMultiheadAttentionCache(t *testing.T) {
	for _, bf := range []bool{true, false} {
		m := To(NewMultiheadAttention(6, 3, bf, bp.NewRNG(4)), bp.Float64)
		m.InProjBias.CopyFrom(rnd(1, 18))
		x := rnd(2, 2, 7, 6) // [N, L, E]
		if !bf {
			x = x.Transpose(0, 1).Contiguous()
		}
		full := m.Attend(x, x, x, AttnOptions{Causal: true})
		axis := 1
		if !bf {
			axis = 0
		}
		cache := m.NewKVCache(2, 8, bp.Float64)
		var parts []*bp.Tensor
		for _, span := range [][2]int{{0, 3}, {3, 1}, {4, 1}, {5, 2}} {
			parts = append(parts, m.ForwardStep(x.Narrow(axis, span[0], span[1]).NoGrad(), cache))
		}
		got := bp.Concat(axis, parts...)
		near(t, "cached steps", got.Float64s(), full.Float64s(), 1e-13)
		if cache.Len() != 7 || cache.Cap() != 8 {
			t.Errorf("cache len %d cap %d, want 7 and 8", cache.Len(), cache.Cap())
		}
		mustPanic(t, "exceed the capacity 8", func() { m.ForwardStep(x.Narrow(axis, 0, 2), cache) })
		cache.Reset()
		again := m.ForwardStep(x.Narrow(axis, 0, 3), cache)
		near(t, "after Reset", again.Float64s(), full.Narrow(axis, 0, 3).Contiguous().Float64s(), 1e-13)
	}
}

func TestTransformerBlockGrad(t *testing.T) {
	for _, causal := range []bool{true, false} {
		// Floor 1e-5: the key bias's gradient is exactly zero (see
		// TestMultiheadAttentionGrad).
		b := To(NewTransformerBlock(4, 2, causal, bp.NewRNG(5)), bp.Float64)
		checkModuleWith(t, "TransformerBlock", gradcheck.Options{Floor: 1e-5}, b, rnd(6, 2, 3, 4), nil)
		b.TanhGELU = true
		checkModuleWith(t, "TransformerBlock tanh GELU", gradcheck.Options{Floor: 1e-5}, b, rnd(6, 2, 3, 4), nil)
	}
	// The two GELUs differ, so the flag is really used.
	b0 := To(NewTransformerBlock(4, 2, true, bp.NewRNG(5)), bp.Float64)
	x0 := rnd(8, 1, 3, 4)
	exact := b0.Forward(x0).Float64s()
	b0.TanhGELU = true
	if approx := b0.Forward(x0).Float64s(); approx[0] == exact[0] {
		t.Errorf("tanh GELU gave the exact GELU's output %v", approx[0])
	}
	b := To(NewTransformerBlock(4, 2, true, bp.NewRNG(5)), bp.Float64)
	keys := StateKeys(b)
	want := "ln1.weight ln1.bias attn.in_proj_weight attn.in_proj_bias attn.out_proj.weight attn.out_proj.bias ln2.weight ln2.bias fc.weight fc.bias out.weight out.bias"
	if got := joinKeys(keys); got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
	// Incremental decoding matches the whole sequence.
	x := rnd(7, 1, 5, 4)
	cache := b.Attn.NewKVCache(1, 5, bp.Float64)
	got := bp.Concat(1, b.ForwardStep(x.Narrow(1, 0, 2), cache), b.ForwardStep(x.Narrow(1, 2, 3), cache))
	near(t, "block steps", got.Float64s(), b.Forward(x).Float64s(), 1e-13)
	mustPanic(t, "needs a causal block", func() { NewTransformerBlock(4, 2, false, bp.NewRNG(1)).ForwardStep(x, cache) })
}

func joinKeys(keys []string) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += k
	}
	return s
}

func TestRecurrentGrad(t *testing.T) {
	h0 := rnd(20, 2, 2, 3) // [layers, N, H]
	c0 := rnd(21, 2, 2, 3)
	for _, bf := range []bool{false, true} {
		x := rnd(22, 3, 2, 2) // [L, N, In] or [N, L, In]... with N = 2
		if bf {
			x = rnd(22, 2, 3, 2)
		}
		rnnT := To(NewRNN(2, 3, 2, false, bf, bp.NewRNG(1)), bp.Float64)
		rnnR := To(NewRNN(2, 3, 2, true, bf, bp.NewRNG(2)), bp.Float64)
		lstm := To(NewLSTM(2, 3, 2, bf, bp.NewRNG(3)), bp.Float64)
		gru := To(NewGRU(2, 3, 2, bf, bp.NewRNG(4)), bp.Float64)
		checkModule(t, "RNN tanh", rnnT, x, nil)
		checkModule(t, "RNN relu", rnnR, x, nil)
		checkModule(t, "LSTM", lstm, x, nil)
		checkModule(t, "GRU", gru, x, nil)
		// Gradients through the initial and final states as well: the
		// loss mixes output and final states.
		checkFunc(t, "RNN states", func(xs ...*bp.Tensor) *bp.Tensor {
			y, h := rnnT.ForwardState(xs[0], xs[1])
			return y.Sum().Add(h.Square().Sum())
		}, x, h0)
		checkFunc(t, "LSTM states", func(xs ...*bp.Tensor) *bp.Tensor {
			y, h, c := lstm.ForwardState(xs[0], xs[1], xs[2])
			return y.Sum().Add(h.Square().Sum()).Add(c.MulScalar(0.5).Sum())
		}, x, h0, c0)
		checkFunc(t, "GRU states", func(xs ...*bp.Tensor) *bp.Tensor {
			y, h := gru.ForwardState(xs[0], xs[1])
			return y.Sum().Add(h.Square().Sum())
		}, x, h0)
	}
}

func TestRecurrentShapesAndInit(t *testing.T) {
	m := NewLSTM(5, 4, 3, true, bp.NewRNG(1))
	want := "weight_ih_l0 weight_hh_l0 bias_ih_l0 bias_hh_l0 weight_ih_l1 weight_hh_l1 bias_ih_l1 bias_hh_l1 weight_ih_l2 weight_hh_l2 bias_ih_l2 bias_hh_l2"
	if got := joinKeys(StateKeys(m)); got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
	if !sameInts(m.WeightIH[0].Shape(), []int{16, 5}) || !sameInts(m.WeightIH[1].Shape(), []int{16, 4}) || !sameInts(m.WeightHH[2].Shape(), []int{16, 4}) {
		t.Errorf("LSTM weight shapes %v %v %v", m.WeightIH[0].Shape(), m.WeightIH[1].Shape(), m.WeightHH[2].Shape())
	}
	y, h, c := m.ForwardState(bp.Zeros(2, 7, 5), nil, nil)
	if !sameInts(y.Shape(), []int{2, 7, 4}) || !sameInts(h.Shape(), []int{3, 2, 4}) || !sameInts(c.Shape(), []int{3, 2, 4}) {
		t.Errorf("LSTM shapes out %v h %v c %v", y.Shape(), h.Shape(), c.Shape())
	}
	// The last output of the top layer is its final state.
	x := bp.NewRNG(2).Normal(0, 1, 2, 7, 5)
	y, h, _ = m.ForwardState(x, nil, nil)
	near(t, "last output = final state", y.Select(1, 6).Float64s(), h.Select(0, 2).Float64s(), 0)
	// Unbatched input [L, In] with states [layers, H].
	g := NewGRU(5, 4, 2, false, bp.NewRNG(3))
	yb, hb := g.ForwardState(x.Select(0, 1), bp.Zeros(2, 4))
	yf, hf := g.ForwardState(x.Transpose(0, 1), nil)
	if !sameInts(yb.Shape(), []int{7, 4}) || !sameInts(hb.Shape(), []int{2, 4}) {
		t.Fatalf("unbatched shapes %v %v", yb.Shape(), hb.Shape())
	}
	near(t, "unbatched = batch row", yb.Float64s(), yf.Select(1, 1).Float64s(), 1e-6)
	near(t, "unbatched state", hb.Float64s(), hf.Select(1, 1).Float64s(), 1e-6)
	// torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every parameter.
	big := NewGRU(10, 100, 1, false, bp.NewRNG(4))
	for _, p := range Parameters(big) {
		lo, hi := p.T.Min().Item(), p.T.Max().Item()
		if lo < -0.1 || hi > 0.1 || hi-lo < 0.19 {
			t.Errorf("%s in [%v, %v], want about [-0.1, 0.1]", p.Name, lo, hi)
		}
	}
	mustPanic(t, "nn: LSTM: input of shape [2 7 4], want [N, L, In] or [L, In] with In = 5", func() { m.Forward(bp.Zeros(2, 7, 4)) })
	mustPanic(t, "nn: LSTM: c0 of shape [3 4], want [3 2 4]", func() { m.ForwardState(bp.Zeros(2, 7, 5), nil, bp.Zeros(3, 4)) })
	mustPanic(t, "nn: NewRNN: input size 0", func() { NewRNN(0, 1, 1, false, false, bp.NewRNG(1)) })
}

func TestGPT(t *testing.T) {
	cfg := GPTConfig{Vocab: 5, Context: 6, Layers: 2, Heads: 2, Embd: 4}
	g, err := NewGPT(cfg, bp.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	// The twin's shapes and init.
	shapes := map[string][]int{
		"tok.weight": {5, 4}, "pos.weight": {6, 4},
		"blocks.1.attn.in_proj_weight": {12, 4}, "blocks.1.attn.in_proj_bias": {12},
		"blocks.0.fc.weight": {16, 4}, "blocks.0.out.weight": {4, 16},
		"lnf.weight": {4}, "head.weight": {5, 4}, "head.bias": {5},
	}
	sd := StateDict(g)
	if len(sd) != 6+2*12 {
		t.Errorf("%d state dict entries, want %d", len(sd), 6+2*12)
	}
	for k, s := range shapes {
		if sd[k] == nil || !sameInts(sd[k].Shape(), s) {
			t.Errorf("%s missing or of the wrong shape, want %v", k, s)
		}
	}
	for _, p := range Parameters(g) {
		v := p.T.Float64s()
		switch {
		case p.T.Dim() == 2:
			for _, x := range v {
				if x == 0 || math.Abs(x) > 0.15 {
					t.Errorf("%s has %v, want N(0, 0.02²) values", p.Name, x)
					break
				}
			}
		case contains(p.Name, "ln") && contains(p.Name, "weight"):
			near(t, p.Name, v, onesF(len(v)), 0)
		default:
			near(t, p.Name, v, make([]float64, len(v)), 0)
		}
	}
	// The twin's default model on a corpus of 126 distinct bytes reports
	// params=833918.
	twin, _ := NewGPT(GPTConfig{Vocab: 126, Context: 64, Layers: 4, Heads: 4, Embd: 128}, bp.NewRNG(2))
	if n := NumParams(twin); n != 833918 {
		t.Errorf("the twin's default GPT has %d parameters here, 833918 in PyTorch", n)
	}
	big, _ := NewGPT(GPTConfig{Vocab: 300, Context: 64, Layers: 1, Heads: 1, Embd: 64}, bp.NewRNG(2))
	if std := math.Sqrt(big.Tok.Weight.Var().Item()); math.Abs(std-0.02) > 0.001 {
		t.Errorf("token embedding std %v, want 0.02", std)
	}

	g = To(g, bp.Float64)
	// Values of order one everywhere (the init's 0.02 would make the
	// function bend on a scale close to the finite-difference step), with
	// biases and LayerNorms away from their special initial values.
	for i, p := range Parameters(g) {
		p.T.CopyFrom(rnd(uint64(100+i), p.T.Shape()...).MulScalar(0.5).AddScalar(boolF(contains(p.Name, "ln") && contains(p.Name, "weight"))))
	}
	toks := bp.FromInts([]int{0, 3, 4, 1, 2, 2, 4, 0, 1, 3}, 2, 5)
	logits := g.Forward(toks)
	if !sameInts(logits.Shape(), []int{2, 5, 5}) {
		t.Fatalf("logits shape %v", logits.Shape())
	}
	// Gradcheck over all parameters (the tokens are not differentiable).
	ps := slots(g, true, false)
	var inputs []*bp.Tensor
	for _, s := range ps {
		inputs = append(inputs, *s.t)
	}
	// Floor 1e-5: the key biases' gradients are exactly zero, as in
	// TestMultiheadAttentionGrad.
	checkFuncWith(t, "GPT", gradcheck.Options{Floor: 1e-5}, func(xs ...*bp.Tensor) *bp.Tensor {
		for i, s := range ps {
			*s.t = xs[i]
		}
		return g.Forward(toks)
	}, inputs...)
	for i, s := range ps {
		*s.t = inputs[i]
	}

	// Causality: changing a later token leaves earlier logits alone.
	toks2 := bp.FromInts([]int{0, 3, 4, 1, 0, 2, 4, 0, 1, 3}, 2, 5)
	l2 := g.Forward(toks2)
	near(t, "causal", l2.Narrow(1, 0, 4).Contiguous().Float64s(), logits.Narrow(1, 0, 4).Contiguous().Float64s(), 0)

	// ForwardStep in pieces equals Forward.
	cache := g.NewCache(2)
	parts := bp.Concat(1, g.ForwardStep(toks.Narrow(1, 0, 2).NoGrad(), cache), g.ForwardStep(toks.Narrow(1, 2, 1).NoGrad(), cache), g.ForwardStep(toks.Narrow(1, 3, 2).NoGrad(), cache))
	near(t, "GPT steps", parts.Float64s(), logits.Float64s(), 1e-13)
	if parts.GradFn() != nil {
		t.Errorf("no-grad steps recorded a graph")
	}
	mustPanic(t, "5 cached and 2 new positions exceed the context of 6", func() { g.ForwardStep(toks.Narrow(1, 0, 2), cache) })
	mustPanic(t, "exceed the context of 6", func() { g.Forward(bp.FromInts(make([]int, 7), 1, 7)) })
	mustPanic(t, "want int64 [B, T]", func() { g.Forward(bp.Zeros(1, 3)) })

	// Generate with the cache picks what greedy decoding over the last
	// Context tokens picks while the context is not overrun.
	argmax := func(l *bp.Tensor) int64 { return int64(l.ArgMax(0).Item()) }
	prompt := []int64{1, 2}
	gen := g.Generate(prompt, 4, argmax)
	seq := append([]int64(nil), prompt...)
	for range 4 {
		l := g.Forward(bp.FromInt64s(seq, 1, len(seq)))
		seq = append(seq, argmax(l.Select(1, len(seq)-1).Select(0, 0)))
	}
	for i, v := range gen {
		if v != seq[2+i] {
			t.Fatalf("Generate %v, greedy %v", gen, seq[2:])
		}
	}
	// Past the context the cache is refilled; it must still run and give
	// tokens in range.
	if long := g.Generate(prompt, 20, argmax); len(long) != 20 {
		t.Errorf("Generate returned %d tokens, want 20", len(long))
	}
	// Past the context, the logits Tokens (which Generate collects) hands
	// to next are Forward's over what the cache holds: the window grows by
	// one token a step and, once full, restarts from the last three
	// quarters of the context. Many contexts' worth, so that its own record
	// of the sequence slides several times. next picks a fixed sequence,
	// so that every window differs whatever the little model prefers.
	{
		ctx, keep := g.Config.Context, max(1, g.Config.Context*3/4)
		steps := 5 * ctx
		pick := func(i int) int64 { return int64((i*7 + i/3) % g.Config.Vocab) }
		full := append([]int64(nil), prompt...)
		start, held := 0, len(full)
		var want [][]float64
		for i := range steps {
			l := g.Forward(bp.FromInt64s(full[start:], 1, len(full)-start))
			want = append(want, l.Select(1, len(full)-start-1).Select(0, 0).Float64s())
			full = append(full, pick(i))
			if held == ctx {
				start, held = len(full)-keep, keep
			} else {
				held++
			}
		}
		var seen [][]float64
		next := func(l *bp.Tensor) int64 {
			seen = append(seen, l.Float64s())
			return pick(len(seen) - 1)
		}
		var got []int64
		for tok := range g.Tokens(prompt, next) {
			if got = append(got, tok); len(got) == steps {
				break
			}
		}
		if len(seen) != steps {
			t.Fatalf("next called %d times for %d tokens", len(seen), steps)
		}
		for i := range steps {
			near(t, fmt.Sprintf("Tokens: logits of step %d", i), seen[i], want[i], 1e-12)
		}
		seen = nil
		if gen := g.Generate(prompt, steps, next); !slices.Equal(gen, full[len(prompt):]) {
			t.Errorf("Generate past the context %v, want %v", gen, full[len(prompt):])
		}
	}
	// A count far beyond memory is only a limit: the tokens are drawn as
	// they are taken, not set aside for in advance.
	if got := take(slices.Values([]int64{1, 2, 3}), 1<<62); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("take: %v", got)
	}
	// A prompt longer than the context is cut to its last Context tokens.
	longPrompt := []int64{4, 4, 3, 2, 1, 0, 1, 2, 3}
	first := g.Generate(longPrompt, 1, argmax)[0]
	l := g.Forward(bp.FromInt64s(longPrompt[3:], 1, 6))
	if want := argmax(l.Select(1, 5).Select(0, 0)); first != want {
		t.Errorf("Generate from a long prompt picked %d, want %d", first, want)
	}
	mustPanic(t, "next returned token 9", func() { g.Generate(prompt, 2, func(*bp.Tensor) int64 { return 9 }) })
	mustPanic(t, "empty prompt", func() { g.Generate(nil, 2, argmax) })

	if _, err := NewGPT(GPTConfig{Vocab: 5, Context: 6, Layers: 1, Heads: 3, Embd: 4}, bp.NewRNG(1)); err == nil || !contains(err.Error(), "embd 4 is not a multiple of heads 3") {
		t.Errorf("bad config error %v", err)
	}
	if _, err := NewGPT(GPTConfig{}, bp.NewRNG(1)); err == nil || !contains(err.Error(), "vocab 0 is not positive") {
		t.Errorf("zero config error %v", err)
	}
}

func onesF(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestLSTMLM(t *testing.T) {
	m, err := NewLSTMLM(LSTMLMConfig{Vocab: 6, Embd: 3, Hidden: 4, Layers: 2}, bp.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	m = To(m, bp.Float64)
	want := "tok.weight lstm.weight_ih_l0 lstm.weight_hh_l0 lstm.bias_ih_l0 lstm.bias_hh_l0 lstm.weight_ih_l1 lstm.weight_hh_l1 lstm.bias_ih_l1 lstm.bias_hh_l1 head.weight head.bias"
	if got := joinKeys(StateKeys(m)); got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
	toks := bp.FromInts([]int{0, 5, 2, 2, 1, 3, 4, 0}, 2, 4)
	logits := m.Forward(toks)
	if !sameInts(logits.Shape(), []int{2, 4, 6}) {
		t.Fatalf("logits shape %v", logits.Shape())
	}
	st := &LSTMState{}
	parts := bp.Concat(1, m.ForwardStep(toks.Narrow(1, 0, 3).NoGrad(), st), m.ForwardStep(toks.Narrow(1, 3, 1).NoGrad(), st))
	near(t, "LSTMLM steps", parts.Float64s(), logits.Float64s(), 1e-14)
	if parts.GradFn() != nil || st.H.GradFn() != nil {
		t.Errorf("no-grad steps recorded a graph")
	}

	ps := slots(m, true, false)
	var inputs []*bp.Tensor
	for _, s := range ps {
		inputs = append(inputs, *s.t)
	}
	checkFunc(t, "LSTMLM", func(xs ...*bp.Tensor) *bp.Tensor {
		for i, s := range ps {
			*s.t = xs[i]
		}
		return m.Forward(toks)
	}, inputs...)
	for i, s := range ps {
		*s.t = inputs[i]
	}

	argmax := func(l *bp.Tensor) int64 { return int64(l.ArgMax(0).Item()) }
	gen := m.Generate([]int64{1, 2}, 3, argmax)
	seq := []int64{1, 2}
	for range 3 {
		l := m.Forward(bp.FromInt64s(seq, 1, len(seq)))
		seq = append(seq, argmax(l.Select(1, len(seq)-1).Select(0, 0)))
	}
	for i, v := range gen {
		if v != seq[2+i] {
			t.Fatalf("Generate %v, greedy %v", gen, seq[2:])
		}
	}
	if _, err := NewLSTMLM(LSTMLMConfig{Vocab: 6}, bp.NewRNG(1)); err == nil {
		t.Errorf("no error for a zero-sized LSTM LM")
	}
}

// Second order: the layers are compositions of ops whose backward passes
// are differentiable, so their Hessian-vector products must check too.
func TestSequenceLayersSecondOrder(t *testing.T) {
	mods := []struct {
		name string
		m    Module
		x    *bp.Tensor
	}{
		{"MultiheadAttention", To(NewMultiheadAttention(4, 2, true, bp.NewRNG(1)), bp.Float64), rnd(1, 1, 3, 4)},
		{"TransformerBlock", To(NewTransformerBlock(4, 2, true, bp.NewRNG(2)), bp.Float64), rnd(2, 1, 3, 4)},
		{"RNN", To(NewRNN(2, 3, 2, false, true, bp.NewRNG(3)), bp.Float64), rnd(3, 1, 3, 2)},
		{"LSTM", To(NewLSTM(2, 3, 2, true, bp.NewRNG(4)), bp.Float64), rnd(4, 1, 3, 2)},
		{"GRU", To(NewGRU(2, 3, 1, false, bp.NewRNG(5)), bp.Float64), rnd(5, 3, 1, 2)},
	}
	for _, c := range mods {
		ps := slots(c.m, true, false)
		inputs := []*bp.Tensor{c.x}
		for _, s := range ps {
			inputs = append(inputs, *s.t)
		}
		// Floor 1e-5 for the attention's key bias, whose gradient is
		// exactly zero (see TestMultiheadAttentionGrad).
		r := gradcheck.CheckSecondOrderWith(gradcheck.Options{Floor: 1e-5}, func(xs ...*bp.Tensor) *bp.Tensor {
			for i, s := range ps {
				*s.t = xs[i+1]
			}
			return c.m.Forward(xs[0])
		}, inputs...)
		for i, s := range ps {
			*s.t = inputs[i+1]
		}
		if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
			t.Errorf("%s second order: %v", c.name, r)
		}
	}
}

// The fused attention op agrees with attention written from its
// definition, for every mask the layers pass it.
func TestSdpaMatchesComposite(t *testing.T) {
	q, k, v := rnd(1, 2, 3, 4, 5), rnd(2, 2, 3, 6, 5), rnd(3, 2, 3, 6, 5)
	for _, c := range []struct {
		name   string
		bias   *bp.Tensor
		causal bool
	}{
		{"plain", nil, false},
		{"causal", nil, true},
		{"bias [L S]", rnd(4, 4, 6), false},
		{"key padding [N 1 1 S] and causal", rnd(5, 2, 1, 1, 6), true},
		{"step mask", causalBias(bp.Float64, 4, 6, 2), false},
	} {
		near(t, c.name, sdpa(q, k, v, c.bias, c.causal).Float64s(), sdpaComposite(q, k, v, c.bias, c.causal).Float64s(), 1e-13)
	}
}

func TestSampler(t *testing.T) {
	logits := bp.FromFloat64s([]float64{0.5, 2, -1, 1.9, 0}, 5)
	if got := (Sampler{}).Next(logits); got != 1 {
		t.Errorf("greedy picked %d, want 1", got)
	}
	if got := (Sampler{Temperature: 1, TopK: 1, RNG: bp.NewRNG(1)}).Next(logits); got != 1 {
		t.Errorf("top-1 picked %d, want 1", got)
	}
	// Frequencies follow softmax(logits / T) over the top k.
	for _, c := range []struct {
		temp float64
		k    int
	}{{1, 0}, {0.5, 0}, {2, 3}} {
		s := Sampler{Temperature: c.temp, TopK: c.k, RNG: bp.NewRNG(7)}
		counts := make([]float64, 5)
		const n = 20000
		for range n {
			counts[s.Next(logits)]++
		}
		want := make([]float64, 5)
		tot := 0.0
		for i, v := range logits.Float64s() {
			if c.k == 3 && (i == 2 || i == 4) { // the two smallest are cut
				continue
			}
			want[i] = math.Exp(v / c.temp)
			tot += want[i]
		}
		for i := range want {
			if f := counts[i] / n; math.Abs(f-want[i]/tot) > 0.015 {
				t.Errorf("T=%v k=%d: token %d drawn %.3f of the time, want %.3f", c.temp, c.k, i, f, want[i]/tot)
			}
		}
	}
	// The same seed gives the same tokens.
	a, b := Sampler{Temperature: 1, RNG: bp.NewRNG(3)}, Sampler{Temperature: 1, RNG: bp.NewRNG(3)}
	for range 50 {
		if a.Next(logits) != b.Next(logits) {
			t.Fatal("same seed, different tokens")
		}
	}
	mustPanic(t, "nn: Sampler: temperature -1", func() { (Sampler{Temperature: -1}).Next(logits) })
	mustPanic(t, "want floats [Vocab]", func() { (Sampler{}).Next(logits.Reshape(1, 5)) })
	mustPanic(t, "nn: Sampler: nil *backprop.RNG", func() { (Sampler{Temperature: 1}).Next(logits) })
}

// A float32 model (the training default) computes what its float64 copy
// computes, to float32 precision, forward and backward.
func TestGPTFloat32(t *testing.T) {
	g32, _ := NewGPT(GPTConfig{Vocab: 11, Context: 9, Layers: 2, Heads: 2, Embd: 8}, bp.NewRNG(3))
	for i, p := range Parameters(g32) { // order-one values, so errors are not hidden by 0.02 scales
		p.T.CopyFrom(bp.NewRNG(uint64(50+i)).NormalOf(bp.Float32, 0, 0.5, p.T.Shape()...))
	}
	l32, _ := NewLSTMLM(LSTMLMConfig{Vocab: 11, Embd: 5, Hidden: 6, Layers: 2}, bp.NewRNG(4))
	toks := bp.FromInts([]int{1, 5, 10, 0, 3, 3, 7, 2, 9, 4, 6, 8, 1, 0, 2, 5}, 2, 8)
	labels := bp.FromInts([]int{5, 10, 0, 3, 3, 7, 2, 9, 6, 8, 1, 0, 2, 5, 4, 4}, 16)
	for _, m := range []Module{g32, l32} {
		m64 := To(cloneModule(t, m), bp.Float64)
		loss32 := CrossEntropy(m.Forward(toks).Reshape(16, 11), labels)
		loss64 := CrossEntropy(m64.Forward(toks).Reshape(16, 11), labels)
		near(t, "float32 loss", []float64{loss32.Item()}, []float64{loss64.Item()}, 1e-5)
		loss32.Backward()
		loss64.Backward()
		p64 := Parameters(m64)
		for i, p := range Parameters(m) {
			near(t, "float32 grad "+p.Name, p.T.Grad().Float64s(), p64[i].T.Grad().Float64s(), 1e-4)
		}
	}
}

// cloneModule returns a copy of a GPT or LSTMLM with m's weights.
func cloneModule(t *testing.T, m Module) Module {
	t.Helper()
	var c Module
	switch m := m.(type) {
	case *GPT:
		c, _ = NewGPT(m.Config, bp.NewRNG(99))
	case *LSTMLM:
		c, _ = NewLSTMLM(m.Config, bp.NewRNG(99))
	}
	if err := LoadStateDict(c, StateDict(m)); err != nil {
		t.Fatal(err)
	}
	return c
}
