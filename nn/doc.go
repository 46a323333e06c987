// Package nn is neural-network layers, losses and models built on the
// backprop engine, in the shape of torch.nn: modules with a Forward pass and
// named parameters, a state dict, train and eval modes, PyTorch's default
// initializations, and losses computed stably from logits. Everything here
// is a composition of the root package's differentiable ops, so gradients
// come from the engine, and every layer and loss is gradchecked.
//
//	rng := backprop.NewRNG(1)
//	model := nn.NewSequential(
//		nn.NewFlatten(),
//		nn.NewLinear(784, 128, rng), nn.NewReLU(),
//		nn.NewLinear(128, 10, rng),
//	)
//	opt := optim.NewSGD(nn.Parameters(model), 0.1)
//	loss := nn.CrossEntropy(model.Forward(x), labels)
//	loss.Backward()
//	opt.Step()
//	opt.ZeroGrad()
//
// # Modules
//
// A module is a struct that embeds Base and has a Forward method; that is
// the whole Module interface. Its constructor registers its tensors and
// sub-modules by name:
//
//	type Net struct {
//		nn.Base
//		FC1, FC2 *nn.Linear
//	}
//
//	func NewNet(rng *backprop.RNG) *Net {
//		n := &Net{FC1: nn.NewLinear(784, 100, rng), FC2: nn.NewLinear(100, 10, rng)}
//		n.AddChild("fc1", n.FC1)
//		n.AddChild("fc2", n.FC2)
//		return n
//	}
//
//	func (n *Net) Forward(x *backprop.Tensor) *backprop.Tensor {
//		return n.FC2.Forward(n.FC1.Forward(x.Flatten(1, -1)).ReLU())
//	}
//
// Layers register parameters with AddParam("weight", &l.Weight): by the
// address of the field, so Forward reads a plain field while the functions
// over modules can still find the tensor (Parameters, StateDict) and
// replace it (To converts a model to Float64 for gradient checking). Names
// join with dots as in a torch state dict: "fc1.weight", and "0.weight"
// inside a Sequential. The functions Parameters, Buffers, StateDict,
// StateKeys, LoadStateDict, NumParams, Train, Eval, ZeroGrad and To work on
// any module.
//
// Parameters are float32 by default; To(m, backprop.Float64) converts a
// whole model.
//
// # Sequence models
//
// MultiheadAttention, RNN, LSTM and GRU have torch.nn's parameters under
// torch's names, gate orders and initializations, so a PyTorch state dict
// loads into them (testdata/gen_seq.py writes the references the tests
// match to 1e-12). TransformerBlock is GPT-2's pre-LayerNorm block;
// ModuleList holds the blocks of a model. The language models GPT and
// LSTMLM take Int64 tokens [B, T] and return logits [B, T, Vocab]; GPT is
// the PyTorch twin of the benchmarks (../shared/bench/w7_gpt_torch.py),
// with its shapes and initialization:
//
//	g, err := nn.NewGPT(nn.GPTConfig{Vocab: v, Context: 64, Layers: 4, Heads: 4, Embd: 128}, rng)
//	params := nn.Parameters(g)
//	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-3, optim.Betas(0.9, 0.95))
//	logits := g.Forward(x)                                   // x, y: int64 [B, T]
//	loss := nn.CrossEntropy(logits.Reshape(-1, v), y.Reshape(-1))
//
// Sampling decodes incrementally, one position per new token:
// MultiheadAttention.ForwardStep with a KVCache, GPT.ForwardStep with a
// GPTCache (one KVCache per block), LSTMLM.ForwardStep with its LSTMState;
// Generate wraps the loop around a caller's choice of the next token, such
// as a Sampler's (temperature, top-k, seeded draws).
//
// # Inference without a graph
//
// Mark the input NoGrad and nothing is recorded, even though the
// parameters require gradients:
//
//	nn.Eval(model)
//	logits := model.Forward(x.NoGrad())
//
// The no-grad mark travels with the data (see the root package), so there
// is no global mode to switch. In evaluation mode Forward writes nothing
// (Dropout is the identity and BatchNorm reads its running statistics), so
// several goroutines may run inference on one model at once. In training
// mode BatchNorm updates its running statistics and Dropout draws from its
// RNG, so a model being trained belongs to one goroutine.
//
// # Errors
//
// Programmer errors (an input of the wrong shape, a label out of range)
// panic with a message that starts with "nn:", the layer or loss, and the
// shapes. LoadStateDict and NewModel, which take what may come from outside
// (a checkpoint, a command line), return errors.
package nn
