package nn

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// The reference numbers come from PyTorch: testdata/gen_seq.py writes
// testdata/seq_ref.json with the weights, inputs, outputs and gradients of
// torch.nn.MultiheadAttention, RNN, LSTM, GRU and the GPT of the PyTorch
// twin. Each test loads the weights into our module by their torch names,
// runs the same computation in float64 and compares every output and every
// gradient.

type refTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type refCase map[string]refTensor

func loadSeqRef(t *testing.T) map[string]refCase {
	t.Helper()
	b, err := os.ReadFile("testdata/seq_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases map[string]refCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

func (c refCase) get(t *testing.T, key string) *bp.Tensor {
	t.Helper()
	r, ok := c[key]
	if !ok {
		t.Fatalf("reference has no %q", key)
	}
	return bp.FromFloat64s(r.Data, r.Shape...)
}

func (c refCase) ints(t *testing.T, key string) *bp.Tensor {
	t.Helper()
	r, ok := c[key]
	if !ok {
		t.Fatalf("reference has no %q", key)
	}
	v := make([]int64, len(r.Data))
	for i, x := range r.Data {
		v[i] = int64(x)
	}
	return bp.FromInt64s(v, r.Shape...)
}

// loadParams loads the case's "param.*" tensors into m, renaming torch
// names with rename (nil: the same names).
func (c refCase) loadParams(t *testing.T, m Module, rename func(string) string) {
	t.Helper()
	sd := map[string]*bp.Tensor{}
	for k := range c {
		if name, ok := strings.CutPrefix(k, "param."); ok {
			if rename != nil {
				name = rename(name)
			}
			sd[name] = c.get(t, k)
		}
	}
	if err := LoadStateDict(m, sd); err != nil {
		t.Fatal(err)
	}
}

// parity accumulates the worst errors of a case against PyTorch.
type parity struct {
	t              *testing.T
	name           string
	maxAbs, maxRel float64
	tol            float64
}

// check compares got with the reference want: the absolute error of every
// element must be within tol times the larger of 1 and want's largest
// magnitude. It records the largest absolute error and the largest error
// relative to the element (for elements above 1e-6 in magnitude).
func (p *parity) check(what string, got, want *bp.Tensor) {
	p.t.Helper()
	if !sameInts(got.Shape(), want.Shape()) {
		p.t.Errorf("%s %s: shape %v, want %v", p.name, what, got.Shape(), want.Shape())
		return
	}
	g, w := got.Contiguous().Float64s(), want.Float64s()
	scale := 1.0
	for _, v := range w {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range g {
		d := math.Abs(g[i] - w[i])
		if !(d <= p.tol*scale) {
			p.t.Errorf("%s %s[%d] = %.17g, torch %.17g", p.name, what, i, g[i], w[i])
			return
		}
		p.maxAbs = math.Max(p.maxAbs, d)
		if math.Abs(w[i]) > 1e-6 {
			p.maxRel = math.Max(p.maxRel, d/math.Abs(w[i]))
		}
	}
}

func (p *parity) report() {
	p.t.Logf("%-16s max abs error %.2e, max rel error %.2e", p.name, p.maxAbs, p.maxRel)
}

// lossOf is sum(y · w_y) over the case's outputs, as gen_seq.py computes it.
func (c refCase) lossOf(t *testing.T, p *parity, outs map[string]*bp.Tensor) *bp.Tensor {
	t.Helper()
	var loss *bp.Tensor
	for name, y := range outs {
		p.check("out."+name, y, c.get(t, "out."+name))
		l := y.Mul(c.get(t, "w."+name)).Sum()
		if loss == nil {
			loss = l
		} else {
			loss = loss.Add(l)
		}
	}
	return loss
}

// checkGrads compares the gradients of m's parameters (by torch name) and
// of the named inputs.
func (c refCase) checkGrads(t *testing.T, p *parity, m Module, rename func(string) string, inputs map[string]*bp.Tensor) {
	t.Helper()
	byName := map[string]*bp.Tensor{}
	for _, q := range Parameters(m) {
		byName[q.Name] = q.T
	}
	for k := range c {
		name, ok := strings.CutPrefix(k, "grad.")
		if !ok {
			continue
		}
		ours := name
		if rename != nil {
			ours = rename(name)
		}
		q := byName[ours]
		if q == nil || q.Grad() == nil {
			t.Errorf("%s: no gradient for %s", p.name, ours)
			continue
		}
		p.check(k, q.Grad(), c.get(t, k))
	}
	for name, x := range inputs {
		if x.Grad() == nil {
			t.Errorf("%s: no gradient for input %s", p.name, name)
			continue
		}
		p.check("gin."+name, x.Grad(), c.get(t, "gin."+name))
	}
}

func leaf(x *bp.Tensor) *bp.Tensor { return x.SetRequiresGrad(true) }

const torchTol = 1e-12

func TestMultiheadAttentionMatchesTorch(t *testing.T) {
	cases := loadSeqRef(t)
	for _, bf := range []bool{true, false} {
		sfx := map[bool]string{true: "_bf1", false: "_bf0"}[bf]

		c := cases["mha_self"+sfx]
		m := To(NewMultiheadAttention(6, 3, bf, bp.NewRNG(1)), bp.Float64)
		c.loadParams(t, m, nil)
		p := &parity{t: t, name: "MHA self" + sfx, tol: torchTol}
		x := leaf(c.get(t, "in.x"))
		y := m.Attend(x, x, x, AttnOptions{AttnMask: c.ints(t, "in.mask"), KeyPaddingMask: c.ints(t, "in.pad")})
		c.lossOf(t, p, map[string]*bp.Tensor{"y": y}).Backward()
		c.checkGrads(t, p, m, nil, map[string]*bp.Tensor{"x": x})
		p.report()

		c = cases["mha_cross"+sfx]
		m = To(NewMultiheadAttention(6, 3, bf, bp.NewRNG(1)), bp.Float64)
		c.loadParams(t, m, nil)
		p = &parity{t: t, name: "MHA cross" + sfx, tol: torchTol}
		q, k, v := leaf(c.get(t, "in.q")), leaf(c.get(t, "in.k")), leaf(c.get(t, "in.v"))
		mask := leaf(c.get(t, "in.mask"))
		y = m.Attend(q, k, v, AttnOptions{AttnMask: mask})
		c.lossOf(t, p, map[string]*bp.Tensor{"y": y}).Backward()
		c.checkGrads(t, p, m, nil, map[string]*bp.Tensor{"q": q, "k": k, "v": v, "mask": mask})
		p.report()
	}
}

func TestRecurrentMatchesTorch(t *testing.T) {
	cases := loadSeqRef(t)
	for _, name := range []string{"rnn_tanh_bf0", "rnn_relu_bf1", "lstm_bf1", "lstm_bf0", "gru_bf1", "gru_bf0"} {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no case %s", name)
		}
		bf := strings.HasSuffix(name, "_bf1")
		p := &parity{t: t, name: name, tol: torchTol}
		x, h0 := leaf(c.get(t, "in.x")), leaf(c.get(t, "in.h0"))
		inputs := map[string]*bp.Tensor{"x": x, "h0": h0}
		outs := map[string]*bp.Tensor{}
		var m Module
		switch {
		case strings.HasPrefix(name, "lstm"):
			l := To(NewLSTM(3, 4, 2, bf, bp.NewRNG(1)), bp.Float64)
			c.loadParams(t, l, nil)
			c0 := leaf(c.get(t, "in.c0"))
			inputs["c0"] = c0
			outs["y"], outs["h"], outs["c"] = l.ForwardState(x, h0, c0)
			m = l
		case strings.HasPrefix(name, "gru"):
			g := To(NewGRU(3, 4, 2, bf, bp.NewRNG(1)), bp.Float64)
			c.loadParams(t, g, nil)
			outs["y"], outs["h"] = g.ForwardState(x, h0)
			m = g
		default:
			r := To(NewRNN(3, 4, 2, strings.Contains(name, "relu"), bf, bp.NewRNG(1)), bp.Float64)
			c.loadParams(t, r, nil)
			outs["y"], outs["h"] = r.ForwardState(x, h0)
			m = r
		}
		c.lossOf(t, p, outs).Backward()
		c.checkGrads(t, p, m, nil, inputs)
		p.report()
	}
}

// twinName maps a parameter name of the PyTorch twin's GPT to ours: the
// twin's qkv and proj Linears are our attention's in_proj and out_proj.
func twinName(name string) string {
	for _, r := range [][2]string{{".qkv.weight", ".attn.in_proj_weight"}, {".qkv.bias", ".attn.in_proj_bias"}, {".proj.", ".attn.out_proj."}} {
		if strings.HasSuffix(name, r[0]) || strings.Contains(name, r[0]) {
			return strings.Replace(name, r[0], r[1], 1)
		}
	}
	return name
}

func TestGPTMatchesTwin(t *testing.T) {
	c := loadSeqRef(t)["gpt"]
	g, err := NewGPT(GPTConfig{Vocab: 7, Context: 5, Layers: 2, Heads: 2, Embd: 4}, bp.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	g = To(g, bp.Float64)
	// The twin has exactly our parameters, under the mapped names.
	if n, want := len(Parameters(g)), countPrefix(c, "param."); n != want {
		t.Fatalf("GPT has %d parameters, the twin %d", n, want)
	}
	c.loadParams(t, g, twinName)
	p := &parity{t: t, name: "GPT twin", tol: torchTol}
	idx, tgt := c.ints(t, "in.idx"), c.ints(t, "in.tgt")
	logits := g.Forward(idx)
	p.check("logits", logits, c.get(t, "out.logits"))
	loss := CrossEntropy(logits.Reshape(-1, 7), tgt.Reshape(-1))
	p.check("loss", loss.Reshape(1), c.get(t, "out.loss").Reshape(1))
	loss.Backward()
	c.checkGrads(t, p, g, twinName, nil)
	p.report()
}

func countPrefix(c refCase, prefix string) int {
	n := 0
	for k := range c {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}
