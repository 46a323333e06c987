// Command mnist trains a small network on MNIST with a training loop of its
// own, the way one writes it in PyTorch: a model type, an optimizer, a
// loader, and a loop of forward, loss, backward and step. It is the code
// the `backprop train` command runs, minus the checkpoints and progress
// bars, written out for reading and copying.
//
//	go run ./examples/mnist -epochs 3 -out net.safetensors
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Net is 784-256-10 with ReLU and dropout. A model is a struct that embeds
// nn.Base, registers its layers by name, and has a Forward method.
type Net struct {
	nn.Base
	FC1, FC2 *nn.Linear
	Drop     *nn.Dropout
}

// NewNet builds a Net with PyTorch's default initialization, drawing the
// weights and the dropout masks from rng.
func NewNet(rng *bp.RNG) *Net {
	n := &Net{
		FC1:  nn.NewLinear(28*28, 256, rng),
		FC2:  nn.NewLinear(256, 10, rng),
		Drop: nn.NewDropout(0.2, rng),
	}
	n.AddChild("fc1", n.FC1)
	n.AddChild("drop", n.Drop)
	n.AddChild("fc2", n.FC2)
	return n
}

// Forward maps images [N, 1, 28, 28] to logits [N, 10].
func (n *Net) Forward(x *bp.Tensor) *bp.Tensor {
	h := n.FC1.Forward(x.Flatten(1, -1)).ReLU()
	return n.FC2.Forward(n.Drop.Forward(h))
}

// options are the example's command-line settings.
type options struct {
	epochs, batch int
	lr            float64
	trainN, testN int    // use only the first examples (0: all)
	out           string // save the weights here ("" to skip)
}

// run trains the network and returns its final test accuracy.
func run(w io.Writer, o options) (float64, error) {
	trainSet, testSet, err := data.LoadMNIST("") // from the GoMNIST module, or $MNIST_DIR
	if err != nil {
		return 0, err
	}
	if o.trainN > 0 {
		trainSet = trainSet.Slice(0, o.trainN)
	}
	if o.testN > 0 {
		testSet = testSet.Slice(0, o.testN)
	}
	// The usual MNIST normalization. Slices share storage with the full
	// sets, which this program does not use otherwise.
	for _, ds := range []*data.TensorDataset{trainSet, testSet} {
		ds.Normalize([]float32{data.MNISTMean}, []float32{data.MNISTStd})
	}

	rng := bp.NewRNG(1)
	model := NewNet(rng)
	opt := optim.NewAdam(nn.Parameters(model), o.lr)
	loader := &data.Loader{Dataset: trainSet, BatchSize: o.batch, Shuffle: true, Seed: 1}

	var acc float64
	for epoch := range o.epochs {
		nn.Train(model) // dropout on
		var sum float64
		var seen int
		for b := range loader.Epoch(epoch) {
			loss := nn.CrossEntropy(model.Forward(b.X), b.Y)
			loss.Backward() // gradients into each parameter's Grad
			opt.Step()      // update the weights
			opt.ZeroGrad()  // and clear the gradients for the next batch
			sum += loss.Item() * float64(b.Size())
			seen += b.Size()
		}
		acc = evaluate(model, testSet)
		fmt.Fprintf(w, "epoch %d: train loss %.4f, test accuracy %.2f%%\n", epoch+1, sum/float64(seen), 100*acc)
	}

	if o.out != "" {
		if err := checkpoint.Save(o.out, nn.StateDict(model), nil); err != nil {
			return 0, err
		}
		fmt.Fprintln(w, "saved the weights to", o.out)
	}
	return acc, nil
}

// evaluate returns the model's accuracy on ds. The inputs are marked
// NoGrad, so no graph is recorded, and the model is in evaluation mode, so
// dropout is off.
func evaluate(model nn.Module, ds *data.TensorDataset) float64 {
	nn.Eval(model)
	loader := &data.Loader{Dataset: ds, BatchSize: 1000}
	correct := 0
	for b := range loader.Epoch(0) {
		correct += nn.Correct(model.Forward(b.X.NoGrad()), b.Y)
	}
	return float64(correct) / float64(ds.Len())
}

func main() {
	var o options
	flag.IntVar(&o.epochs, "epochs", 3, "epochs to train")
	flag.IntVar(&o.batch, "batch", 64, "batch size")
	flag.Float64Var(&o.lr, "lr", 1e-3, "Adam's learning rate")
	flag.IntVar(&o.trainN, "train-size", 0, "train on the first N examples only (0: all)")
	flag.IntVar(&o.testN, "test-size", 0, "test on the first N examples only (0: all)")
	flag.StringVar(&o.out, "out", "", "save the trained weights to this safetensors file")
	flag.Parse()
	if _, err := run(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "mnist:", err)
		os.Exit(1)
	}
}
