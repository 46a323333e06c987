package backprop_test

import (
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	bp "github.com/gobackprop/backprop"
)

// The W3 workload of ../shared/bench/w3_cnn_torch.py, piece by piece: the
// two convolutions of the MNIST CNN at batch 64 (forward, and the backward
// a training step runs: the weight gradient for the first layer, both
// gradients for the second), its max pools, and the whole training step
// written with root ops alone. Compare images/s with the PyTorch twin's
// 938*64 / (s/epoch), measured in the same session:
//
//	go test -run '^$' -bench 'Conv|MaxPool|CNNStep' -benchtime 20x .
//
// On a shared machine, where waiting for a core inflates wall time, the
// process's CPU time per step (cpu-ms/step) is the steadier figure; the
// twin prints its own CPU use as cpu_util.

const cnnBatch = 64

type convLayer struct {
	name    string
	x, w    []int
	opt     bp.Conv2dOptions
	inGrad  bool // the backward pass also needs the input's gradient
	outSize int  // OH*OW
}

var cnnConvs = []convLayer{
	{"conv1/1x28x28->32", []int{cnnBatch, 1, 28, 28}, []int{32, 1, 3, 3}, bp.Conv2dOptions{Padding: [2]int{1, 1}}, false, 28 * 28},
	{"conv2/32x14x14->64", []int{cnnBatch, 32, 14, 14}, []int{64, 32, 3, 3}, bp.Conv2dOptions{Padding: [2]int{1, 1}}, true, 14 * 14},
}

// flops is 2·N·O·OH·OW·(C/groups)·kH·kW, one convolution's multiply-adds.
func (l convLayer) flops() float64 {
	return 2 * float64(l.x[0]*l.w[0]*l.outSize*l.w[1]*l.w[2]*l.w[3])
}

func reportConv(b *testing.B, flops float64, cpu0 time.Duration) {
	s := b.Elapsed().Seconds() / float64(b.N)
	if flops > 0 {
		b.ReportMetric(flops/s/1e9, "GFLOP/s")
	}
	b.ReportMetric(s*1e3, "ms")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms")
}

func BenchmarkConvForward(b *testing.B) {
	rng := bp.NewRNG(1)
	for _, l := range cnnConvs {
		b.Run(l.name, func(b *testing.B) {
			x, w := rng.Normal(0, 1, l.x...), rng.Normal(0, 1, l.w...)
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				x.Conv2d(w, l.opt)
			}
			reportConv(b, l.flops(), c0)
		})
	}
}

// BenchmarkConvBackward times the backward pass alone, through a retained
// graph: the weight gradient, plus the input gradient where a training
// step needs one (GFLOP/s counts the products it computes).
func BenchmarkConvBackward(b *testing.B) {
	rng := bp.NewRNG(2)
	for _, l := range cnnConvs {
		b.Run(l.name, func(b *testing.B) {
			x, w := rng.Normal(0, 1, l.x...), rng.Normal(0, 1, l.w...).SetRequiresGrad(true)
			inputs := []*bp.Tensor{w}
			if l.inGrad {
				x.SetRequiresGrad(true)
				inputs = append(inputs, x)
			}
			y := x.Conv2d(w, l.opt)
			g := rng.Normal(0, 1, y.Shape()...)
			opt := bp.BackwardOptions{RetainGraph: true}
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				bp.Gradients([]*bp.Tensor{y}, []*bp.Tensor{g}, inputs, opt)
			}
			reportConv(b, float64(len(inputs))*l.flops(), c0)
		})
	}
}

func BenchmarkMaxPool(b *testing.B) {
	rng := bp.NewRNG(3)
	for _, shape := range [][]int{{cnnBatch, 32, 28, 28}, {cnnBatch, 64, 14, 14}} {
		opt := bp.Pool2dOptions{Kernel: [2]int{2, 2}}
		name := fmt.Sprintf("%dx%dx%d", shape[1], shape[2], shape[3])
		b.Run("forward/"+name, func(b *testing.B) {
			x := rng.Normal(0, 1, shape...)
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				x.MaxPool2d(opt)
			}
			reportConv(b, 0, c0)
		})
		b.Run("backward/"+name, func(b *testing.B) {
			x := rng.Normal(0, 1, shape...).SetRequiresGrad(true)
			y := x.MaxPool2d(opt)
			g := rng.Normal(0, 1, y.Shape()...)
			in, gs := []*bp.Tensor{x}, []*bp.Tensor{g}
			ys := []*bp.Tensor{y}
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				bp.Gradients(ys, gs, in, bp.BackwardOptions{RetainGraph: true})
			}
			reportConv(b, 0, c0)
		})
	}
}

// cnnVariant picks how the W3 network is written; every variant computes
// the same function.
type cnnVariant struct {
	name      string
	fusedBias bool // Conv2dBias rather than Conv2d and Add
	poolFirst bool // max pool before ReLU: they commute, gradients included
	arena     bool // the step's tensors in a bp.Pool, Reset after each step
	fusedCE   bool // CrossEntropyFromLogits rather than LogSoftmax and Gather
}

var cnnVariants = []cnnVariant{
	{name: "Conv2d+Add"},
	{name: "Conv2dBias", fusedBias: true},
	{name: "Conv2dBias/pool-first", fusedBias: true, poolFirst: true},
	{name: "Conv2dBias/pool-first/arena+CE", fusedBias: true, poolFirst: true, arena: true, fusedCE: true},
}

