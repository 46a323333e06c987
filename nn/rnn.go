package nn

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	bp "github.com/gobackprop/backprop"
)

// The recurrent layers RNN, LSTM and GRU follow torch.nn's: the same
// parameters under the same names, the same gate order and equations, the
// same initialization. Layer k has
//
//	weight_ih_lk  [G·H, In_k]   (In_0 = InputSize, In_k = H above)
//	weight_hh_lk  [G·H, H]
//	bias_ih_lk    [G·H]
//	bias_hh_lk    [G·H]
//
// with G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: r, z, n), all
// drawn from U(-1/sqrt(H), 1/sqrt(H)). Inputs are [L, N, In] (sequence
// first, torch's default), [N, L, In] with BatchFirst, or [L, In] for one
// unbatched sequence; states are [NumLayers, N, H] (or [NumLayers, H]
// unbatched). Dropout between layers, bidirectional layers and projections
// (proj_size) are not supported.
//
// The input-to-hidden products of all time steps are one matrix product per
// layer; the recurrence then costs one [N, H]·[H, G·H] product per step.

// recurrent holds what the three layers share.
type recurrent struct {
	Base
	InputSize, HiddenSize, NumLayers int
	BatchFirst                       bool
	// WeightIH[k], WeightHH[k], BiasIH[k], BiasHH[k] are layer k's
	// weight_ih_lk, weight_hh_lk, bias_ih_lk and bias_hh_lk.
	WeightIH, WeightHH, BiasIH, BiasHH []*bp.Tensor

	op    string
	gates int
}

func (r *recurrent) init(op string, gates, in, hidden, layers int, batchFirst bool, rng *bp.RNG) {
	if in <= 0 || hidden <= 0 || layers <= 0 {
		panic(fmt.Sprintf("nn: New%s: input size %d, hidden size %d, %d layers", op, in, hidden, layers))
	}
	mustRNG("New"+op, rng)
	r.op, r.gates = op, gates
	r.InputSize, r.HiddenSize, r.NumLayers, r.BatchFirst = in, hidden, layers, batchFirst
	r.WeightIH = make([]*bp.Tensor, layers)
	r.WeightHH = make([]*bp.Tensor, layers)
	r.BiasIH = make([]*bp.Tensor, layers)
	r.BiasHH = make([]*bp.Tensor, layers)
	b := 1 / math.Sqrt(float64(hidden))
	for k := range layers {
		ink := in
		if k > 0 {
			ink = hidden
		}
		// torch draws every parameter in registration order from one
		// uniform range.
		r.WeightIH[k] = Uniform(rng, bp.Zeros(gates*hidden, ink), -b, b)
		r.WeightHH[k] = Uniform(rng, bp.Zeros(gates*hidden, hidden), -b, b)
		r.BiasIH[k] = Uniform(rng, bp.Zeros(gates*hidden), -b, b)
		r.BiasHH[k] = Uniform(rng, bp.Zeros(gates*hidden), -b, b)
		s := strconv.Itoa(k)
		r.AddParam("weight_ih_l"+s, &r.WeightIH[k])
		r.AddParam("weight_hh_l"+s, &r.WeightHH[k])
		r.AddParam("bias_ih_l"+s, &r.BiasIH[k])
		r.AddParam("bias_hh_l"+s, &r.BiasHH[k])
	}
}

// input checks x and returns its time steps, each [N, In] (or [1, In]
// for an unbatched x), and whether x was unbatched. The steps are views of
// x; nothing is copied.
func (r *recurrent) input(x *bp.Tensor) ([]*bp.Tensor, bool) {
	ok := (x.Dim() == 3 || x.Dim() == 2) && x.Size(-1) == r.InputSize && x.Numel() > 0
	if !ok {
		layout := "[L, N, In]"
		if r.BatchFirst {
			layout = "[N, L, In]"
		}
		panic(fmt.Sprintf("nn: %s: input of shape %v, want %s or [L, In] with In = %d", r.op, x.Shape(), layout, r.InputSize))
	}
	checkDType(r.op, x, r.WeightIH[0])
	unbatched := x.Dim() == 2
	axis := r.timeAxis(unbatched)
	steps := make([]*bp.Tensor, x.Size(axis))
	for t := range steps {
		steps[t] = x.Select(axis, t)
		if unbatched {
			steps[t] = steps[t].Unsqueeze(0)
		}
	}
	return steps, unbatched
}

