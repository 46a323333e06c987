package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// CIFAR-10 normalization: the per-channel (red, green, blue) mean and
// standard deviation of the 50,000 training images with pixels scaled to
// [0, 1]. These are the exact statistics of the training set; the often
// copied std (0.2023, 0.1994, 0.2010) is a different quantity (the mean of
// per-image stds) and is not used here.
var (
	CIFAR10Mean = [3]float32{0.4914, 0.4822, 0.4465}
	CIFAR10Std  = [3]float32{0.2470, 0.2435, 0.2616}
)

// CIFAR10Classes names the ten labels in order.
var CIFAR10Classes = [10]string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide // per image, channel-major
	cifarRecord = 1 + cifarPixels           // label byte, then the pixels
)

// LoadCIFAR10 reads the CIFAR-10 binary version (cifar-10-binary.tar.gz
// from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked): the training
// set from data_batch_1.bin .. data_batch_5.bin and the test set from
// test_batch.bin, in dir or in its cifar-10-batches-bin subfolder. An empty
// dir means $CIFAR10_DIR.
//
// Examples have shape [3 32 32] (channels red, green, blue; then rows),
// pixels scaled to [0, 1] and then normalized per channel with CIFAR10Mean
// and CIFAR10Std. In float32 the training set takes about 600 MB.
func LoadCIFAR10(dir string) (train, test *TensorDataset, err error) {
	names := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	raw, lut, err := readCIFAR10(dir, names)
	if err != nil {
		return nil, nil, err
	}
	return cifarDataset(raw[:5], lut), cifarDataset(raw[5:], lut), nil
}

// LoadCIFAR10Test reads the CIFAR-10 test set alone (test_batch.bin), as
// LoadCIFAR10 does: for evaluation, which needs none of the 600 MB of the
// training set.
func LoadCIFAR10Test(dir string) (*TensorDataset, error) {
	raw, lut, err := readCIFAR10(dir, []string{"test_batch.bin"})
	if err != nil {
		return nil, err
	}
	return cifarDataset(raw, lut), nil
}

// readCIFAR10 reads the named batch files of the CIFAR-10 folder dir (see
// LoadCIFAR10) as raw records, and returns the table that normalizes their
// pixels.
func readCIFAR10(dir string, names []string) ([][]byte, *[3][256]float32, error) {
	if dir == "" {
		if dir = os.Getenv("CIFAR10_DIR"); dir == "" {
			return nil, nil, errors.New("data: no CIFAR-10 folder given and CIFAR10_DIR is not set; download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it")
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "cifar-10-batches-bin")); err == nil && st.IsDir() {
		dir = filepath.Join(dir, "cifar-10-batches-bin")
	}
	raw := make([][]byte, len(names))
	errs := make([]error, len(names))
	// The files are read two at a time (the machine this was written on had
	// two cores), as bytes; they are converted once all have been checked,
	// straight into the final arrays.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = withFile(filepath.Join(dir, name), func(f io.Reader) (err error) {
				raw[i], err = readCIFARRecords(f)
				return err
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil { // the first: usually all files share one problem
			return nil, nil, err
		}
	}
	var lut [3][256]float32
	for c := range lut {
		m, s := CIFAR10Mean[c], CIFAR10Std[c]
		for p, v := range byteScale() {
			lut[c][p] = (v - m) / s
		}
	}
	return raw, &lut, nil
}

// ReadCIFAR10 reads one CIFAR-10 binary batch file (gzipped or not): records
// of one label byte and 3072 pixel bytes (1024 red, then green, then blue,
// each row by row). Pixels are scaled to [0, 1] and not normalized; see
// LoadCIFAR10.
func ReadCIFAR10(r io.Reader) (*TensorDataset, error) {
	b, err := readCIFARRecords(r)
	if err != nil {
		return nil, err
	}
	scale := byteScale()
	return cifarDataset([][]byte{b}, &[3][256]float32{*scale, *scale, *scale}), nil
}

// readCIFARRecords reads a whole batch file and checks its records.
func readCIFARRecords(r io.Reader) ([]byte, error) {
	s, err := newSource(r)
	if err != nil {
		return nil, err
	}
	b, err := s.readAll()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("empty CIFAR-10 batch")
	}
	if len(b)%cifarRecord != 0 {
		return nil, fmt.Errorf("truncated: %d bytes are not a whole number of %d-byte CIFAR-10 records (the last has %d bytes)",
			len(b), cifarRecord, len(b)%cifarRecord)
	}
	for i := 0; i < len(b); i += cifarRecord {
		if b[i] > 9 {
			return nil, fmt.Errorf("label %d of record %d is outside 0..9", b[i], i/cifarRecord)
		}
	}
	return b, nil
}

// cifarDataset converts checked records, each channel's bytes through its
// table.
func cifarDataset(files [][]byte, lut *[3][256]float32) *TensorDataset {
	n := 0
	for _, b := range files {
		n += len(b) / cifarRecord
	}
	x := make([]float32, n*cifarPixels)
	y := make([]int64, n)
	plane := cifarSide * cifarSide
	i := 0
	for _, b := range files {
		for ; len(b) > 0; b = b[cifarRecord:] {
			y[i] = int64(b[0])
			for c := range 3 {
				dst := x[i*cifarPixels+c*plane : i*cifarPixels+(c+1)*plane]
				t := &lut[c]
				for j, p := range b[1+c*plane : 1+(c+1)*plane] {
					dst[j] = t[p]
				}
			}
			i++
		}
	}
	return &TensorDataset{x: x, y: y, shape: []int{3, cifarSide, cifarSide}, per: cifarPixels, classes: 10}
}
