// Package viz draws the graph that backprop records, in the style of the
// cs231n lecture's circuit diagrams: operations are nodes, tensors are the
// values on the wires between them, each wire showing its value flowing
// forward in green above it and the gradient flowing back in red below it.
//
//	x := backprop.Float64.Scalar(-2).SetRequiresGrad(true).SetName("x")
//	...
//	f := x.Add(y).RetainGrad().Mul(z).RetainGrad()
//	f.BackwardWith(nil, backprop.BackwardOptions{RetainGraph: true})
//	viz.SVG(w, []*backprop.Tensor{f}, viz.Options{})   // a picture, no Graphviz needed
//	viz.DOT(w, []*backprop.Tensor{f}, viz.Options{})   // for `dot -Tsvg`
//
// Leaves that require a gradient (weights, variables) are filled boxes,
// constants (data, literals) dashed boxes; a root's wire ends at its name.
// Every wire carries its tensor's name and shape, and, for tensors of at
// most Options.SmallNumel elements (4 by default), its values and gradient.
// The gradient comes from Grad (leaves after Backward, and intermediates
// marked with RetainGrad); on the branches of a value used several times,
// and on a constant's wire, it is the consumer's own vector-Jacobian
// product of its output's gradient, so each branch shows its share and the
// wire before the fork their sum, as in the lecture. Keep the graph
// (RetainGraph) to see it: Backward without it frees every node, and the
// picture then shows only what is left, the last operation marked as
// released.
//
// The walk over the graph is iterative and the picture has a node limit
// (Options.MaxNodes, 500 by default), keeping the part nearest the roots
// and saying how much it left out, so a graph of a million operations is
// fine to hand over. Output is deterministic: the same graph gives the same
// bytes.
//
// The SVG layout takes time and memory in proportion to the picture. A
// wire gets a point in every column it crosses, which a deep graph with a
// value read all along it (a sum of thousands of terms in one variable)
// would make quadratic; past about 100,000 such points the longest wires
// are drawn as one curve over the columns they span instead. A sum of 4000
// terms lays out in under a second of CPU and 75 MB. Past MaxSVGNodes
// (100,000) WriteSVG refuses, and says to write DOT instead.
//
// # Graphs from elsewhere
//
// Graph is the picture as plain data: nodes with a Kind, a label and
// optional value and gradient, and labelled edges. FromTensors builds it
// from the engine; a caller with numbers of its own (the grad command's
// expression steps, a web page) fills one in and calls WriteSVG or
// WriteDOT. Text is plain text; the writers escape it.
//
// # Why a layout of our own
//
// SVG output is laid out here, not by Graphviz. github.com/goccy/go-graphviz
// (Graphviz compiled to WebAssembly, run by wazero) does build without cgo,
// but measured on our 2-core machine it compiles its WebAssembly module in
// a package init: about 4 s of wall time (1.4 s of CPU) the first time,
// paid by every program that imports it, drawing or not, and it caches the
// result as 6 MB under $TMPDIR/go-graphviz. It also grows a program from
// 2.4 MB to 11.4 MB. The lecture's look is also not Graphviz's: Graphviz
// sets edge labels beside a wire, not value above and gradient below it.
// The layered layout in layout.go (longest-path ranks, barycenter ordering,
// least-squares straightening) is a few hundred lines, pure Go, fast, and
// deterministic. DOT output remains for those who have Graphviz.
//
// # Concurrency
//
// FromTensors only reads the graph, but a backward pass changes it
// (releasing nodes, storing gradients): do not run both on one graph at
// once. A Graph is plain data and may be rendered from several goroutines.
package viz
