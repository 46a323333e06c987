// Command gpt writes a character-level GPT the way a user would write their
// own model with the library: a block of LayerNorm, causal multi-head
// self-attention and an MLP, built from nn layers and tensor ops; trains it
// briefly on a small text (its own source file, by default) with AdamW,
// weight decay on the matrices only and gradient clipping; and samples from
// it. The same model, with a key/value cache for fast sampling and
// checkpoints, is nn.GPT, which `backprop train --data text` trains.
//
//	go run ./examples/gpt                       # learns to write this file
//	go run ./examples/gpt -text input.txt -steps 2000 -embd 128 -layers 4
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

//go:embed main.go
var ownSource []byte

// Block is one pre-LayerNorm transformer block of GPT-2.
type Block struct {
	nn.Base
	heads     int
	ln1, ln2  *nn.LayerNorm
	qkv, proj *nn.Linear
	fc, out   *nn.Linear
}

func NewBlock(d, heads int, rng *bp.RNG) *Block {
	b := &Block{heads: heads,
		ln1: nn.NewLayerNorm(d), qkv: nn.NewLinear(d, 3*d, rng), proj: nn.NewLinear(d, d, rng),
		ln2: nn.NewLayerNorm(d), fc: nn.NewLinear(d, 4*d, rng), out: nn.NewLinear(4*d, d, rng)}
	for name, m := range map[string]nn.Module{"ln1": b.ln1, "qkv": b.qkv, "proj": b.proj, "ln2": b.ln2, "fc": b.fc, "out": b.out} {
		b.AddChild(name, m)
	}
	return b
}

// Forward maps x [B, T, d] to [B, T, d].
func (b *Block) Forward(x *bp.Tensor) *bp.Tensor {
	B, T, d := x.Size(0), x.Size(1), x.Size(2)
	// One projection gives queries, keys and values; each is split into
	// heads: [B, T, d] -> [B, heads, T, d/heads].
	qkv := b.qkv.Forward(b.ln1.Forward(x)).Split(2, d, d, d)
	split := func(t *bp.Tensor) *bp.Tensor { return t.Reshape(B, T, b.heads, d/b.heads).Transpose(1, 2) }
	att := bp.ScaledDotProductAttention(split(qkv[0]), split(qkv[1]), split(qkv[2]), bp.AttentionOptions{Causal: true})
	x = x.Add(b.proj.Forward(att.Transpose(1, 2).Reshape(B, T, d)))
	return x.Add(b.out.Forward(b.fc.Forward(b.ln2.Forward(x)).GELU()))
}

// GPT is token and position embeddings, the blocks, a final LayerNorm and
// a linear head to the vocabulary.
type GPT struct {
	nn.Base
	tok, pos *nn.Embedding
	blocks   []*Block
	lnf      *nn.LayerNorm
	head     *nn.Linear
}

func NewGPT(vocab, context, layers, heads, d int, rng *bp.RNG) *GPT {
	g := &GPT{tok: nn.NewEmbedding(vocab, d, rng), pos: nn.NewEmbedding(context, d, rng),
		lnf: nn.NewLayerNorm(d), head: nn.NewLinear(d, vocab, rng)}
	g.AddChild("tok", g.tok)
	g.AddChild("pos", g.pos)
	// A ModuleList names its blocks blocks.0, blocks.1, ... in the state dict.
	list := nn.NewModuleList()
	for range layers {
		g.blocks = append(g.blocks, NewBlock(d, heads, rng))
		list.Append(g.blocks[len(g.blocks)-1])
	}
	g.AddChild("blocks", list)
	g.AddChild("lnf", g.lnf)
	g.AddChild("head", g.head)
	// GPT-2's initialization: N(0, 0.02) for every matrix, zero biases.
	for _, p := range nn.Parameters(g) {
		if p.T.Dim() == 2 {
			nn.Normal(rng, p.T, 0, 0.02)
		} else if strings.HasSuffix(p.Name, "bias") {
			nn.Constant(p.T, 0)
		}
	}
	return g
}

