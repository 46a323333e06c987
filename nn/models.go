package nn

import (
	"fmt"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// The models of the train command. Each is a Sequential, so its state dict
// has the names torch's nn.Sequential gives the same layout, and each is
// built from an explicit generator with torch's default initialization.

// ModelNames lists the names NewModel accepts.
func ModelNames() []string { return []string{"softmax", "svm", "mlp", "cnn"} }

// NewModel builds the model called name for examples of shape inShape
// ([C, H, W], such as [1, 28, 28] for MNIST or [3, 32, 32] for CIFAR-10)
// and the given number of classes:
//
//	softmax  a linear classifier on the flattened input, trained with CrossEntropy
//	svm      the same linear classifier, trained with SVMLoss
//	mlp      Flatten, Linear 512, ReLU, Linear 512, ReLU, Linear classes
//	cnn      Conv 32 3x3 pad 1, ReLU, MaxPool 2, Conv 64 3x3 pad 1, ReLU,
//	         MaxPool 2, Flatten, Linear 128, ReLU, Linear classes
//
// It returns an error for an unknown name or a shape the model cannot take.
func NewModel(name string, inShape []int, classes int, rng *bp.RNG) (Module, error) {
	if classes < 1 {
		return nil, fmt.Errorf("nn: NewModel: %d classes", classes)
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewModel: nil random generator")
	}
	in := 1
	for _, s := range inShape {
		if s <= 0 {
			return nil, fmt.Errorf("nn: NewModel: bad input shape %v", inShape)
		}
		in *= s
	}
	if len(inShape) == 0 {
		return nil, fmt.Errorf("nn: NewModel: empty input shape")
	}
	switch name {
	case "softmax", "svm":
		return NewLinearClassifier(in, classes, rng), nil
	case "mlp":
		return NewMLP(in, []int{512, 512}, classes, rng), nil
	case "cnn":
		if len(inShape) != 3 || inShape[1] < 4 || inShape[2] < 4 {
			return nil, fmt.Errorf("nn: NewModel: the cnn needs images [C, H, W] of at least 4x4, got shape %v", inShape)
		}
		return NewCNN(inShape[0], inShape[1], inShape[2], classes, rng), nil
	}
	return nil, fmt.Errorf("nn: NewModel: unknown model %q (have %s)", name, strings.Join(ModelNames(), ", "))
}

// LossFunc is a classification loss of logits [N, C] and Int64 labels [N].
type LossFunc func(logits, labels *bp.Tensor) *bp.Tensor

// LossFor returns the loss a model of NewModel trains with: SVMLoss for
// "svm", CrossEntropy for the others.
func LossFor(name string) (LossFunc, error) {
	switch name {
	case "svm":
		return SVMLoss, nil
	case "softmax", "mlp", "cnn":
		return CrossEntropy, nil
	}
	return nil, fmt.Errorf("nn: LossFor: unknown model %q (have %s)", name, strings.Join(ModelNames(), ", "))
}

// NewLinearClassifier is Flatten then Linear(in, classes): the softmax and
// SVM classifiers of cs231n. Its state dict keys are "1.weight", "1.bias".
func NewLinearClassifier(in, classes int, rng *bp.RNG) *Sequential {
	return NewSequential(NewFlatten(), NewLinear(in, classes, rng))
}

// NewMLP is Flatten, then Linear and ReLU for each hidden width, then a
// Linear to classes.
func NewMLP(in int, hidden []int, classes int, rng *bp.RNG) *Sequential {
	s := NewSequential(NewFlatten())
	for _, h := range hidden {
		s.Append(NewLinear(in, h, rng))
		s.Append(NewReLU())
		in = h
	}
	return s.Append(NewLinear(in, classes, rng))
}

// NewCNN is the small convolutional network of the train command for
// images [c, h, w]: two blocks of 3x3 convolution (32 then 64 channels,
// padding 1), ReLU and 2x2 max pooling, then Linear 128, ReLU and Linear
// to classes. The first Linear has 64·(h/4)·(w/4) inputs.
func NewCNN(c, h, w, classes int, rng *bp.RNG) *Sequential {
	pad := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	return NewSequential(
		NewConv2d(c, 32, 3, pad, rng), NewReLU(), NewMaxPool2d(2),
		NewConv2d(32, 64, 3, pad, rng), NewReLU(), NewMaxPool2d(2),
		NewFlatten(),
		NewLinear(64*(h/4)*(w/4), 128, rng), NewReLU(),
		NewLinear(128, classes, rng),
	)
}
