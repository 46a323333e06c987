package backprop

// The table of derivatives.
//
// Every op's local gradient is written once, as a differentiable
// BackwardFunc beside the op's forward (elementwise.go, matmul.go, ...): the
// rule. An op whose rule has faster twins registers them here with it, and
// the engine picks one when it may:
//
//   - fused: the rule's products on plain kernels, read straight from the
//     input values, for a backward pass that builds no graph (no detached
//     copies, nothing recorded). The engine calls it instead of the rule
//     when CreateGraph is off.
//   - scalar32, scalar64: the rule on plain numbers, for one-element nodes
//     when no graph is built (the scalar lane, scalarlane.go).
//
// A twin does the rule's arithmetic in the rule's order, so the path that
// carried a gradient does not change it; derivatives_test.go derives every
// twin's result from its rule on random inputs and requires them to agree
// bit for bit.

// ruleID is an op's entry in the table; ruleNone marks a node without one.
type ruleID uint8

const (
	ruleNone ruleID = iota
	ruleAdd
	ruleSub
	ruleMul
	ruleDiv
	ruleNeg
	ruleExp
	ruleLog
	ruleSqrt
	ruleSquare
	ruleTanh
	ruleSigmoid
	ruleReLU
	ruleSin
	ruleCos
	ruleMatMul
	ruleLinear
	ruleCount
)

// derivative is one op's entry: its name, its rule and the rule's twins.
type derivative struct {
	op       string
	rule     BackwardFunc
	fused    BackwardFunc
	scalar32 scalarGrad[float32]
	scalar64 scalarGrad[float64]
	reads    uint8 // what the scalar forms read: readX0 | readX1 | readY
}

// scalarGrad is a rule on numbers: the gradients of an op's (at most two)
// inputs for upstream gradient g, given the inputs' values x0, x1 and the
// output's value y. It returns 0 for an input the op does not have.
type scalarGrad[T float32 | float64] func(g, x0, x1, y T) (g0, g1 T)

// Which values a scalar form reads: the lane loads nothing else, since on
// a large scalar graph every tensor it reads is a likely cache miss.
const (
	readX0 = 1 << iota
	readX1
	readY
)

// derivatives is the table, filled by define calls beside the rules.
var derivatives [ruleCount]derivative

// define enters op's derivative in the table under r.
func define(r ruleID, d derivative) {
	if derivatives[r].rule != nil || d.rule == nil || (d.scalar32 == nil) != (d.scalar64 == nil) {
		panic("backprop: define " + d.op + ": entry taken, or rule or a scalar form missing")
	}
	derivatives[r] = d
}

// recordRule records out as the result of r's op on inputs, with r's rule
// as its backward, and notes r on the node so that the engine can pick the
// rule's twins.
func recordRule(r ruleID, out *Tensor, inputs ...*Tensor) *Tensor {
	d := &derivatives[r]
	recordSaved(d.op, out, inputs, nil, d.rule)
	if n := out.node; n != nil {
		n.rule = r
		if d.scalar64 != nil {
			n.lane = fitsLane(n)
			n.laneF32 = out.dtype == Float32
		}
	}
	return out
}

// backwardOf is what runs n's backward in a walk: its rule, or the rule's
// fused twin when no graph is to be built and the table has one.
func backwardOf(n *Node, create bool) BackwardFunc {
	if !create && n.rule != ruleNone {
		if f := derivatives[n.rule].fused; f != nil {
			return f
		}
	}
	return n.backward
}