// cnn is the W3 network's parameters, with torch's default initialization
// scale (uniform in ±1/sqrt(fan_in)), and Adam's state.
type cnn struct {
	cnnVariant
	params []*bp.Tensor // w1 b1 w2 b2 fc1 fc1b fc2 fc2b
	m, v   [][]float32
	steps  int
	pool   *bp.Pool
}

func newCNN(seed uint64, v cnnVariant) *cnn {
	rng := bp.NewRNG(seed)
	shapes := [][]int{{32, 1, 3, 3}, {32}, {64, 32, 3, 3}, {64}, {128, 3136}, {128}, {10, 128}, {10}}
	fanIn := []int{9, 9, 288, 288, 3136, 3136, 128, 128}
	net := &cnn{cnnVariant: v}
	if v.arena {
		net.pool = bp.NewPool()
	}
	for i, s := range shapes {
		bound := 1 / math.Sqrt(float64(fanIn[i]))
		p := rng.Uniform(-bound, bound, s...).SetRequiresGrad(true)
		net.params = append(net.params, p)
		net.m = append(net.m, make([]float32, p.Numel()))
		net.v = append(net.v, make([]float32, p.Numel()))
	}
	return net
}

// loss is the mean cross-entropy of the network on x [N,1,28,28] with
// labels [N] (int64).
func (net *cnn) loss(x, labels *bp.Tensor) *bp.Tensor {
	p := net.params
	pad := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	pool := bp.Pool2dOptions{Kernel: [2]int{2, 2}}
	conv := func(x, w, b *bp.Tensor) *bp.Tensor {
		if net.fusedBias {
			return x.Conv2dBias(w, b, pad)
		}
		return x.Conv2d(w, pad).Add(b.Reshape(1, -1, 1, 1))
	}
	act := func(y *bp.Tensor) *bp.Tensor {
		if net.poolFirst {
			return y.MaxPool2d(pool).ReLU()
		}
		return y.ReLU().MaxPool2d(pool)
	}
	h := act(conv(x, p[0], p[1]))
	h = act(conv(h, p[2], p[3]))
	h = h.Reshape(x.Size(0), -1).MatMul(p[4].T()).Add(p[5]).ReLU()
	logits := h.MatMul(p[6].T()).Add(p[7])
	if net.fusedCE {
		return bp.CrossEntropyFromLogits(logits, labels)
	}
	n := labels.Size(0)
	return logits.LogSoftmax(1).Gather(1, labels.Reshape(n, 1)).Mean().Neg()
}

// step is one training step: forward, Backward, Adam. It returns the loss.
func (net *cnn) step(x, labels *bp.Tensor) float64 {
	if net.pool != nil {
		x = x.InPool(net.pool)
	}
	l := net.loss(x, labels)
	l.Backward()
	net.adam()
	v := l.Item()
	if net.pool != nil {
		net.pool.Reset()
	}
	return v
}

// adam is torch.optim.Adam's update (lr 1e-3, betas 0.9/0.999, eps 1e-8)
// on the raw float32 storage; it clears the gradients as
// zero_grad(set_to_none=True) does.
func (net *cnn) adam() {
	const lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
	net.steps++
	c1 := 1 - math.Pow(b1, float64(net.steps))
	c2 := math.Sqrt(1 - math.Pow(b2, float64(net.steps)))
	for i, p := range net.params {
		w, g, m, v := p.F32(), p.Grad().F32(), net.m[i], net.v[i]
		for j := range w {
			m[j] = b1*m[j] + (1-b1)*g[j]
			v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
			w[j] -= float32(lr / c1 * float64(m[j]) / (math.Sqrt(float64(v[j]))/c2 + eps))
		}
		p.ClearGrad()
	}
}

func cnnBatchData(seed uint64, n int) (x, labels *bp.Tensor) {
	rng := bp.NewRNG(seed)
	x = rng.Uniform(0, 1, n, 1, 28, 28)
	ls := make([]int64, n)
	for i := range ls {
		ls[i] = int64(rng.IntN(10))
	}
	return x, bp.FromInt64s(ls, n)
}

// BenchmarkCNNStep is one training step of the W3 network (forward, loss,
// Backward and Adam) on a fixed batch of 64, written in each of
// cnnVariants' ways: first as nn wrote it before Conv2dBias (Conv2d, then
// Add for the bias, ReLU, then the max pool), last with everything the
// root package offers.
func BenchmarkCNNStep(b *testing.B) {
	for _, v := range cnnVariants {
		b.Run(v.name, func(b *testing.B) {
			net := newCNN(1, v)
			x, labels := cnnBatchData(2, cnnBatch)
			for range 2 { // warm the pools
				net.step(x, labels)
			}
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				net.step(x, labels)
			}
			b.ReportMetric(float64(cnnBatch*b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/step")
		})
	}
}

// TestCNNStepLearns guards the benchmark's network: in every variant a few
// Adam steps on one batch must lower the loss, by the same amounts.
func TestCNNStepLearns(t *testing.T) {
	x, labels := cnnBatchData(2, 16)
	var first []float64
	for _, v := range cnnVariants {
		net := newCNN(1, v)
		var losses []float64
		for range 4 {
			losses = append(losses, net.step(x, labels))
		}
		if !(losses[3] < losses[0]-0.05) {
			t.Fatalf("%s: loss %v after 4 steps", v.name, losses)
		}
		if first == nil {
			first = losses
		}
		for i := range losses {
			if math.Abs(losses[i]-first[i]) > 1e-5 {
				t.Fatalf("%s: losses %v, %s gives %v", v.name, losses, cnnVariants[0].name, first)
			}
		}
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
