// Package kernels holds the raw loops of backprop: elementwise maps,
// reductions and matrix multiplication over plain slices, sizes and strides.
// Kernels know nothing of tensors' meaning or of autograd, so each can be
// benchmarked and replaced on its own. They are generic over float32 and
// float64.
package kernels