// Forward maps tokens (int64 [B, T]) to logits [B, T, vocab].
func (g *GPT) Forward(tokens *bp.Tensor) *bp.Tensor {
	pos := bp.Int64.Arange(0, float64(tokens.Size(1)), 1)
	x := g.tok.Forward(tokens).Add(g.pos.Forward(pos))
	for _, b := range g.blocks {
		x = b.Forward(x)
	}
	return g.head.Forward(g.lnf.Forward(x))
}

type options struct {
	text                       string
	steps, layers, heads, embd int
	context, batch, sample     int
	lr                         float64
}

func main() {
	var o options
	flag.StringVar(&o.text, "text", "", "UTF-8 file to learn (default: this program's source)")
	flag.IntVar(&o.steps, "steps", 300, "optimizer steps")
	flag.IntVar(&o.layers, "layers", 2, "transformer blocks")
	flag.IntVar(&o.heads, "heads", 4, "attention heads")
	flag.IntVar(&o.embd, "embd", 64, "model width")
	flag.IntVar(&o.context, "context", 64, "context length in bytes")
	flag.IntVar(&o.batch, "batch", 16, "batch size")
	flag.IntVar(&o.sample, "sample", 300, "bytes to sample after training")
	flag.Float64Var(&o.lr, "lr", 3e-3, "peak learning rate")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gpt:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	text := ownSource
	if o.text != "" {
		c, err := data.ReadText(o.text)
		if err != nil {
			return err
		}
		text = c.Text
	}
	vocab := data.NewVocab(text)
	ids, _ := vocab.Encode(text)
	trainIDs, valIDs := data.Split(ids)
	rng := bp.NewRNG(1)
	model := NewGPT(vocab.Size(), o.context, o.layers, o.heads, o.embd, rng)
	params := nn.Parameters(model)
	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), o.lr, optim.Betas(0.9, 0.95))
	loss := func(x, y *bp.Tensor) *bp.Tensor {
		logits := model.Forward(x)
		return bp.CrossEntropyFromLogits(logits.Reshape(-1, vocab.Size()), y.Reshape(-1))
	}
	windows := &data.Loader{Dataset: data.NewTokenWindows(trainIDs, o.context, vocab.Size()),
		BatchSize: o.batch, Shuffle: true, Seed: 1, DropLast: true}
	val, _ := data.Gather(data.NewTokenWindows(valIDs, o.context, vocab.Size()), []int{0})
	fmt.Printf("%d parameters, vocabulary %d, %d training bytes\n", nn.NumParams(model), vocab.Size(), len(trainIDs))
	for step := 0; step < o.steps; {
		for b := range windows.Epoch(step) {
			if step == o.steps {
				break
			}
			// Warm up for 10% of the steps, then a cosine down to 10%.
			warm := max(1, o.steps/10)
			lr := o.lr * min(1, float64(step+1)/float64(warm))
			if step >= warm {
				lr = o.lr * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(step-warm)/float64(max(1, o.steps-warm)))))
			}
			opt.SetLR(lr)
			l := loss(b.X, b.Y)
			l.Backward()
			optim.ClipGradNorm(params, 1)
			opt.Step()
			opt.ZeroGrad()
			step++
			if step%100 == 0 || step == o.steps {
				vx := bp.FromInt64s(val.I64()[:o.context], 1, o.context).NoGrad()
				vy := bp.FromInt64s(valIDs[1:o.context+1], 1, o.context)
				fmt.Printf("step %d: train loss %.3f, held-out loss %.3f\n", step, l.Item(), loss(vx, vy).Item())
			}
		}
	}
	// Sampling: feed the last context bytes, draw the next one, repeat.
	sampler := nn.Sampler{Temperature: 0.8, TopK: 20, RNG: bp.NewRNG(7)}
	seq, _ := vocab.Encode([]byte("func "))
	for range o.sample {
		window := seq[max(0, len(seq)-o.context):]
		logits := model.Forward(bp.FromInt64s(window, 1, len(window)).NoGrad())
		seq = append(seq, sampler.Next(logits.Select(1, len(window)-1).Select(0, 0)))
	}
	fmt.Printf("sample:\n%s\n", vocab.Decode(seq))
	return nil
}