func (r *recurrent) timeAxis(unbatched bool) int {
	if r.BatchFirst && !unbatched {
		return 1
	}
	return 0
}

// output stacks the top layer's steps [N, H] into the caller's layout.
func (r *recurrent) output(ys []*bp.Tensor, unbatched bool) *bp.Tensor {
	if unbatched {
		return bp.Stack(0, ys...).Squeeze(1)
	}
	return bp.Stack(r.timeAxis(false), ys...)
}

// state returns layer k's initial state from s ([layers, N, H], or
// [layers, H] unbatched; nil means zeros).
func (r *recurrent) state(what string, s *bp.Tensor, k, n int, unbatched bool, dt bp.DType) *bp.Tensor {
	if s == nil {
		return dt.Zeros(n, r.HiddenSize)
	}
	want := []int{r.NumLayers, n, r.HiddenSize}
	if unbatched {
		want = []int{r.NumLayers, r.HiddenSize}
	}
	if !slices.Equal(s.Shape(), want) {
		panic(fmt.Sprintf("nn: %s: %s of shape %v, want %v", r.op, what, s.Shape(), want))
	}
	checkDType(r.op, s, r.WeightIH[0])
	if unbatched {
		return s.Select(0, k).Unsqueeze(0)
	}
	return s.Select(0, k)
}

// finalState stacks the layers' last states into [layers, N, H].
func finalState(hs []*bp.Tensor, unbatched bool) *bp.Tensor {
	s := bp.Stack(0, hs...)
	if unbatched {
		return s.Squeeze(1)
	}
	return s
}

// run runs every layer over the steps xs ([N, In] each), calling cell for
// step t of layer k with the input-to-hidden part xg [N, G·H]; cell returns
// the layer's new hidden state, which is the next layer's input at step t.
// It returns the top layer's states.
//
// The steps are kept as a list from layer to layer, and each step's input
// product is its own matrix product: slicing one [L, N, G·H] product per
// step instead would give each slice a backward pass that writes a whole
// [L, N, G·H] gradient, L² work for L steps.
func (r *recurrent) run(xs []*bp.Tensor, cell func(k int, xg *bp.Tensor) *bp.Tensor) []*bp.Tensor {
	for k := range r.NumLayers {
		outs := make([]*bp.Tensor, len(xs))
		for t, x := range xs {
			outs[t] = cell(k, bp.Linear(x, r.WeightIH[k], r.BiasIH[k]))
		}
		xs = outs
	}
	return xs
}

// RNN is an Elman network, h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), with
// act tanh or ReLU (torch.nn.RNN's nonlinearity).
type RNN struct {
	recurrent
	ReLU bool
}

// NewRNN returns a tanh RNN (relu true: a ReLU RNN) of the given sizes.
func NewRNN(inputSize, hiddenSize, numLayers int, relu, batchFirst bool, rng *bp.RNG) *RNN {
	m := &RNN{ReLU: relu}
	m.init("RNN", 1, inputSize, hiddenSize, numLayers, batchFirst, rng)
	return m
}

// Forward returns the last layer's output at every step.
func (m *RNN) Forward(x *bp.Tensor) *bp.Tensor {
	y, _ := m.ForwardState(x, nil)
	return y
}

// ForwardState runs the network from the initial state h0 (nil: zeros)
// and returns the last layer's output at every step and the final state of
// every layer, as torch's rnn(x, h0) does.
func (m *RNN) ForwardState(x, h0 *bp.Tensor) (out, hN *bp.Tensor) {
	xs, unb := m.input(x)
	hs := make([]*bp.Tensor, m.NumLayers)
	for k := range hs {
		hs[k] = m.state("h0", h0, k, xs[0].Size(0), unb, xs[0].DType())
	}
	y := m.run(xs, func(k int, xg *bp.Tensor) *bp.Tensor {
		a := xg.Add(bp.Linear(hs[k], m.WeightHH[k], m.BiasHH[k]))
		if m.ReLU {
			hs[k] = a.ReLU()
		} else {
			hs[k] = a.Tanh()
		}
		return hs[k]
	})
	return m.output(y, unb), finalState(hs, unb)
}

