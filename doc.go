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
// shapes, as gonum does. Code that reads the outside world (files,
// expressions, flags) lives in other packages and returns errors.
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
// forward passes over shared parameters at once. A backward pass writes the
// Grad of leaves and scratch fields of the nodes it walks: two backward
// passes must not run at once over graphs that share nodes or leaves.
//
// # Memory
//
// A Tensor is a view (shape, strides, offset) of storage that views share;
// ops return new tensors and never write into their inputs. A node keeps its
// inputs and saved tensors alive until Backward has used them; then, unless
// RetainGraph is set, it drops them so the activations can be collected, and
// a second Backward through it is an error. Leaf gradients are accumulated
// in place into a buffer the leaf owns, which ZeroGrad zeroes in place.
//
// # Dtypes
//
// Float32 is the default; Float64 is for gradient checking; Int64 holds
// indices. The dtype is a runtime property of a tensor; kernels are generic
// over float32 and float64.
package backprop
