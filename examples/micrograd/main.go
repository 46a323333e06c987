// Command micrograd is a scalar autodiff engine of about a hundred lines,
// in the shape of the cs231n backpropagation lecture and of Karpathy's
// micrograd: a Value with its data and gradient, six ops that each know
// their local derivative, a topological sort and a backward loop
// (engine.go). It is the reference the real engine is held to: its test
// builds random expressions in both and requires the same gradients.
//
// This program runs the lecture's two examples in both engines and prints
// the gradients side by side.
package main

import (
	"fmt"
	"io"
	"os"

	bp "github.com/gobackprop/backprop"
)

// circuit is the lecture's first example: f = (x + y)·z.
func circuit() (xs []*Value, grads []float64) {
	x, y, z := V(-2), V(5), V(-4)
	f := x.Add(y).Mul(z)
	f.Backward()

	tx, ty, tz := leaf(-2), leaf(5), leaf(-4)
	tx.Add(ty).Mul(tz).Backward()
	return []*Value{x, y, z}, grads64(tx, ty, tz)
}

// neuron is the lecture's second: a sigmoid neuron
// f = 1 / (1 + e^-(w0·x0 + w1·x1 + w2)), the sigmoid written out in ops.
func neuron() (xs []*Value, grads []float64) {
	w0, x0, w1, x1, w2 := V(2), V(-1), V(-3), V(-2), V(-3)
	dot := w0.Mul(x0).Add(w1.Mul(x1)).Add(w2)
	f := V(1).Add(dot.Neg().Exp()).Pow(-1)
	f.Backward()

	tw0, tx0, tw1, tx1, tw2 := leaf(2), leaf(-1), leaf(-3), leaf(-2), leaf(-3)
	tdot := tw0.Mul(tx0).Add(tw1.Mul(tx1)).Add(tw2)
	one, minus := bp.Float64.Scalar(1), bp.Float64.Scalar(-1)
	one.Add(tdot.Mul(minus).Exp()).PowScalar(-1).Backward()
	return []*Value{w0, x0, w1, x1, w2}, grads64(tw0, tx0, tw1, tx1, tw2)
}

func leaf(v float64) *bp.Tensor { return bp.Float64.Scalar(v).SetRequiresGrad(true) }

func grads64(ts ...*bp.Tensor) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = t.Grad().Item()
	}
	return out
}

func show(w io.Writer, title string, names []string, vs []*Value, engine []float64) {
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "  %-4s %8s %20s %20s\n", "", "value", "micrograd grad", "backprop grad")
	for i, v := range vs {
		fmt.Fprintf(w, "  %-4s %8g %20.17g %20.17g\n", names[i], v.Data, v.Grad, engine[i])
	}
}

func run(w io.Writer) {
	xs, g := circuit()
	show(w, "f = (x + y)·z", []string{"x", "y", "z"}, xs, g)
	fmt.Fprintln(w)
	xs, g = neuron()
	show(w, "f = sigmoid(w0·x0 + w1·x1 + w2)", []string{"w0", "x0", "w1", "x1", "w2"}, xs, g)
}

func main() { run(os.Stdout) }