// LSTM is a long short-term memory network with torch.nn.LSTM's gates:
//
//	i, f, g, o = σ, σ, tanh, σ of the four quarters of x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
//	c' = f·c + i·g
//	h' = o·tanh(c')
type LSTM struct{ recurrent }

// NewLSTM returns an LSTM of the given sizes.
func NewLSTM(inputSize, hiddenSize, numLayers int, batchFirst bool, rng *bp.RNG) *LSTM {
	m := &LSTM{}
	m.init("LSTM", 4, inputSize, hiddenSize, numLayers, batchFirst, rng)
	return m
}

// Forward returns the last layer's output at every step.
func (m *LSTM) Forward(x *bp.Tensor) *bp.Tensor {
	y, _, _ := m.ForwardState(x, nil, nil)
	return y
}

// ForwardState runs the network from the initial states h0 and c0 (nil:
// zeros) and returns the last layer's output at every step and the final
// hidden and cell states of every layer, as torch's lstm(x, (h0, c0)).
func (m *LSTM) ForwardState(x, h0, c0 *bp.Tensor) (out, hN, cN *bp.Tensor) {
	xs, unb := m.input(x)
	ys, hN, cN := m.steps(xs, h0, c0, unb)
	return m.output(ys, unb), hN, cN
}

// steps runs the network over the time steps xs ([N, In] each) and returns
// the top layer's output at each step and the final states.
func (m *LSTM) steps(xs []*bp.Tensor, h0, c0 *bp.Tensor, unb bool) (ys []*bp.Tensor, hN, cN *bp.Tensor) {
	hs := make([]*bp.Tensor, m.NumLayers)
	cs := make([]*bp.Tensor, m.NumLayers)
	for k := range hs {
		hs[k] = m.state("h0", h0, k, xs[0].Size(0), unb, xs[0].DType())
		cs[k] = m.state("c0", c0, k, xs[0].Size(0), unb, xs[0].DType())
	}
	ys = m.run(xs, func(k int, xg *bp.Tensor) *bp.Tensor {
		g := xg.Add(bp.Linear(hs[k], m.WeightHH[k], m.BiasHH[k])).Chunk(4, -1)
		i, f, c, o := g[0].Sigmoid(), g[1].Sigmoid(), g[2].Tanh(), g[3].Sigmoid()
		cs[k] = f.Mul(cs[k]).Add(i.Mul(c))
		hs[k] = o.Mul(cs[k].Tanh())
		return hs[k]
	})
	return ys, finalState(hs, unb), finalState(cs, unb)
}

// GRU is a gated recurrent unit network with torch.nn.GRU's gates:
//
//	r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr)
//	z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)
//	n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn))
//	h' = (1 − z)·n + z·h
type GRU struct{ recurrent }

// NewGRU returns a GRU of the given sizes.
func NewGRU(inputSize, hiddenSize, numLayers int, batchFirst bool, rng *bp.RNG) *GRU {
	m := &GRU{}
	m.init("GRU", 3, inputSize, hiddenSize, numLayers, batchFirst, rng)
	return m
}

// Forward returns the last layer's output at every step.
func (m *GRU) Forward(x *bp.Tensor) *bp.Tensor {
	y, _ := m.ForwardState(x, nil)
	return y
}

// ForwardState runs the network from the initial state h0 (nil: zeros)
// and returns the last layer's output at every step and the final state of
// every layer, as torch's gru(x, h0).
func (m *GRU) ForwardState(x, h0 *bp.Tensor) (out, hN *bp.Tensor) {
	xs, unb := m.input(x)
	hs := make([]*bp.Tensor, m.NumLayers)
	for k := range hs {
		hs[k] = m.state("h0", h0, k, xs[0].Size(0), unb, xs[0].DType())
	}
	y := m.run(xs, func(k int, xg *bp.Tensor) *bp.Tensor {
		xr := xg.Chunk(3, -1)
		hr := bp.Linear(hs[k], m.WeightHH[k], m.BiasHH[k]).Chunk(3, -1)
		r := xr[0].Add(hr[0]).Sigmoid()
		z := xr[1].Add(hr[1]).Sigmoid()
		n := xr[2].Add(r.Mul(hr[2])).Tanh()
		// h' = n + z·(h − n), the same value as (1−z)·n + z·h.
		hs[k] = n.Add(z.Mul(hs[k].Sub(n)))
		return hs[k]
	})
	return m.output(y, unb), finalState(hs, unb)
}
