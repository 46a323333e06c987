package train

import (
	"fmt"
	"strings"

	"github.com/gobackprop/backprop/data"
)

// LoadData reads the training and test sets of the data set name ("mnist"
// or "cifar10") from dir; an empty dir means the data package's default
// place for it (the GoMNIST module or $MNIST_DIR, $CIFAR10_DIR).
func LoadData(name, dir string) (trainSet, testSet *data.TensorDataset, err error) {
	switch name {
	case "mnist":
		return data.LoadMNIST(dir)
	case "cifar10":
		return data.LoadCIFAR10(dir)
	}
	return nil, nil, fmt.Errorf("unknown data set %q (have %s)", name, strings.Join(DataNames(), ", "))
}

// LoadTestData reads only the test set of the data set name, from dir as
// LoadData does (evaluation needs nothing else).
func LoadTestData(name, dir string) (*data.TensorDataset, error) {
	switch name {
	case "mnist":
		return data.LoadMNISTTest(dir)
	case "cifar10":
		return data.LoadCIFAR10Test(dir)
	}
	return nil, fmt.Errorf("unknown data set %q (have %s)", name, strings.Join(DataNames(), ", "))
}
