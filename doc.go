// Package backprop is reverse-mode automatic differentiation on n-d tensors:
// the engine that the cs231n backpropagation lecture describes, as a Go
// library.
//
// Write a computation with Tensor methods; every op on a tensor that
// requires a gradient records a Node holding the op and what its backward
// needs. Backward walks that graph from the loss back to the leaves,
// multiplying each node's local gradient by the upstream gradient and
// summing where a value fed several ops.
//
//	x := backprop.Float64.Scalar(-2).SetRequiresGrad(true)
//	y := backprop.Float64.Scalar(5).SetRequiresGrad(true)
//	z := backprop.Float64.Scalar(-4).SetRequiresGrad(true)
//	f := x.Add(y).Mul(z) // -12
//	f.Backward()
//	x.Grad().Item()      // -4
//
// # Errors
//
// Programmer errors in the tensor API (shapes that do not broadcast, an axis
// out of range, a dtype mismatch) panic with a message naming the op and the
// shapes, as gonum does. So do the constructors given a size that is
// negative, whose element count overflows an int, or that needs more bytes
// than the machine or its cgroup has (Zeros(1<<62, 4), Arange(0, 1e18, 1);
// the last with an *AllocError, which a program taking sizes from its
// users can recover and report as theirs; see AllocLimit), an Arange
// bound that is NaN or infinite, and every op given a nil *Tensor (as
// receiver or argument); a Function or Record whose backward returns more
// or fewer gradients than the op has inputs is refused when it runs. Code
// that reads the outside world (files, expressions, flags) lives in other
// packages and returns errors.
//
// # Anomaly mode
//
// NaN spreads silently: Log(0)*0 is NaN, and so is everything computed from
// it. SetDetectAnomaly(true) makes the first recorded op whose output holds
// a NaN, or an infinity that it made from finite inputs, or the first
// backward function that returns a gradient holding either, stop the
// computation. Following the rule above, that is a panic,
// whose value is an *AnomalyError (an error): it names the op, its input
// shapes, the output or the input whose gradient is concerned, and the line
// of the user's code that recorded the op — the innermost caller outside
// this package, nn and internal packages (a _test.go file counts as the
// user's), with the nn layer it went through. A program recovers it where
// it wants an error; the train package does, and `backprop train
// --detect-anomaly` prints it as one line. Capturing callers costs about a
// microsecond per op, so it happens only in this mode; off, the check is one
// atomic load per recorded op and per backward pass.
//
// # Gradient mode and concurrency
//
// There is no global or goroutine-local "grad mode". An op records a node
// only when one of its inputs requires a gradient, and never when one of its
// inputs is marked NoGrad; so:
//   - inference on tensors that require no gradient records nothing;
//   - x.NoGrad() is no-grad mode: a view of x whose mark passes to every
//     result computed from it, so model.Forward(x.NoGrad()) records nothing
//     even though the model's parameters require gradients. The mode travels
//     with the data (a per-graph flag), which makes it safe for several
//     goroutines to run inference on one model at once;
//   - Detach gives a view of a tensor's data, shared not copied, cut off from
//     the graph;
//   - during Backward the engine hands each backward function detached
//     tensors unless CreateGraph is set, which is how the backward pass
//     avoids recording and how, with CreateGraph, it records instead.
//
// Forward ops never modify their inputs and recording never modifies a
// tensor other than the new result, so any number of goroutines may run
// forward passes over shared parameters at once. Backward passes may run at
// once on several goroutines over graphs that share leaves (parameters, say):
// each adds its gradients into a leaf's Grad under a lock of that leaf's, so
// every contribution counts, as in PyTorch (the order of the additions, and
// so the last bits of a float sum, depends on timing). They must not share
// recorded results (nodes), whose scratch fields a walk writes, and nothing
// may call Grad, ZeroGrad or SetGrad on a leaf while a backward pass that
// reaches it runs. After a panic inside Backward (an anomaly, a hook's bad
// gradient), ZeroGrad the leaves before the next pass.
//
// # Memory
//
// A Tensor is a view (shape, strides, offset) of storage that views share;
// ops return new tensors and never write into their inputs. A node keeps its
// inputs and saved tensors alive until Backward has used them; then, unless
// RetainGraph is set, it drops them so the activations can be collected, and
// a second Backward through it is an error.
//
// Who owns a buffer:
//   - a tensor made by a constructor (Zeros, FromFloat32s, an RNG) owns its
//     storage, on the Go heap; so do parameters;
//   - a leaf's gradient is a buffer the leaf owns, on the heap, never in a
//     Pool. Backward adds into it in place; ZeroGrad keeps it and defers the
//     zeroing, so the next Backward writes into it instead of adding to zeros
//     (Grad reads zeros if it is asked for first). A training step therefore
//     allocates no gradient buffers after the first one;
//   - an op's result is allocated by the op: on the heap, or in a Pool when
//     one of its inputs is marked with one.
//
// A Pool is how a training step avoids allocating its activations and
// gradients again every step. x.InPool(p) marks a view of the input batch;
// every op with a marked input takes its result's storage from p and marks
// the result, so the whole forward pass, the loss and the gradients Backward
// computes from them live in p (parameters are not marked, and the Grad
// buffers that Backward accumulates into stay on the heap). p.Reset() at the
// end of the step makes all of it reusable: the next step, having the same
// shapes, takes the same buffers back from p's free lists, zeroed where an
// op needs zeros, and allocates no storage at all.
//
//	p := backprop.NewPool()
//	for step := range steps {
//		loss := backprop.CrossEntropyFromLogits(model(x.InPool(p)), y)
//		loss.Backward()
//		update(params)   // reads the Grad buffers, which are not in p
//		l := loss.Item() // copy out what outlives the step
//		p.Reset()        // everything computed in p is dead from here on
//	}
//
// After Reset, a tensor computed in the pool must not be used: its storage
// is handed to the next op that asks. Using one anyway panics (ops check
// their inputs, and so do Item, At, F32 and the other accessors), and in
// debug mode (Pool.SetDebug, or BACKPROP_POOL_DEBUG=1 when the pool is made)
// Reset also poisons the freed buffers with NaN and never reuses them, so
// that a raw slice kept past Reset shows NaN instead of another step's
// numbers. A pool is for one computation at a time: give each goroutine its
// own (pools are independent, and safe to use side by side).
//
// # Scalar graphs
//
// Graphs of one-element tensors (the lecture's circuits, micrograd-style
// models) are all overhead and no arithmetic. For the common elementwise
// ops Backward carries their gradients as plain numbers (the scalar lane),
// computed by each op's rule on numbers, written beside the rule and
// checked against it bit for bit; so the gradients are the ones the tensor
// path gives, and stepping through the example above in a debugger lands
// in the rules of Add and Mul in elementwise.go.
//
// # Dtypes
//
// Float32 is the default; Float64 is for gradient checking; Int64 holds
// indices. The dtype is a runtime property of a tensor; kernels are generic
// over float32 and float64.
//
// # Where things are
//
// The engine's core is engine.go: Node, recording an op, and the backward
// walk, a short loop that reads as the lecture does (take the upstream
// gradient, call the node's backward, send each input its gradient, sum at
// forks). Around it, each in a file of its own: the public autograd calls
// (autograd.go), what a backward function sees (context.go), summing
// gradients at forks and into leaves' Grad (accumulate.go), the walk's
// reusable scratch and topological order (scratch.go), and the scalar lane
// (scalarlane.go).
//
// Each op's forward and its derivative, the rule, sit side by side, one
// file per family: elementwise.go, gelu.go, matmul.go, linear.go, conv.go,
// pooling.go, reduce.go, softmax.go, crossentropy.go, crossentropy_nd.go,
// attention.go, mask.go, shape.go, topk.go, sample.go. The ops
// whose rules have faster twins (a fused kernel for backward passes that
// build no graph, a form on plain numbers for the scalar lane) register
// them with the rule in the table of derivatives (derivatives.go); the
// engine picks the twin, and a test holds every twin to its rule.
//
// Underneath: alloc.go makes every tensor (one entry point, alloc, with
// named options); arena.go is the Pool arena; iter.go is the one
// strided-iteration engine of elementwise ops; reduceplan.go plans and
// walks reductions; internal/kernels holds the raw loops.
package backprop
