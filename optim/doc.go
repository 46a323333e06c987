// Package optim turns gradients into better weights: the optimizers SGD
// (with momentum, dampening, Nesterov), RMSprop, Adam and AdamW, learning
// rate schedules, and gradient-norm clipping. Each follows PyTorch's update
// rule exactly, and the tests replay PyTorch's own runs
// (testdata/gen_torch.py) to 1e-12 in float64.
//
//	params := []optim.Param{{Name: "fc.weight", T: w}, {Name: "fc.bias", T: b}}
//	opt := optim.NewAdamW(params, 3e-4, optim.WeightDecay(0.05))
//	sched := optim.NewScheduler(opt, optim.Warmup{Steps: 500, Then: optim.CosineAnnealing{TMax: 10000}})
//	for range steps {
//		loss := ... // forward pass
//		loss.Backward()
//		optim.ClipGradNorm(params, 1)
//		opt.Step()
//		opt.ZeroGrad()
//		sched.Step() // a schedule counted in steps; once per epoch for one in epochs
//	}
//
// # Parameters and state
//
// Parameters are leaf tensors (float32 or float64), each with a name
// (Param, which is backprop.Param: nn.Parameters lists a model's, and nn
// and optim share the type without importing each other). Step reads their Grad, as Backward left it, and skips those
// without one. The names key the optimizer's State, a map of tensors such as
// "fc1.weight.exp_avg" that a checkpoint saves and LoadState restores; a
// restored run continues bit for bit like one that never stopped.
//
// # Parameter groups
//
// As PyTorch's param_groups, the Groups constructors (NewAdamWGroups, ...)
// give sets of parameters hyperparameters of their own: a weight decay, a
// learning rate as a multiple of the optimizer's (LRScale), betas, eps,
// alpha. DecayGroups makes the split of GPT training, weight decay on
// weights and embeddings only:
//
//	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-3, optim.Betas(0.9, 0.95))
//
// The State of a grouped optimizer also holds each group's size and
// hyperparameters ("param_groups.0.weight_decay", ...), and LoadState
// restores them, as torch's load_state_dict does.
//
// # In place, without allocation
//
// Step writes the new values straight into each parameter's storage
// (Tensor.F32 / F64), outside autograd: the parameter keeps its identity,
// and any view of it sees the update. It must not run while a graph that
// read the parameters is still to be differentiated. Its buffers (momentum,
// running averages) are allocated on a parameter's first update and reused
// after, so a training step allocates nothing here. The arithmetic runs in
// the parameter's dtype, with the hyperparameters rounded to it, as PyTorch
// does.
//
// An optimizer is not safe for concurrent use; one goroutine steps it.
package optim
